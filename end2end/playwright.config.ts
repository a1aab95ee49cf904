import { defineConfig } from "@playwright/test";
import path from "node:path";

// scripts/test picks a free port, a throw-away database and the release binary.
const port = Number(process.env.PAYLINKS_E2E_PORT ?? 3100);
const baseURL = `http://127.0.0.1:${port}`;
const serverBin = process.env.PAYLINKS_BIN ?? "../target/release/paylinks";
const databaseUrl = process.env.PAYLINKS_E2E_DATABASE_URL ?? "sqlite://target/e2e/paylinks.db";
// Every email goes over SMTP to the sink below, which files it here for the specs.
const smtpPort = Number(process.env.PAYLINKS_E2E_SMTP_PORT ?? port + 1);
const mailDir = path.resolve(process.env.PAYLINKS_E2E_MAIL_DIR ?? "../target/e2e/mail");
process.env.PAYLINKS_E2E_MAIL_DIR = mailDir; // the specs' workers read it (fixtures.ts)

export default defineConfig({
  testDir: "./tests",
  timeout: 30_000,
  expect: { timeout: 10_000 },
  fullyParallel: true,
  workers: 2,
  forbidOnly: !!process.env.CI,
  reporter: "list",
  outputDir: "test-results",
  use: {
    baseURL,
    screenshot: "only-on-failure",
    trace: "off",
    launchOptions: {
      executablePath: "/usr/bin/chromium",
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
  webServer: [
    {
      command: "node smtp-sink.mjs",
      port: smtpPort,
      reuseExistingServer: false,
      timeout: 10_000,
      stdout: "pipe",
      stderr: "pipe",
      env: { SMTP_SINK_PORT: String(smtpPort), SMTP_SINK_DIR: mailDir },
    },
    {
      command: `${serverBin} serve`,
      cwd: "..",
      url: `${baseURL}/healthz`,
      reuseExistingServer: false,
      timeout: 60_000,
      stdout: "pipe",
      stderr: "pipe",
      env: {
        PAYLINKS_BIND: `127.0.0.1:${port}`,
        PAYLINKS_PUBLIC_URL: baseURL,
        DATABASE_URL: databaseUrl,
        // Real SMTP to the sink (the zero-config .eml files are tested in Rust).
        PAYLINKS_SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
        RUST_LOG: "warn",
        // Metrics are tested in Rust; no fixed port to collide on.
        PAYLINKS_METRICS_BIND: "off",
        // The webhook test's receiver listens on 127.0.0.1.
        PAYLINKS_WEBHOOK_ALLOW_PRIVATE_NETWORKS: "true",
        // Every spec signs up from 127.0.0.1; the limit itself is tested in Rust.
        PAYLINKS_SIGN_UP_LIMIT: "100000",
        PAYLINKS_CHECKOUT_RATE_LIMIT: "100000",
        PAYLINKS_LOOKUP_RATE_LIMIT: "100000",
      },
    },
  ],
});
