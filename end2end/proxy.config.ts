import { defineConfig } from "@playwright/test";
import base from "./playwright.config";

// The smoke test through nginx in front of two app servers (scripts/test-proxy
// starts them all and sets PAYLINKS_PROXY_URL). The certificate is a
// throw-away self-signed one, trusted here only.
const baseURL = process.env.PAYLINKS_PROXY_URL ?? "https://localhost:8443";

export default defineConfig({
  ...base,
  testDir: "./proxy",
  workers: 1,
  webServer: undefined,
  use: {
    ...base.use,
    baseURL,
    ignoreHTTPSErrors: true,
    launchOptions: {
      ...base.use!.launchOptions,
      // Customer pages open in contexts of their own, which do not inherit ignoreHTTPSErrors.
      args: [...(base.use!.launchOptions!.args ?? []), "--ignore-certificate-errors"],
    },
  },
});
