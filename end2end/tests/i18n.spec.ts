import { test, expect, hydrated } from "./fixtures";

const titles = {
  ja: "すぐに使える決済リンク",
  en: "Payment links that just work",
  ko: "바로 쓰는 결제 링크",
} as const;

for (const [lang, title] of Object.entries(titles)) {
  test.describe(`browser language ${lang}`, () => {
    test.use({ locale: lang });

    test(`landing page renders and hydrates in ${lang}`, async ({ page }) => {
      await page.goto("/");
      await expect(page.locator("html")).toHaveAttribute("lang", lang);
      await expect(page.getByRole("heading", { level: 1 })).toHaveText(title);
      await expect(page).toHaveTitle(`${title} | Paylinks`);
      await hydrated(page);
      await expect(page.locator(`.lang-switch button[data-locale="${lang}"]`)).toHaveAttribute("aria-pressed", "true");
    });
  });
}

test("switching language calls the server and re-renders without a reload", async ({ page }) => {
  await page.goto("/");
  await hydrated(page);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText(titles.en);
  // A marker that a full page load would wipe out.
  await page.evaluate(() => ((window as any).__stillHere = true));

  const response = page.waitForResponse((r) => r.url().endsWith("/api/set_locale") && r.status() === 200);
  await page.locator('.lang-switch button[data-locale="ko"]').click();
  await response;

  await expect(page.getByRole("heading", { level: 1 })).toHaveText(titles.ko);
  await expect(page.getByRole("status")).toHaveText("언어를 한국어(으)로 변경했습니다");
  await expect(page.locator("html")).toHaveAttribute("lang", "ko");
  await expect(page.locator('.lang-switch button[data-locale="ko"]')).toHaveAttribute("aria-pressed", "true");
  expect(await page.evaluate(() => (window as any).__stillHere)).toBe(true);

  // Client-side navigation keeps the language; a reload gets it from the cookie.
  await page.getByRole("link", { name: "로그인" }).first().click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Paylinks에 로그인");
  await page.reload();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Paylinks에 로그인");
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("the language switcher still works through a form post", async ({ page }) => {
    await page.goto("/signin");
    await expect(page.getByRole("heading", { level: 1 })).toHaveText("Sign in to Paylinks");
    await page.locator('.lang-switch button[data-locale="ja"]').click();
    await expect(page).toHaveURL(/\/signin$/);
    await expect(page.getByRole("heading", { level: 1 })).toHaveText("Paylinks にログイン");
    await expect(page.getByLabel("メールアドレス")).toBeVisible();
  });
});

test("sign-in page hydrates with labelled fields", async ({ page }) => {
  await page.goto("/signin");
  await hydrated(page);
  await expect(page.getByLabel("Email")).toBeVisible();
  await expect(page.getByLabel("Password")).toBeVisible();
});
