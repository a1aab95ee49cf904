import { execFileSync } from "node:child_process";
import { Browser, Page } from "@playwright/test";
import { test, expect, hydrated, signUp, submitSignUp, emailedLink, emailTo, PASSWORD } from "./fixtures";

// What a merchant reads on the way from sign-up to live mode, per language.
const texts = {
  ja: {
    testMode: "テストモード",
    liveMode: "ライブモード",
    toLive: "ライブに切り替え",
    application: "本番利用申請",
    submit: "審査に提出",
    underReview: "審査中",
    approve: "承認",
    queueEmpty: "審査待ちの申請はありません。",
    checkInbox: "メールをご確認ください",
    alreadyHave: "Paylinks のアカウントはすでにお持ちです",
  },
  en: {
    testMode: "Test mode",
    liveMode: "Live mode",
    toLive: "Switch to live",
    application: "Live-mode application",
    submit: "Submit for review",
    underReview: "Under review",
    approve: "Approve",
    queueEmpty: "No applications are waiting for review.",
    checkInbox: "Check your inbox",
    alreadyHave: "You already have a Paylinks account",
  },
  ko: {
    testMode: "테스트 모드",
    liveMode: "라이브 모드",
    toLive: "라이브로 전환",
    application: "라이브 모드 신청",
    submit: "심사 요청",
    underReview: "심사 중",
    approve: "승인",
    queueEmpty: "심사를 기다리는 신청이 없습니다.",
    checkInbox: "받은편지함을 확인하세요",
    alreadyHave: "이미 Paylinks 계정이 있습니다",
  },
} as const;


function createReviewer(email: string, lang: string) {
  const args = ["admin", "create-reviewer", email, "--password", PASSWORD, "--locale", lang];
  execFileSync(process.env.PAYLINKS_BIN ?? "../target/release/paylinks", args, {
    env: { ...process.env, DATABASE_URL: process.env.PAYLINKS_E2E_DATABASE_URL ?? "sqlite://target/e2e/paylinks.db", RUST_LOG: "warn" },
    cwd: "..",
  });
}

async function signIn(page: Page, email: string) {
  await page.goto("/signin");
  await hydrated(page);
  await page.locator("#signin-email").fill(email);
  await page.locator("#signin-password").fill(PASSWORD);
  await page.locator("form button[type=submit]").last().click();
}

async function reviewerPage(browser: Browser, lang: string): Promise<Page> {
  const context = await browser.newContext({ locale: lang, baseURL: test.info().project.use.baseURL });
  const page = await context.newPage();
  page.on("pageerror", (e) => { throw e; });
  return page;
}

for (const [lang, t] of Object.entries(texts)) {
  test.describe(`in ${lang}`, () => {
    test.use({ locale: lang });

    test(`a merchant applies, a reviewer approves, the merchant goes live (${lang})`, async ({ page, browser }) => {
      test.setTimeout(90_000);
      const stamp = `${lang}-${Date.now()}`;
      const email = `merchant-${stamp}@example.com`;
      await signUp(page, email, `Shop ${stamp}`);

      await expect(page.locator(".mode-badge")).toHaveText(t.testMode);
      const toggle = page.getByRole("button", { name: t.toLive });
      await expect(toggle).toBeDisabled();

      // The address is confirmed by the emailed link before applying.
      await expect(page.getByTestId("verify-reminder")).toBeVisible();
      await page.goto(await emailedLink(email, "verify-email"));
      await expect(page.getByTestId("verify-email").locator(".notice")).toBeVisible();
      await page.goto("/dashboard");
      await hydrated(page);
      await expect(page.getByTestId("verify-reminder")).toHaveCount(0);

      await page.getByRole("link", { name: t.application }).first().click();
      await expect(page).toHaveURL(/\/dashboard\/application$/);
      const values: Record<string, string> = {
        legal_name: "株式会社テスト商店",
        representative: "山田 太郎",
        address: "東京都千代田区1-1-1",
        phone: "03-1234-5678",
        website: "https://shop.example.jp",
        products: "お茶と茶器",
        scta_seller: "株式会社テスト商店",
        scta_address: "東京都千代田区1-1-1",
        scta_phone: "03-1234-5678",
        scta_pricing: "各商品ページに記載",
        scta_fees: "送料 全国一律 600円",
        scta_payment: "クレジットカード（注文時）",
        scta_delivery: "注文から3営業日以内に発送",
        scta_returns: "未開封品に限り到着後8日以内",
      };
      for (const [field, value] of Object.entries(values)) {
        await page.locator(`#app-${field}`).fill(value);
      }
      await page.getByRole("button", { name: t.submit }).click();
      await expect(page.getByTestId("application-status")).toHaveText(t.underReview);

      const reviewerEmail = `reviewer-${stamp}@paylinks.test`;
      createReviewer(reviewerEmail, lang);
      const reviewer = await reviewerPage(browser, lang);
      await signIn(reviewer, reviewerEmail);
      await expect(reviewer).toHaveURL(/\/review$/);
      const card = reviewer.locator(`article[data-email="${email}"]`);
      await expect(card).toContainText("株式会社テスト商店");
      await card.getByRole("button", { name: t.approve, exact: true }).click();
      await expect(card).toHaveCount(0);

      await page.goto("/dashboard");
      await hydrated(page);
      await page.getByRole("button", { name: t.toLive }).click();
      await expect(page.locator(".mode-badge")).toHaveText(t.liveMode);
      await expect(page.locator(".mode-bar")).toHaveAttribute("data-mode", "live");
    });

    test(`a taken address gets the same answer as a new one and its owner an email (${lang})`, async ({ page, browser }) => {
      const email = `dup-${lang}-${Date.now()}@example.com`;
      const first = await reviewerPage(browser, lang);
      await submitSignUp(first, "First Shop", email);
      await expect(first.getByTestId("signup-sent")).toContainText(email);

      await submitSignUp(page, "Second Shop", email);
      await expect(page.locator("main h1")).toHaveText(t.checkInbox);
      await expect(page.getByTestId("signup-sent")).toContainText(email);
      await expect(page).toHaveURL(/\/signup$/);
      // The owner (in the language they signed up in) learns of it.
      const told = await emailTo(email, (m) => m.subject === t.alreadyHave);
      expect(told.text).toContain("/forgot-password");
    });
  });
}

test("without a session the dashboard sends you to sign in", async ({ page }) => {
  await page.goto("/dashboard/settings");
  await expect(page).toHaveURL(/\/signin$/);
});
