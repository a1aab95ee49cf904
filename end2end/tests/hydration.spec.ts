import { test, expect, hydrated, signUp } from "./fixtures";

// Every dashboard page, loaded fresh (server-rendered, then hydrated) with a
// payment in it: a hydration mismatch shows up as a page error, which the
// fixture turns into a failure. (Navigating inside the app would not notice.)
test("dashboard pages hydrate on a fresh load", async ({ page, baseURL, pageErrors }) => {
  await signUp(page, `hydrate-${Date.now()}@example.com`);
  const headers = { Origin: baseURL! };
  const created = await page.request.post("/api/create_link", {
    headers,
    form: { "link[name]": "Kukicha", "link[amount]": "1000", "link[currency]": "JPY", "link[language]": "en" },
  });
  const link = await created.json();
  const token = `h${Date.now().toString(36)}`.padEnd(22, "x").slice(0, 22);
  const paid = await page.request.post("/api/pay", {
    headers,
    form: {
      "pay[slug]": link.slug, "pay[token]": token, "pay[method]": "card", "pay[email]": "a@example.jp", "pay[name]": "A B",
      "pay[card_number]": "4111111111111111", "pay[card_expiry]": "12/34", "pay[card_cvc]": "123",
    },
  });
  const payment = ((await paid.json()) as string).split("/").pop();
  for (const path of ["/dashboard", "/dashboard/links", `/dashboard/links/${link.id}`, `/dashboard/links/${link.id}/edit`, "/dashboard/transactions",
                      `/dashboard/transactions/${payment}`, "/dashboard/settings", "/dashboard/settings/api-keys",
                      "/dashboard/settings/webhooks", "/dashboard/application", "/dashboard/links/new", "/dashboard/links/quick"]) {
    await page.goto(path);
    await hydrated(page);
    // Named per page, so a failure says which page did not hydrate.
    expect(pageErrors, `errors on ${path}`).toEqual([]);
  }
});
