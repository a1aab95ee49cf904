import { Page } from "@playwright/test";
import { readFileSync } from "node:fs";
import { test, expect, customerFillsCard, hydrated, signUp } from "./fixtures";

/** A customer pays `url` by card in a page of their own (no merchant session). */
async function customerPays(page: Page, url: string, email: string) {
  const customer = await customerFillsCard(page, url, "4111 1111 1111 1111", email);
  await customer.getByRole("button", { name: "Pay ¥1,000" }).click();
  await expect(customer.getByRole("heading", { level: 1 })).toHaveText("Payment complete");
  const id = (await customer.locator(".receipt code").textContent())!.trim();
  await customer.close();
  return id;
}

async function summary(page: Page, linkPath: string) {
  await page.goto(linkPath);
  await hydrated(page);
  const text = async (id: string) => (await page.getByTestId(id).textContent())!.trim();
  return [await text("captured-amount"), await text("captured-payments"), await text("pending-payments"), await text("refunded-payments")];
}

async function refund(page: Page, paymentId: string, amount: string) {
  await page.goto(`/dashboard/transactions/${paymentId}`);
  await hydrated(page);
  await page.locator("details.refund summary").click();
  await page.locator(`#refund-amount-detail-${paymentId}`).fill(amount);
  await page.locator(`#refund-reason-detail-${paymentId}`).fill("customer asked");
  await page.getByRole("button", { name: "Confirm refund" }).click();
}

test("payments appear in Transactions, refunds move the summary, CSV exports the filter", async ({ page }) => {
  test.setTimeout(90_000);
  await signUp(page, `tx-${Date.now()}@example.com`);
  await page.goto("/dashboard/links/new");
  await hydrated(page);
  await page.locator("#link-name").fill("Kabusecha");
  await page.locator("#link-amount").fill("1000");
  await page.locator("form button[type=submit]").last().click();
  await expect(page).toHaveURL(/\/dashboard\/links\/\d+$/);
  const linkPath = new URL(page.url()).pathname;
  const url = await page.getByTestId("share-url").inputValue();

  const first = await customerPays(page, url, "hana@example.jp");
  const second = await customerPays(page, url, "ken@example.jp");
  expect(await summary(page, linkPath)).toEqual(["¥2,000", "2", "0", "0"]);

  // Both in Transactions, newest first, reachable from the summary.
  await page.getByRole("link", { name: "See all transactions of this link" }).click();
  await expect(page).toHaveURL(/\/dashboard\/transactions\?link=\d+$/);
  const rows = page.locator("table.transactions tbody tr");
  await expect(rows).toHaveCount(2);
  await expect(rows.nth(0)).toHaveAttribute("data-payment", second);
  await expect(rows.nth(1)).toHaveAttribute("data-payment", first);
  await expect(rows.nth(0)).toContainText("ken@example.jp");
  await expect(rows.nth(0)).toContainText("Visa •••• 1111");
  await expect(rows.nth(0).locator(".badge")).toHaveText("Captured");

  // A partial refund lowers the captured amount, not the captured count.
  await refund(page, first, "300");
  await expect(page.getByTestId("payment-status")).toHaveText("Partially refunded");
  await expect(page.getByTestId("timeline")).toContainText("customer asked");
  expect(await summary(page, linkPath)).toEqual(["¥1,700", "2", "0", "0"]);

  // A full refund moves one payment from captured to refunded.
  await refund(page, second, "");
  await expect(page.getByTestId("payment-status")).toHaveText("Refunded");
  expect(await summary(page, linkPath)).toEqual(["¥700", "1", "0", "1"]);

  // Filter by status, then export exactly those rows.
  await page.goto("/dashboard/transactions");
  await hydrated(page);
  await page.locator("#tx-status").selectOption("refunded");
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(page).toHaveURL(/status=refunded/);
  await expect(rows).toHaveCount(1);
  await expect(rows.nth(0)).toHaveAttribute("data-payment", second);
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Export CSV" }).click()]);
  expect(download.suggestedFilename()).toMatch(/^paylinks-test-transactions-\d{4}-\d{2}-\d{2}\.csv$/);
  const csv = readFileSync((await download.path())!, "utf8");
  const lines = csv.replace(/^\uFEFF/, "").trim().split("\r\n");
  expect(lines).toHaveLength(2);
  expect(lines[1]).toContain(second);
  expect(lines[1]).toContain(",refunded,JPY,1000,1000,");
  expect(csv).not.toContain(first);
});
