import { test, expect, signUp, hydrated, emailTo, emailedLink, PASSWORD } from "./fixtures";

// Emails go over real SMTP to the sink playwright.config.ts starts; in test
// mode the dashboard's mailbox also shows each one exactly as it was sent.
test("a customer pays in Japanese: the Japanese receipt arrives and is in the merchant's mailbox", async ({ page, baseURL }) => {
  const stamp = `${Date.now()}-${Math.random().toString(36).slice(2)}`;
  const email = `mailbox-${stamp}@example.com`;
  const customerEmail = `hanako-${stamp}@example.jp`;
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
  await customer.locator("#card-email").fill(customerEmail);
  await customer.getByRole("button", { name: "¥1,500 を支払う" }).click();
  await expect(customer.getByRole("heading", { level: 1 })).toHaveText("お支払いが完了しました");
  const paymentId = customer.url().split("/").pop()!;
  await customer.close();

  // The customer's inbox: the receipt, in Japanese, for the amount paid.
  const arrived = await emailTo(customerEmail);
  expect(arrived.subject).toBe("【Uji Tea】お支払いの領収書");
  expect(arrived.text).toContain("¥1,500");
  expect(arrived.text).toContain("抹茶セット");
  expect(arrived.text).toContain(paymentId);

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
  await expect(item).toContainText(customerEmail);
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

test("a merchant who forgot the password sets a new one from the emailed link", async ({ page }) => {
  const email = `forgetful-${Date.now()}-${Math.random().toString(36).slice(2)}@example.com`;
  await signUp(page, email, "Forgetful Tea");
  await page.context().clearCookies();

  await page.goto("/signin");
  await hydrated(page);
  await page.getByRole("link", { name: "Forgot your password?" }).click();
  await expect(page).toHaveURL(/\/forgot-password$/);
  await page.locator("#forgot-email").fill(email);
  await page.getByRole("button", { name: "Email me a reset link" }).click();
  await expect(page.locator("main").getByRole("status")).toContainText("If an account uses this address");

  const mail = await emailTo(email, (m) => m.text.includes("/reset-password?token="));
  expect(mail.subject).toBe("Reset your Paylinks password");
  await page.goto(await emailedLink(email, "reset-password"));
  await hydrated(page);
  const newPassword = "a whole new passphrase";
  await page.locator("#reset-password").fill(newPassword);
  await page.getByRole("button", { name: "Set new password" }).click();
  await expect(page).toHaveURL(/\/signin\?reset=1$/);

  // The old password no longer works; the new one does.
  await page.locator("#signin-email").fill(email);
  await page.locator("#signin-password").fill(PASSWORD);
  await page.locator("form button[type=submit]").last().click();
  await expect(page.locator("main").getByRole("alert")).toBeVisible();
  await page.locator("#signin-password").fill(newPassword);
  await page.locator("form button[type=submit]").last().click();
  await expect(page).toHaveURL(/\/dashboard$/);
});

test("a merchant moves the account to a new address by the link sent there", async ({ page }) => {
  const stamp = `${Date.now()}-${Math.random().toString(36).slice(2)}`;
  const before = `before-${stamp}@example.com`;
  const after = `after-${stamp}@example.com`;
  await signUp(page, before, "Moving Tea");

  await page.goto("/dashboard/settings");
  await hydrated(page);
  await expect(page.getByTestId("account-email")).toContainText(before);
  await page.locator("#new-email").fill(after);
  await page.locator("#email-password").fill(PASSWORD);
  await page.getByRole("button", { name: "Send the confirmation link" }).click();
  await expect(page.locator("main").getByRole("status").filter({ hasText: `Sent to ${after}` })).toBeVisible();

  // The current address hears of it first, naming the new one.
  const notice = await emailTo(before, (m) => m.subject === "Your Paylinks email address is about to change");
  expect(notice.text).toContain(after);

  await page.goto(await emailedLink(after, "email-change/confirm"));
  await hydrated(page);
  await page.getByRole("button", { name: "Use this address" }).click();
  await expect(page.locator("main").getByRole("status")).toContainText("this is now your account's email address");
  await page.goto("/dashboard/settings");
  await hydrated(page);
  await expect(page.getByTestId("account-email")).toContainText(after);
  const done = await emailTo(before, (m) => m.subject === "Your Paylinks email address was changed");
  expect(done.text).toContain(after);
});
