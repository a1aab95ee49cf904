import { Page } from "@playwright/test";
import { test, expect, customerFillsCard, hydrated, signUp } from "./fixtures";

// The seed's help text, followed literally: prices in the smallest unit,
// Status on every form, "Save" everywhere, the summary's figures and names,
// and the SCTA hint only for what the merchant's SCTA page lacks.
const texts = {
  ja: {
    quick: "クイック決済リンク", advanced: "詳細設定", save: "保存", price: "価格", status: "ステータス", active: "有効", inactive: "無効",
    edit: "リンクを編集", ambiguous: "金額があいまいです。カンマは3桁区切り（1,050）にのみ使え、小数点には使えません。",
    notWhole: "価格は通貨の最小単位で、小数点なしで入力してください（例：1050 = $10.50）。",
    scta: "特定商取引法", withdrawal: "申込みの撤回・解除", ifApplicable: "申込期間（ある場合）", tax: "税込・税抜の別", delivery: "引渡時期",
    capturedColumn: "売上件数", pendingExplain: "開始後に完了しなかった決済 — 内訳", failed: "失敗", awaiting: "お客様の操作待ち",
    saveDraft: "下書きを保存", saved: "保存しました。", timeZone: "タイムゾーン", tzSaved: "タイムゾーンを保存しました。", dateNewYork: "日時（ニューヨーク時間）",
  },
  en: {
    quick: "Quick payment link", advanced: "Advanced settings", save: "Save", price: "Price", status: "Status", active: "Active", inactive: "Inactive",
    edit: "Edit link", ambiguous: "This amount is ambiguous: a comma may only group thousands (1,050), never mark decimals.",
    notWhole: "Enter the price in the currency's smallest unit, without a decimal point (e.g. 1050 = $10.50).",
    scta: "Specified Commercial Transactions Act (特定商取引法)", withdrawal: "withdrawal", ifApplicable: "application period (if applicable)",
    tax: "whether tax is included", delivery: "delivery timing",
    capturedColumn: "Captured payments", pendingExplain: "Started but not completed — breakdown", failed: "Failed", awaiting: "Awaiting customer",
    saveDraft: "Save draft", saved: "Saved.", timeZone: "Time zone", tzSaved: "Time zone saved.", dateNewYork: "Date (New York time)",
  },
  ko: {
    quick: "빠른 결제 링크", advanced: "고급 설정", save: "저장", price: "가격", status: "상태", active: "활성", inactive: "비활성",
    edit: "링크 편집", ambiguous: "금액이 모호합니다. 쉼표는 세 자리 구분(1,050)에만 쓸 수 있고 소수점으로는 쓸 수 없습니다.",
    notWhole: "가격은 통화의 최소 단위로, 소수점 없이 입력하세요(예: 1050 = $10.50).",
    scta: "특정상거래법(特定商取引法)", withdrawal: "철회", ifApplicable: "신청 기간(해당하는 경우)", tax: "세금 포함 여부", delivery: "인도 시기",
    capturedColumn: "매출 건수", pendingExplain: "시작했지만 완료되지 않은 결제 — 내역", failed: "실패", awaiting: "고객 진행 대기",
    saveDraft: "임시 저장", saved: "저장했습니다.", timeZone: "시간대", tzSaved: "시간대를 저장했습니다.", dateNewYork: "일시 (뉴욕 시간)",
  },
} as const;

/** A customer's card payment on `url` that the issuer declines. */
async function declinedPayment(page: Page, url: string) {
  const customer = await customerFillsCard(page, url, "4123 1111 1111 1000", "hana@example.jp");
  await customer.getByRole("button", { name: "Pay ¥1,000" }).click();
  await expect(customer.getByText("The card was declined: insufficient funds.")).toBeVisible();
  await customer.close();
}

