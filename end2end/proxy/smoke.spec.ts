import { test, expect, customerFillsCard, hydrated, signUp, PASSWORD } from "../tests/fixtures";

// Through deploy/nginx.conf onto two app servers sharing one PostgreSQL
// database: every request may land on either, so the session, the forms'
// same-origin check (Origin = PAYLINKS_PUBLIC_URL, behind a proxy that
// rewrites nothing else) and the payment must not care which.
test("behind nginx: sign up, sign in, create a link, pay, see the summary", async ({ page, browser, baseURL }) => {
  test.setTimeout(120_000);
  const email = `proxy-${Date.now()}@example.com`;
  await signUp(page, email);

  // A second browser signs in: its session is good on both servers.
  const context = await browser.newContext({ baseURL, locale: "en", ignoreHTTPSErrors: true });
  const merchant = await context.newPage();
  await merchant.goto("/signin");
  await hydrated(merchant);
  await merchant.locator("#signin-email").fill(email);
  await merchant.locator("#signin-password").fill(PASSWORD);
  await merchant.locator("form button[type=submit]").last().click();
  await expect(merchant).toHaveURL(/\/dashboard$/);

  // Create a link; its URL is the public (proxy's) one.
  await merchant.goto("/dashboard/links/new");
  await hydrated(merchant);
  await merchant.locator("#link-name").fill("Gyokuro");
  await merchant.locator("#link-amount").fill("1000");
  await merchant.locator("form button[type=submit]").last().click();
  await expect(merchant).toHaveURL(/\/dashboard\/links\/\d+$/);
  const linkPath = new URL(merchant.url()).pathname;
  const url = await merchant.getByTestId("share-url").inputValue();
  expect(url.startsWith(`${baseURL}/`)).toBe(true);

  // A customer pays by test card.
  const customer = await customerFillsCard(merchant, url, "4111 1111 1111 1111", "hana@example.jp");
  await customer.getByRole("button", { name: "Pay ¥1,000" }).click();
  await expect(customer.getByRole("heading", { level: 1 })).toHaveText("Payment complete");
  await customer.close();

  // The summary, read a few times (each read may come from the other server).
  for (let i = 0; i < 3; i++) {
    await merchant.goto(linkPath);
    await hydrated(merchant);
    await expect(merchant.getByTestId("captured-amount")).toHaveText("¥1,000");
    await expect(merchant.getByTestId("captured-payments")).toHaveText("1");
    await expect(merchant.getByTestId("pending-payments")).toHaveText("0");
  }
  await context.close();
});
