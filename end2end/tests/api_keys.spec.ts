import { test, expect, hydrated, signUp } from "./fixtures";

// Settings › API keys: a key is shown once, works against /api/v1, and stops
// working the moment it is revoked.
test("an API key is shown once, works, and is revoked from the dashboard", async ({ page, request }) => {
  test.setTimeout(60_000);
  await signUp(page, `api-keys-${Date.now()}@example.com`);
  // Settings › API keys through the tabs: its code loads when it is opened.
  await page.goto("/dashboard/settings");
  await hydrated(page);
  await page.getByRole("navigation", { name: "Settings sections" }).getByRole("link", { name: "API keys" }).click();
  await expect(page).toHaveURL(/\/dashboard\/settings\/api-keys$/);
  await expect(page.getByText("No API keys in this mode yet.")).toBeVisible();

  await page.locator("#api-key-name").fill("Shop backend");
  await page.getByRole("button", { name: "Create key" }).click();
  const secret = (await page.getByTestId("new-api-key").textContent())!.trim();
  expect(secret).toMatch(/^sk_test_[A-Za-z0-9_-]{44}$/);
  const table = page.getByTestId("api-keys");
  await expect(table).toContainText("Shop backend");
  await expect(table).toContainText(secret.slice(0, 12));
  await expect(table).not.toContainText(secret);

  const auth = { Authorization: `Bearer ${secret}` };
  const created = await request.post("/api/v1/payment_links", { headers: auth, data: { name: "From the API", amount: 1500, currency: "JPY" } });
  expect(created.status()).toBe(201);
  expect((await created.json()).amount).toBe(1500);

  // A reload shows the key by its prefix only.
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId("new-api-key")).toHaveCount(0);
  await page.getByRole("button", { name: "Revoke" }).click();
  await expect(table).toContainText("Revoked");
  const refused = await request.get("/api/v1/payment_links", { headers: auth });
  expect(refused.status()).toBe(401);
  expect((await refused.json()).error.type).toBe("authentication_error");
});
