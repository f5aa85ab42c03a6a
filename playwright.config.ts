import os from "node:os";
import path from "node:path";
import { defineConfig } from "@playwright/test";

/**
 * Browser tests of the dashboard (test/browser): Debian's chromium drives the page served by a
 * real `tasklane start`. Never `npx playwright install`: .ci/run installs the `chromium` package.
 * One worker: the machine has two cores and each test file starts its own Tasklane process.
 */
export default defineConfig({
  testDir: "test/browser",
  testMatch: "**/*.spec.ts",
  globalSetup: "./test/browser/global-setup.ts",
  workers: 1,
  fullyParallel: false,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 15_000 },
  // Traces and failure screenshots go to a temp folder, never into the repository.
  outputDir: path.join(os.tmpdir(), "tasklane-playwright"),
  reporter: [["list"]],
  use: {
    browserName: "chromium",
    headless: true,
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
    viewport: { width: 1280, height: 800 },
    colorScheme: "light",
    screenshot: "only-on-failure",
    trace: "off",
  },
});
