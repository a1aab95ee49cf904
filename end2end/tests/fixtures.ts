import { test as base, expect, Page } from "@playwright/test";

// Every test fails on an uncaught page error or a console error: a broken
// WASM bundle (e.g. a bad wasm-opt) shows up only there.
export const test = base.extend<{ pageErrors: string[] }>({
  pageErrors: [
    async ({ page }, use) => {
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
      page.on("console", (m) => {
        // A refused request (4xx) is an expected answer the page shows to the user.
        const expected = /^Failed to load resource: the server responded with a status of 4\d\d/;
        if (m.type() === "error" && !expected.test(m.text())) errors.push(`console.error: ${m.text()}`);
      });
      await use(errors);
      expect(errors, "errors in the page").toEqual([]);
    },
    { auto: true },
  ],
});

export { expect };

/** Waits until the WASM app has hydrated (set by an Effect, never during SSR). */
export async function hydrated(page: Page) {
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
}

export const PASSWORD = "correct horse battery";

/** Fills and submits the sign-up form (the caller checks where it lands). */
export async function submitSignUp(page: Page, business: string, email: string) {
  await page.goto("/signup");
  await hydrated(page);
  await page.locator("#signup-business").fill(business);
  await page.locator("#signup-email").fill(email);
  await page.locator("#signup-password").fill(PASSWORD);
  await page.locator("form button[type=submit]").last().click();
}

/** A new merchant, signed in on the dashboard: signing up answers "check
 *  your inbox" (whether or not the address had an account), then signs in. */
export async function signUp(page: Page, email: string, business = "Tea Shop") {
  await submitSignUp(page, business, email);
  await expect(page.getByTestId("signup-sent")).toContainText(email);
  await page.getByTestId("signup-signin").click();
  await expect(page).toHaveURL(/\/signin\?email=/);
  await hydrated(page);
  await expect(page.locator("#signin-email")).toHaveValue(email);
  await page.locator("#signin-password").fill(PASSWORD);
  await page.locator("form button[type=submit]").last().click();
  await expect(page).toHaveURL(/\/dashboard$/);
}

/** A customer in a page of their own (no merchant session) fills the card form on `url`. */
export async function customerFillsCard(page: Page, url: string, cardNumber: string, email: string) {
  const customer = await page.context().browser()!.newPage();
  await customer.goto(url + "?lang=en");
  await customer.locator("#card-number").fill(cardNumber);
  await customer.locator("#card-expiry").fill("12/34");
  await customer.locator("#card-cvc").fill("123");
  await customer.locator("#card-name").fill("HANA SATO");
  await customer.locator("#card-email").fill(email);
  return customer;
}


/** Bytes (a latin1 string) as UTF-8 text. */
const utf8 = (bytes: string) => Buffer.from(bytes, "latin1").toString("utf8");

/** Every text in a raw .eml (read as latin1 bytes), with quoted-printable
 *  and base64 bodies decoded. */
function emailTexts(raw: string): string {
  const qp = utf8(raw.replace(/=\r?\n/g, "").replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16))));
  const b64 = (raw.match(/(?:^[A-Za-z0-9+/=]{8,}\r?\n)+/gm) ?? []).map((block) =>
    Buffer.from(block.replace(/\s+/g, ""), "base64").toString("utf8"),
  );
  // Decoded first: in the raw text a link may be cut by a soft line break.
  return [qp, ...b64, utf8(raw)].join("\n");
}

/** An encoded header ("=?utf-8?b?…?=" words, a character may straddle two) as text. */
function decodeHeader(value: string): string {
  const word = /=\?utf-8\?([bq])\?([^?]*)\?=/gi;
  const bytes = value.replace(/\?=\s+=\?/g, "?==?").replace(word, (_, enc: string, data: string) =>
    enc.toLowerCase() === "b"
      ? Buffer.from(data, "base64").toString("latin1")
      : data.replace(/_/g, " ").replace(/=([0-9A-F]{2})/gi, (_m, h) => String.fromCharCode(parseInt(h, 16))),
  );
  return utf8(bytes);
}

export interface Mail {
  subject: string;
  /** Every part, decoded. */
  text: string;
}

/** The latest email to `to` that `keep` accepts, as the test SMTP sink
 *  (playwright.config.ts) received it; waits up to 15 s. */
export async function emailTo(to: string, keep: (mail: Mail) => boolean = () => true): Promise<Mail> {
  const fs = await import("node:fs");
  const nodePath = await import("node:path");
  const dir = process.env.PAYLINKS_E2E_MAIL_DIR!;
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith(".eml")).sort().reverse() : [];
    for (const file of files) {
      const raw = fs.readFileSync(nodePath.join(dir, file), "latin1");
      const head = raw.split(/\r?\n\r?\n/)[0].replace(/\r?\n[ \t]+/g, " ");
      if (!/^To: .*$/im.exec(head)?.[0].includes(to)) continue;
      const mail = { subject: decodeHeader(/^Subject: (.*)$/im.exec(head)?.[1] ?? ""), text: emailTexts(raw) };
      if (keep(mail)) return mail;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no such email to ${to} in ${dir}`);
}

/** The `/{path}?token=…` link (path and query) of the latest email to `to`
 *  with one; waits up to 15 s. */
export async function emailedLink(to: string, path: string): Promise<string> {
  const pattern = new RegExp(`/${path}\\?token=([A-Za-z0-9_-]+)`);
  const mail = await emailTo(to, (m) => pattern.test(m.text));
  return `/${path}?token=${mail.text.match(pattern)![1]}`;
}
