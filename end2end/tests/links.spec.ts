import { test, expect, hydrated, signUp } from "./fixtures";

// A 1×1 PNG.
const PNG = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==", "base64");

const texts = {
  ja: { quick: "クイック決済リンク", create: "決済リンクを作成", advanced: "詳細設定", issue: "保存", save: "保存", active: "有効", inactive: "無効", deactivate: "無効にする", saveChanges: "保存", edit: "リンクを編集", limit: "上限到達" },
  en: { quick: "Quick payment link", create: "Create payment link", advanced: "Advanced settings", issue: "Save", save: "Save", active: "Active", inactive: "Inactive", deactivate: "Deactivate", saveChanges: "Save", edit: "Edit link", limit: "Limit reached" },
  ko: { quick: "빠른 결제 링크", create: "결제 링크 만들기", advanced: "고급 설정", issue: "저장", save: "저장", active: "활성", inactive: "비활성", deactivate: "비활성화", saveChanges: "저장", edit: "링크 편집", limit: "한도 도달" },
} as const;

for (const [lang, t] of Object.entries(texts)) {
  test.describe(`in ${lang}`, () => {
    // Japan time, the dashboard's clock for the times it shows.
    test.use({ locale: lang, timezoneId: "Asia/Tokyo" });

    test(`create, quick-create, edit and deactivate links (${lang})`, async ({ page }) => {
      test.setTimeout(90_000);
      await signUp(page, `links-${lang}-${Date.now()}@example.com`);

      // Standard link with every field.
      await page.goto("/dashboard/links/new");
      await hydrated(page);
      await page.locator("#link-name").fill("抹茶セット");
      await page.locator("#link-amount").fill("1500");
      await page.locator("#link-currency").selectOption("JPY");
      await page.locator("#link-description").fill("2缶入り\n税込・3日以内に発送");
      await page.locator("#link-language").selectOption("ja");
      await page.locator("#link-image-file").setInputFiles({ name: "matcha.png", mimeType: "image/png", buffer: PNG });
      await expect(page.locator(".image-preview img")).toHaveAttribute("src", /^\/img\/[0-9a-f]{64}$/);
      await page.getByRole("button", { name: t.save, exact: true }).click();
      await expect(page).toHaveURL(/\/dashboard\/links\/\d+$/);
      await expect(page.getByRole("heading", { level: 1 })).toHaveText("抹茶セット");
      await expect(page.locator(".link-summary .price")).toHaveText("¥1,500");
      await expect(page.locator("#share-url")).toHaveValue(/\/pay\/[A-Za-z0-9_-]{22}$/);
      await expect(page.locator(".product-image")).toHaveAttribute("src", /^\/img\/[0-9a-f]{64}$/);

      // Quick Payment Link with advanced settings.
      await page.goto("/dashboard/links");
      await hydrated(page);
      await page.getByRole("link", { name: t.quick }).click();
      await expect(page).toHaveURL(/\/dashboard\/links\/quick$/);
      await page.locator("#link-name").fill("Gift card");
      await page.locator("#link-amount").fill("1050");
      await page.locator("#link-currency").selectOption("USD");
      await expect(page.locator("#amount-preview")).toHaveText("= $10.50");
      await page.getByText(t.advanced).click();
      await page.locator("#link-usage-limit").fill("1");
      await page.locator("#link-expires-at").fill("2030-12-31T23:59");
      await page.getByRole("button", { name: t.issue, exact: true }).click();
      await expect(page).toHaveURL(/\/dashboard\/links\/\d+$/);
      await expect(page.locator(".link-summary .price")).toHaveText("$10.50");
      await expect(page.getByTestId("link-usage")).toContainText("1");
      await hydrated(page);
      await expect(page.getByTestId("link-expiry")).toHaveText("2030-12-31 23:59");

      // Edit on its own page: the limit and expiry as set, the price read-only; the name changes.
      await page.getByRole("link", { name: t.edit }).click();
      await expect(page).toHaveURL(/\/dashboard\/links\/\d+\/edit$/);
      await hydrated(page);
      await expect(page.locator("#link-usage-limit")).toHaveValue("1");
      await expect(page.locator("#link-expires-at")).toHaveValue("2030-12-31T23:59");
      await expect(page.locator("#link-amount")).toHaveCount(0);
      await expect(page.getByTestId("link-price")).toHaveText("$10.50");
      await page.locator("#link-name").fill("Gift card (digital)");
      await page.getByRole("button", { name: t.saveChanges, exact: true }).click();
      await expect(page).toHaveURL(/\/dashboard\/links\/\d+$/);
      await expect(page.getByRole("heading", { level: 1 })).toHaveText("Gift card (digital)");

      // Deactivate.
      await page.getByRole("button", { name: t.deactivate }).click();
      await expect(page.locator(".page-head .badge")).toHaveText(t.inactive);

      // The list shows both, formatted, newest first.
      await page.goto("/dashboard/links");
      const rows = page.locator(".links-table tbody tr");
      await expect(rows).toHaveCount(2);
      await expect(rows.nth(0)).toContainText("Gift card (digital)");
      await expect(rows.nth(0)).toContainText("$10.50");
      await expect(rows.nth(0).locator(".badge")).toHaveText(t.inactive);
      await expect(rows.nth(1)).toContainText("抹茶セット");
      await expect(rows.nth(1)).toContainText("¥1,500");
      await expect(rows.nth(1).locator(".badge")).toHaveText(t.active);
    });
  });
}

test("a file that is not a JPG or PNG is refused with a localized message", async ({ page }) => {
  await signUp(page, `links-img-${Date.now()}@example.com`);
  await page.goto("/dashboard/links/new");
  await hydrated(page);
  const gif = Buffer.from("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7", "base64");
  await page.locator("#link-image-file").setInputFiles({ name: "photo.png", mimeType: "image/png", buffer: gif });
  await expect(page.locator("#image-error")).toHaveText("Only JPG and PNG images are accepted.");
  await expect(page.locator(".image-preview")).toHaveCount(0);
});

test("a refused amount shows its localized reason next to the field", async ({ page }) => {
  await signUp(page, `links-err-${Date.now()}@example.com`);
  await page.goto("/dashboard/links/new");
  await hydrated(page);
  await page.locator("#link-name").fill("Too cheap");
  // Checked while typing, with the same rules the server applies…
  await page.locator("#link-amount").fill("49");
  await expect(page.locator("#amount-error")).toHaveText("The minimum is ¥50.");
  await page.locator("#link-amount").fill("50");
  await expect(page.locator("#amount-error")).toHaveCount(0);
  await page.locator("#link-currency").selectOption("USD");
  await page.locator("#link-amount").fill("40");
  await expect(page.locator("#amount-error")).toHaveText("The minimum is $0.50.");
  // …and refused by the server all the same.
  await page.locator("#link-currency").selectOption("JPY");
  await page.locator("#link-amount").fill("49");
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await expect(page.locator("#amount-error")).toHaveText("The minimum is ¥50.");
  await expect(page).toHaveURL(/\/dashboard\/links\/new$/);
});
