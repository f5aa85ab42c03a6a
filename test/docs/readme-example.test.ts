/**
 * The README's library example, run as written: copied into a fresh npm project that depends on
 * this package (built: `npm test` builds first), saved as the README says, and run with tsx.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const TSX = path.join(ROOT, "node_modules", ".bin", "tsx");

/** The first ```ts block after "## In your code". */
function readmeExample(): string {
  const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("## In your code"));
  const m = /```ts\n([\s\S]*?)```/.exec(section);
  if (!m) throw new Error("README: no ts block under ## In your code");
  return m[1]!;
}

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "tasklane-readme-"));
  // A default npm project (CommonJS), with tasklane and zod installed.
  fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "readme-example", version: "1.0.0" }));
  fs.mkdirSync(path.join(dir, "node_modules"));
  fs.symlinkSync(ROOT, path.join(dir, "node_modules", "tasklane"), "dir");
  fs.symlinkSync(path.join(ROOT, "node_modules", "zod"), path.join(dir, "node_modules", "zod"), "dir");
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const run = (file: string) => spawnSync(TSX, [file], { cwd: dir, encoding: "utf8", timeout: 60_000, env: { ...process.env, TASKLANE_OVERLOAD: "0" } });

it("runs as example.mts in a default npm project: logs, then the succeeded task with its result", () => {
  fs.writeFileSync(path.join(dir, "example.mts"), readmeExample());
  const r = run("example.mts");
  expect(r.status, r.stderr).toBe(0);
  expect(r.stdout).toMatch(/^info done$/m);
  expect(r.stdout).toMatch(/status: 'succeeded'/);
  expect(r.stdout).toMatch(/result: \{ url: '\/exports\/2026-10\.csv' \}/);
  expect(fs.existsSync(path.join(dir, "tasklane.db"))).toBe(true);
});

it("fails as example.ts in that project, as the README warns", () => {
  fs.writeFileSync(path.join(dir, "example.ts"), readmeExample());
  const r = run("example.ts");
  expect(r.status).not.toBe(0);
  expect(r.stderr).toMatch(/Top-level await is currently not supported with the "cjs" output format/);
  expect(fs.readFileSync(path.join(ROOT, "README.md"), "utf8")).toMatch(/save it as `example\.mts`/);
});
