import { createServer, IncomingMessage } from "node:http";
import { AddressInfo } from "node:net";
import { createHmac } from "node:crypto";
import { test, expect, hydrated, signUp } from "./fixtures";

type Delivery = { headers: IncomingMessage["headers"]; body: string };

// A merchant's endpoint on this machine, recording what it receives.
async function receiver() {
  const got: Delivery[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      got.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/paylinks`;
  return { got, url, close: () => server.close() };
}

function signatureOf(secret: string, d: Delivery) {
  const key = Buffer.from(secret.slice("whsec_".length), "base64");
  const signed = `${d.headers["webhook-id"]}.${d.headers["webhook-timestamp"]}.${d.body}`;
  return "v1," + createHmac("sha256", key).update(signed).digest("base64");
}

// Settings › Webhooks: add an endpoint, send it a test event, read the
// delivery log, rotate the secret (both signatures during the overlap), remove it.
test("a webhook endpoint gets signed test events and shows its delivery log", async ({ page }) => {
  test.setTimeout(60_000);
  const hooks = await receiver();
  try {
    await signUp(page, `webhooks-${Date.now()}@example.com`);
    await page.goto("/dashboard/settings/webhooks");
    await hydrated(page);
    const section = page.getByTestId("webhooks");
    await expect(section.getByText("No webhook endpoints in this mode yet.")).toBeVisible();

    await section.locator("#webhook-url").fill(hooks.url);
    await expect(section.getByRole("checkbox", { name: "payment.captured" })).toBeChecked();
    await section.getByRole("checkbox", { name: "payment_link.deactivated" }).check();
    await section.getByRole("button", { name: "Add endpoint" }).click();
    const secret = (await section.getByTestId("new-webhook-secret").textContent())!.trim();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const endpoint = section.getByTestId("webhook-endpoints").locator("li").first();
    await expect(endpoint).toContainText(hooks.url);
    await expect(endpoint).toContainText("payment_link.deactivated");

    await endpoint.getByRole("button", { name: "Send test event" }).click();
    await expect.poll(() => hooks.got.length).toBe(1);
    const ping = hooks.got[0];
    expect(JSON.parse(ping.body)).toMatchObject({ type: "ping", id: ping.headers["webhook-id"] });
    expect(ping.headers["webhook-signature"]).toBe(signatureOf(secret, ping));

    await endpoint.getByRole("button", { name: "Delivery log" }).click();
    const log = endpoint.getByTestId("webhook-deliveries");
    await expect(log).toContainText("ping");
    await expect(log).toContainText("Delivered");
    await expect(log).toContainText("HTTP 204");

    await endpoint.getByRole("button", { name: "Rotate secret" }).click();
    const rotated = (await endpoint.getByTestId("webhook-secret").textContent())!.trim();
    expect(rotated).not.toBe(secret);
    await expect(endpoint).toContainText("The previous secret also signs deliveries until");
    await endpoint.getByRole("button", { name: "Send test event" }).click();
    await expect.poll(() => hooks.got.length).toBe(2);
    const signatures = String(hooks.got[1].headers["webhook-signature"]).split(" ");
    expect(signatures.sort()).toEqual([signatureOf(rotated, hooks.got[1]), signatureOf(secret, hooks.got[1])].sort());

    await endpoint.getByRole("button", { name: "Remove" }).click();
    await expect(section.getByText("No webhook endpoints in this mode yet.")).toBeVisible();
  } finally {
    hooks.close();
  }
});
