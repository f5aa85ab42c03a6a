/**
 * The documented stop recipe through npx: `npx tasklane start & pid=$!; kill -TERM $pid`. `$!` is
 * npm, which does not pass SIGTERM on; the node must still stop (it watches its launcher).
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, expect, it } from "vitest";
import { cleanEnv, tempDir, waitFor } from "./helpers.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

let dir: string;
let nodePid: number | null = null;
beforeEach(() => {
  dir = tempDir("tasklane-npx-");
  // A project with tasklane installed: its bin is what npx runs.
  fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "npx-stop", version: "1.0.0" }));
  fs.mkdirSync(path.join(dir, "node_modules", ".bin"), { recursive: true });
  fs.symlinkSync(ROOT, path.join(dir, "node_modules", "tasklane"), "dir");
  fs.symlinkSync("../tasklane/bin/tasklane.js", path.join(dir, "node_modules", ".bin", "tasklane"));
});
afterEach(() => {
  // Never leave an orphaned node behind, whatever happened.
  if (nodePid !== null && alive(nodePid)) process.kill(nodePid, "SIGKILL");
  nodePid = null;
  fs.rmSync(dir, { recursive: true, force: true });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

it("kill -TERM on npx's pid stops the node gracefully instead of leaving it with parent 1", async () => {
  const npx = spawn("npx", ["--no", "tasklane", "start", "--port", "0", "--db", `sqlite:${path.join(dir, "t.db")}`], {
    cwd: dir,
    env: cleanEnv(),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  npx.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
  npx.stderr.setEncoding("utf8").on("data", () => {});
  const started = await waitFor("the node to start", () => /"msg":"tasklane started"/.test(out) && out);
  nodePid = Number(/"pid":(\d+)/.exec(started)![1]);
  expect(nodePid).not.toBe(npx.pid);
  npx.kill("SIGTERM");
  await waitFor("the node to stop", () => !alive(nodePid!), 20_000);
  expect(out).toMatch(/npx \(npm exec\), which started this node, has ended: stopping as on SIGTERM/);
  expect(out).toMatch(/"msg":"stopped"/);
});
