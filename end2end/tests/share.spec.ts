import { Page } from "@playwright/test";
import { readFileSync } from "node:fs";
import { test, expect, hydrated, signUp } from "./fixtures";

const JSQR = require.resolve("jsqr/dist/jsQR.js");

async function signUpWithLink(page: Page, email: string, name: string): Promise<string> {
  await signUp(page, email);
  await page.goto("/dashboard/links/new");
  await hydrated(page);
  await page.locator("#link-name").fill(name);
  await page.locator("#link-amount").fill("1200");
  await page.locator("form button[type=submit]").last().click();
  await expect(page).toHaveURL(/\/dashboard\/links\/\d+$/);
  await expect(page.getByTestId("qr")).toHaveAttribute("data-ready", "true");
  return await page.getByTestId("share-url").inputValue();
}

/** Decodes a QR image (PNG or SVG, as a data URL) in the page with jsQR. */
async function decode(page: Page, dataUrl: string): Promise<string | null> {
  // Evaluated by the test driver: the page's CSP (rightly) refuses injected inline scripts.
  await page.evaluate(`${readFileSync(JSQR, "utf8")}\n;void 0`);
  return await page.evaluate(async (src) => {
    const img = new Image();
    img.src = src;
    await img.decode();
    const canvas = document.createElement("canvas");
    canvas.width = img.naturalWidth || 1024;
    canvas.height = img.naturalHeight || 1024;
    const ctx = canvas.getContext("2d")!;
    ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
    const pixels = ctx.getImageData(0, 0, canvas.width, canvas.height);
    // @ts-ignore: jsQR is the global the script tag defines.
    const found = jsQR(pixels.data, pixels.width, pixels.height);
    return found ? found.data : null;
  }, dataUrl);
}

test("the QR code downloads as PNG and SVG that decode to exactly the link URL", async ({ page }) => {
  test.setTimeout(60_000);
  const url = await signUpWithLink(page, `qr-${Date.now()}@example.com`, "Matcha Latte (L)");
  expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/pay\/[A-Za-z0-9_-]{22}$/);
  // A test-mode link's QR says so, on screen and in the files.
  await expect(page.getByTestId("qr").locator("svg text")).toHaveText("TEST");

  const [png] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download PNG" }).click()]);
  expect(png.suggestedFilename()).toBe("matcha-latte-l-test-qr.png");
  const pngBytes = readFileSync((await png.path())!);
  expect(pngBytes.subarray(1, 4).toString()).toBe("PNG");
  expect(pngBytes.readUInt32BE(16), "at least 1024 px wide").toBeGreaterThanOrEqual(1024);
  expect(await decode(page, `data:image/png;base64,${pngBytes.toString("base64")}`)).toBe(url);

  const [svg] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download SVG" }).click()]);
  expect(svg.suggestedFilename()).toBe("matcha-latte-l-test-qr.svg");
  const svgText = readFileSync((await svg.path())!, "utf8");
  expect(svgText).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  expect(await decode(page, `data:image/svg+xml;base64,${Buffer.from(svgText).toString("base64")}`)).toBe(url);
});

test("Copy link and Copy image use the clipboard", async ({ page, context, baseURL }) => {
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: baseURL });
  const url = await signUpWithLink(page, `copy-${Date.now()}@example.com`, "Hojicha");
  await page.getByRole("button", { name: "Copy link" }).click();
  await expect(page.getByTestId("share-status")).toHaveText("Link copied to the clipboard.");
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(url);

  await page.getByRole("button", { name: "Copy image" }).click();
  await expect(page.getByTestId("share-status")).toHaveText("QR code copied to the clipboard.");
  const copied = await page.evaluate(async () => {
    const items = await navigator.clipboard.read();
    const blob = await items[0].getType("image/png");
    const bytes = new Uint8Array(await blob.arrayBuffer());
    let binary = "";
    bytes.forEach((b) => (binary += String.fromCharCode(b)));
    return btoa(binary);
  });
  expect(await decode(page, `data:image/png;base64,${copied}`)).toBe(url);
});
