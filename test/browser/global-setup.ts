import fs from "node:fs";
import { fileURLToPath } from "node:url";

/**
 * Fails the run (never skips it) when what the browser tests need is missing, with the fix:
 * Debian's chromium, and the built CLI and dashboard (`npm run build`).
 */
export default function globalSetup(): void {
  if (!fs.existsSync("/usr/bin/chromium")) {
    throw new Error("browser tests: /usr/bin/chromium is missing; install it with `apt-get install -y chromium` (.ci/run does)");
  }
  const index = fileURLToPath(new URL("../../dist/dashboard/index.html", import.meta.url));
  if (!fs.existsSync(index)) throw new Error("browser tests: the dashboard is not built; run `npm run build` first");
}
