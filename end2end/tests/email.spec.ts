import { test, expect, signUp, hydrated } from "./fixtures";

// With no mail server configured (as in `make run`), every email is kept and
// shown in the dashboard's test-mode mailbox exactly as it was sent.
test("a customer pays in Japanese and the Japanese receipt is in the merchant's mailbox", async ({ page, baseURL }) => {
  const email = `mailbox-${Date.now()}-${Math.random().toString(36).slice(2)}@example.com`;
  await signUp(page, email, "Uji Tea");
  const created = await page.request.post("/api/create_link", {
    headers: { Origin: baseURL! },
    form: { "link[name]": "抹茶セット", "link[amount]": "1500", "link[currency]": "JPY", "link[language]": "ja" },
  });
  expect(created.status()).toBe(200);
  const link = await created.json();

  // The customer: a stranger in a browser of their own, paying in Japanese.
  const customer = await page.context().browser()!.newPage();
  await customer.goto(`/pay/${link.slug}`.replace(/^/, baseURL!));
  await customer.locator("#card-number").fill("4111 1111 1111 1111");
  await customer.locator("#card-expiry").fill("12/34");
  await customer.locator("#card-cvc").fill("123");
  await customer.locator("#card-name").fill("HANAKO SATO");
  await customer.locator("#card-email").fill("hanako@example.jp");
  await customer.getByRole("button", { name: "¥1,500 を支払う" }).click();
  await expect(customer.getByRole("heading", { level: 1 })).toHaveText("お支払いが完了しました");
  const paymentId = customer.url().split("/").pop()!;
  await customer.close();

  await page.goto("/dashboard/emails");
  await hydrated(page);
  // Newest first: the receipt, and the merchant's own "payment received" notice.
  const item = page.getByTestId("email").filter({ hasText: "【Uji Tea】お支払いの領収書" });
  // The worker sends within a second or two: reload until it shows as sent.
  await expect(async () => {
    await page.reload();
    await expect(item).toHaveCount(1, { timeout: 1000 });
    await expect(item.locator(".badge")).toHaveClass(/email-sent/, { timeout: 1000 });
  }).toPass({ timeout: 15_000 });
  await expect(page.getByTestId("email").filter({ hasText: email })).toContainText("抹茶セット");
  await expect(item).toContainText("【Uji Tea】お支払いの領収書");
  await expect(item).toContainText("hanako@example.jp");
  await item.locator("summary").first().click();
  const receipt = item.frameLocator("iframe.email-html");
  await expect(receipt.locator("body")).toContainText("¥1,500");
  await expect(receipt.locator("body")).toContainText("抹茶セット");
  await expect(receipt.locator("body")).toContainText(paymentId);
  await expect(receipt.getByRole("link", { name: "特定商取引法に基づく表記" })).toBeVisible();
  // The payment it is about is one click away.
  await item.getByRole("link", { name: paymentId }).click();
  await expect(page).toHaveURL(new RegExp(`/dashboard/transactions/${paymentId}$`));
});
