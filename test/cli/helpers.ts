import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";

/** The built CLI (`npm test` builds first). */
export const BIN = fileURLToPath(new URL("../../bin/tasklane.js", import.meta.url));

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * The environment of a child: this one without any Tasklane settings or forced colours, and
 * without the overload guard — on a machine shared with other test runs the load average says
 * nothing about the node under test, and a guard that stops claiming made these tests time out.
 */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith("TASKLANE_") || k === "DATABASE_URL" || k === "FORCE_COLOR" || k === "NO_COLOR") continue;
    env[k] = v;
  }
  return { ...env, TASKLANE_OVERLOAD: "0", ...extra };
}

export function tempDir(prefix = "tasklane-cli-"): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Runs `node bin/tasklane.js ...args` in `cwd` and collects its output. */
export function cli(args: string[], options: { cwd: string; env?: Record<string, string>; timeoutMs?: number }): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd, env: cleanEnv(options.env), stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 45_000);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** A long-running CLI process (a worker) whose output is collected as it arrives. */
export interface Background {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function background(args: string[], options: { cwd: string; env?: Record<string, string> }): Background {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd, env: cleanEnv(options.env), stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout!.setEncoding("utf8").on("data", (d: string) => (out += d));
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal })),
  );
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Polls `probe` until it returns a truthy value; fails with `what` after a generous deadline. */
export async function waitFor<T>(what: string, probe: () => Promise<T | null | undefined | false> | T | null | undefined | false, deadlineMs = 40_000): Promise<T> {
  const end = Date.now() + deadlineMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

/** The CLI's promise for errors a user can cause: exit 1, one `tasklane:` line on stderr, no stack. */
export function expectOneLineError(result: CliResult, message: RegExp): void {
  expect(result.code, `stderr: ${result.stderr}`).toBe(1);
  expect(result.stdout).toBe("");
  const lines = result.stderr.split("\n").filter((l) => l !== "");
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^tasklane: /);
  expect(lines[0]).toMatch(message);
  expect(result.stderr).not.toMatch(/\n\s+at /);
}

/** `show ID --json` parsed. */
export async function showJson(id: string, cwd: string, db: string): Promise<Record<string, any>> {
  const r = await cli(["show", id, "--json", "--db", db], { cwd });
  if (r.code !== 0) throw new Error(`show failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, any>;
}
