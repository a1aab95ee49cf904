import { APIRequestContext, Page } from "@playwright/test";
import { test, expect } from "./fixtures";

const PASSWORD = "correct horse battery";

/** A merchant with one test-mode link; returns the link's checkout path. */
async function merchantLink(request: APIRequestContext, baseURL: string, language: string, extra: Record<string, string> = {}) {
  const headers = { Origin: baseURL };
  const email = `checkout-${language}-${Date.now()}-${Math.random().toString(36).slice(2)}@example.com`;
  const signUp = await request.post("/api/sign_up", { headers, form: { business_name: "Uji Tea", email, password: PASSWORD } });
  expect(signUp.status()).toBe(200);
  const signIn = await request.post("/api/sign_in", { headers, form: { email, password: PASSWORD } });
  expect(signIn.status()).toBe(200);
  const form: Record<string, string> = { "link[name]": "抹茶セット", "link[amount]": "1500", "link[currency]": "JPY", "link[language]": language };
  for (const [k, v] of Object.entries(extra)) form[`link[${k}]`] = v;
  const created = await request.post("/api/create_link", { headers, form });
  expect(created.status()).toBe(200);
  const link = await created.json();
  return `/pay/${link.slug}`;
}

async function fillCard(page: Page, number: string) {
  await page.locator("#card-number").fill(number);
  await page.locator("#card-expiry").fill("12/34");
  await page.locator("#card-cvc").fill("123");
  await page.locator("#card-name").fill("TARO YAMADA");
  await page.locator("#card-email").fill("taro@example.jp");
}

const texts = {
  ja: { pay: "¥1,500 を支払う", done: "お支払いが完了しました", declined: "残高不足です", banner: "テストモード" },
  en: { pay: "Pay ¥1,500", done: "Payment complete", declined: "insufficient funds", banner: "Test mode" },
  ko: { pay: "¥1,500 결제하기", done: "결제가 완료되었습니다", declined: "잔액이 부족합니다", banner: "테스트 모드" },
} as const;

for (const [lang, t] of Object.entries(texts)) {
  test(`a customer pays by card in ${lang}, without a full page load`, async ({ page, baseURL }) => {
    const path = await merchantLink(page.request, baseURL!, lang);
    // The customer is a stranger: no merchant session.
    await page.context().clearCookies();
    await page.goto(path);
    await expect(page.locator("html")).toHaveAttribute("lang", lang);
    await expect(page.getByRole("note")).toContainText(t.banner);
    await expect(page.getByRole("heading", { level: 1 })).toHaveText("抹茶セット");
    await fillCard(page, "4111 1111 1111 1111");
    await page.evaluate(() => ((window as any).stillHere = true));
    await page.getByRole("button", { name: t.pay }).click();
    await expect(page.getByRole("heading", { level: 1 })).toHaveText(t.done);
    await expect(page).toHaveURL(/\/pay\/[A-Za-z0-9_-]{22}\/pay_[A-Za-z0-9_-]{22}$/);
    expect(await page.evaluate(() => (window as any).stillHere), "enhanced submit, no reload").toBe(true);
    await expect(page.getByText("Visa •••• 1111")).toBeVisible();
    // Reloading the result page shows the same payment (Post/Redirect/Get).
    await page.reload();
    await expect(page.getByRole("heading", { level: 1 })).toHaveText(t.done);
  });
}

test.describe("with JavaScript disabled", () => {
  test.use({ javaScriptEnabled: false });

  for (const [lang, t] of Object.entries(texts)) {
    test(`pays by card and sees a declined card's reason in ${lang}`, async ({ page, baseURL }) => {
      const path = await merchantLink(page.request, baseURL!, lang);
      await page.context().clearCookies();
      await page.goto(path);
      // A declined card: the localized reason, and a way to try again.
      await fillCard(page, "4123 1111 1111 1000");
      await page.getByRole("button", { name: t.pay }).click();
      await expect(page.locator(".result-text")).toContainText(t.declined);
      await page.locator(".result a.button").click();
      // A mistyped number is refused next to its field, nothing else lost.
      await fillCard(page, "4111 1111 1111 1112");
      await page.getByRole("button", { name: t.pay }).click();
      await expect(page.locator("#card-number")).toHaveAttribute("aria-invalid", "true");
      await expect(page.locator("#card-email")).toHaveValue("taro@example.jp");
      await fillCard(page, "4111 1111 1111 1111");
      await page.getByRole("button", { name: t.pay }).click();
      await expect(page.getByRole("heading", { level: 1 })).toHaveText(t.done);
    });
  }
});

test("a konbini payment shows its number and deadline", async ({ page, baseURL }) => {
  const path = await merchantLink(page.request, baseURL!, "ja");
  await page.context().clearCookies();
  await page.goto(path);
  await page.getByText("コンビニ払い").click();
  await page.locator("#konbini-store").selectOption("family_mart");
  await page.locator("#konbini-email").fill("hanako@example.jp");
  await page.getByRole("button", { name: "払込番号を発行する" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("コンビニでお支払いください");
  await expect(page.getByTestId("konbini-number")).toHaveText(/^\d{12}$/);
  await expect(page.getByTestId("konbini-deadline")).toHaveText(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2} \(JST\)$/);
  await expect(page.getByText("ファミリーマート")).toBeVisible();
});

test("an inactive link answers 410 in the link's language", async ({ page, baseURL }) => {
  const path = await merchantLink(page.request, baseURL!, "ko", { status: "inactive" });
  await page.context().clearCookies();
  const response = await page.goto(path);
  expect(response?.status()).toBe(410);
  await expect(page.getByRole("heading", { level: 2 })).toHaveText("이 링크는 더 이상 결제를 받지 않습니다");
  await expect(page.locator("form")).toHaveCount(0);
});