for (const [lang, t] of Object.entries(texts)) {
  test.describe(`the seed, literally (${lang})`, () => {
    test.use({ locale: lang, timezoneId: "Asia/Tokyo" });

    test(`prices in the smallest unit, Status on create, Save (${lang})`, async ({ page }) => {
      test.setTimeout(90_000);
      await signUp(page, `seed-${lang}-${Date.now()}@example.com`);
      await page.goto("/dashboard/links/new");
      await hydrated(page);

      // The SCTA page is empty: the hint names the Act and every item.
      const hint = page.getByTestId("scta-hint");
      for (const item of [t.scta, t.withdrawal, t.ifApplicable, t.tax, t.delivery]) {
        await expect(hint).toContainText(item);
      }

      // The price in cents, with a live preview; ambiguous input is refused.
      await page.getByLabel(t.price, { exact: true }).fill("10,50");
      await page.locator("#link-currency").selectOption("EUR");
      await expect(page.locator("#amount-error")).toHaveText(t.ambiguous);
      await page.locator("#link-currency").selectOption("USD");
      await page.getByLabel(t.price, { exact: true }).fill("10.50");
      await expect(page.locator("#amount-error")).toHaveText(t.notWhole);
      await page.getByLabel(t.price, { exact: true }).fill("1050");
      await expect(page.locator("#amount-error")).toHaveCount(0);
      await expect(page.locator("#amount-preview")).toHaveText("= $10.50");
      await page.locator("#link-currency").selectOption("JPY");
      await expect(page.locator("#amount-preview")).toHaveText("= ¥1,050");
      await page.locator("#link-currency").selectOption("KRW");
      await expect(page.locator("#amount-preview")).toHaveText("= ₩1,050");
      await page.locator("#link-currency").selectOption("USD");

      // Status on the standard form, saved Inactive.
      await page.locator("#link-name").fill(`Workshop ${lang}`);
      const status = page.getByLabel(t.status);
      await expect(status).toHaveValue("active");
      await status.selectOption("inactive");
      await page.getByRole("button", { name: t.save, exact: true }).click();
      await expect(page).toHaveURL(/\/dashboard\/links\/\d+$/);
      await expect(page.locator(".link-summary .price")).toHaveText("$10.50");
      await expect(page.locator(".page-head .badge")).toHaveText(t.inactive);

      // Edit: the button is Save too.
      await page.getByRole("link", { name: t.edit }).click();
      await hydrated(page);
      await expect(page.getByLabel(t.status)).toHaveValue("inactive");
      await page.getByLabel(t.status).selectOption("active");
      await page.getByRole("button", { name: t.save, exact: true }).click();
      await expect(page).toHaveURL(/\/dashboard\/links\/\d+$/);
      await expect(page.locator(".page-head .badge")).toHaveText(t.active);

      // Quick Payment Link: Status inside Advanced settings (Active by default); Save issues it at once.
      await page.goto("/dashboard/links/quick");
      await hydrated(page);
      await page.locator("#link-name").fill(`Matcha ${lang}`);
      await page.getByLabel(t.price, { exact: true }).fill("1,500");
      await expect(page.locator("#amount-preview")).toHaveText("= ¥1,500");
      await page.getByText(t.advanced).click();
      await expect(page.getByLabel(t.status)).toHaveValue("active");
      await page.getByLabel(t.status).selectOption("inactive");
      await page.locator("#link-expires-at").fill("2030-12-31T23:59");
      await page.getByRole("button", { name: t.save, exact: true }).click();
      await expect(page).toHaveURL(/\/dashboard\/links\/\d+$/);
      const quickPath = new URL(page.url()).pathname;
      await expect(page.locator(".link-summary .price")).toHaveText("¥1,500");
      await expect(page.locator(".page-head .badge")).toHaveText(t.inactive);
      await hydrated(page);
      await expect(page.getByTestId("link-expiry")).toHaveText("2030-12-31 23:59");

      // The merchant's time zone (Settings › General) moves every dashboard time.
      await page.goto("/dashboard/settings");
      await hydrated(page);
      const zone = page.getByLabel(t.timeZone, { exact: true });
      await expect(zone).toHaveValue("Asia/Tokyo");
      await zone.selectOption("America/New_York");
      await page.locator("section", { has: zone }).getByRole("button").click();
      await expect(page.getByText(t.tzSaved)).toBeVisible();
      await page.goto(quickPath);
      await hydrated(page);
      // 23:59 in Tokyo is 09:59 in New York (standard time in December).
      await expect(page.getByTestId("link-expiry")).toHaveText("2030-12-31 09:59");

      // With pricing, delivery and returns on the SCTA page, only the per-product items are asked.
      await page.goto("/dashboard/application");
      await hydrated(page);
      await page.locator("#app-scta_pricing").fill("各商品ページに税込価格で表示");
      await page.locator("#app-scta_delivery").fill("3営業日以内に発送");
      await page.locator("#app-scta_returns").fill("到着後8日以内");
      await page.getByRole("button", { name: t.saveDraft }).click();
      await expect(page.getByText(t.saved, { exact: true })).toBeVisible();
      await page.goto("/dashboard/links/new");
      await hydrated(page);
      await expect(page.getByTestId("scta-hint")).toContainText(t.ifApplicable);
      await expect(page.getByTestId("scta-hint")).not.toContainText(t.tax);
      await expect(page.getByTestId("scta-hint")).not.toContainText(t.delivery);
      await expect(page.getByTestId("scta-hint")).not.toContainText(t.withdrawal);
    });

    test(`the list counts captured payments as the summary does; pending is explained (${lang})`, async ({ page, baseURL }) => {
      test.setTimeout(90_000);
      await signUp(page, `seed-figures-${lang}-${Date.now()}@example.com`);
      const headers = { Origin: baseURL! };
      const created = await page.request.post("/api/create_link", {
        headers,
        form: { "link[name]": "Kukicha", "link[amount]": "1000", "link[currency]": "JPY", "link[language]": "en" },
      });
      const link = await created.json();
      const pay = async (token: string) =>
        page.request.post("/api/pay", {
          headers,
          form: {
            "pay[slug]": link.slug, "pay[token]": token, "pay[method]": "card", "pay[email]": "a@example.jp", "pay[name]": "A B",
            "pay[card_number]": "4111111111111111", "pay[card_expiry]": "12/34", "pay[card_cvc]": "123",
          },
        });
      const stamp = Date.now().toString(36);
      const paidIds: string[] = [];
      for (const n of ["a", "b"]) {
        const paid = await pay(`${n}${stamp}`.padEnd(22, "x").slice(0, 22));
        paidIds.push(((await paid.json()) as string).split("/").pop()!);
      }
      // One of the two is refunded in full: it no longer counts as captured.
      const refunded = await page.request.post("/api/payment_action", {
        headers,
        form: { payment: paidIds[0], action: "refund", amount: "", reason: "" },
      });
      expect(refunded.status()).toBe(200);
      await declinedPayment(page, link.url);

      await page.goto("/dashboard/links");
      await hydrated(page);
      const table = page.getByRole("table");
      await expect(table.getByRole("columnheader", { name: t.capturedColumn })).toBeVisible();
      const row = page.locator(`tr[data-link-id="${link.id}"]`);
      await expect(row.locator("td").nth(3)).toHaveText("1");

      await page.goto(`/dashboard/links/${link.id}`);
      await hydrated(page);
      await expect(page.getByTestId("captured-payments")).toHaveText("1");
      await expect(page.getByTestId("pending-payments")).toHaveText("1");
      await page.getByText(t.pendingExplain).click();
      const breakdown = page.getByTestId("pending-breakdown");
      await expect(breakdown.getByRole("link", { name: t.failed })).toHaveAttribute("href", `/dashboard/transactions?link=${link.id}&status=failed`);
      await expect(breakdown.locator('[data-status="failed"]')).toHaveText("1");
      await expect(breakdown.getByRole("link", { name: t.awaiting })).toBeVisible();
      await expect(breakdown.locator('[data-status="pending"]')).toHaveText("0");

      // The transactions' dates name the merchant's zone.
      const zoned = await page.request.post("/api/set_time_zone", { headers, form: { time_zone: "America/New_York" } });
      expect(zoned.status()).toBe(200);
      await page.goto("/dashboard/transactions");
      await hydrated(page);
      await expect(page.getByRole("columnheader", { name: t.dateNewYork })).toBeVisible();
    });
  });
}
