/**
 * `tasklane worker --isolation …` from the built CLI: a task folder's handler runs in a runner
 * (loaded by its file path), and a handler that calls process.exit ends only its run.
 */
import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { background, cli, showJson, tempDir, waitFor, type Background } from "./helpers.js";

const TASK = `export default {
  name: "exiter",
  attempts: 2,
  backoff: { type: "fixed", delay: 10, jitter: 0 },
  run(ctx) {
    if (ctx.attempt === 1) process.exit(0);
    return { pid: process.pid, attempt: ctx.attempt };
  },
};
`;

let worker: Background | null = null;
afterEach(() => {
  if (worker && worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill("SIGKILL");
  worker = null;
});

for (const mode of ["thread", "process"] as const) {
  describe(`tasklane worker --isolation ${mode}`, () => {
    it("runs a task folder's handler in a runner; its process.exit fails only that run", async () => {
      const dir = tempDir();
      try {
        fs.mkdirSync(path.join(dir, "tasks"));
        fs.writeFileSync(path.join(dir, "tasks", "exiter.mjs"), TASK);
        const db = `sqlite:${path.join(dir, "x.db")}`;
        worker = background(["worker", "--db", db, "--isolation", mode, "--tasks", "tasks"], { cwd: dir });
        await waitFor("the worker to start", () => worker!.stdout().includes('"msg":"worker started"') || worker!.child.exitCode !== null);
        expect(worker.child.exitCode, worker.stderr()).toBeNull();
        expect(worker.stdout()).toContain(`"isolation":"${mode}"`);
        const added = await cli(["add", "exiter", "--db", db], { cwd: dir });
        expect(added.code, added.stderr).toBe(0);
        const id = added.stdout.trim();
        const task = await waitFor("the task to end", async () => {
          const t = await showJson(id, dir, db);
          return ["succeeded", "failed"].includes(t.status) ? t : null;
        });
        expect(task.status).toBe("succeeded");
        expect(task.result.attempt).toBe(2);
        if (mode === "process") expect(task.result.pid).not.toBe(worker.child.pid);
        expect(worker.child.exitCode).toBeNull();
        // Its heartbeat (every 5 s) carries its runners, the one the exit took counted as replaced.
        const runners = await waitFor("the node to report its runners", async () => {
          const r = await cli(["nodes", "--json", "--db", db], { cwd: dir });
          const node = (JSON.parse(r.stdout) as { nodes: Array<{ runners: { size: number; replaced: number } | null }> }).nodes[0];
          return node?.runners && node.runners.replaced >= 1 ? node.runners : null;
        });
        expect(runners.size).toBeGreaterThanOrEqual(1);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}

it("refuses an unknown --isolation mode, naming the choices", async () => {
  const dir = tempDir();
  try {
    const r = await cli(["worker", "--isolation", "fork", "--db", `sqlite:${path.join(dir, "x.db")}`], { cwd: dir });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/--isolation.*fork.*none, thread, process/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

const STRAY = `export default [
  {
    name: "stray",
    attempts: 2,
    backoff: { type: "fixed", delay: 10, jitter: 0 },
    async run(ctx) {
      if (ctx.attempt === 1 && ctx.params.how === "timer") setTimeout(() => { throw new Error("thrown in a timer"); }, 1);
      if (ctx.attempt === 1 && ctx.params.how === "rejection") void Promise.reject(new Error("nobody handles me"));
      await new Promise((r) => setTimeout(r, ctx.attempt === 1 ? 60_000 : 1));
      return { attempt: ctx.attempt };
    },
  },
  {
    name: "neighbour",
    async run() {
      await new Promise((r) => setTimeout(r, 1500));
      return "fine";
    },
  },
];
`;

describe("tasklane worker (isolation none)", () => {
  it("fails only the run whose handler threw in a timer or left a rejection unhandled; the node and its other runs carry on", async () => {
    const dir = tempDir();
    try {
      fs.mkdirSync(path.join(dir, "tasks"));
      fs.writeFileSync(path.join(dir, "tasks", "stray.mjs"), STRAY);
      const db = `sqlite:${path.join(dir, "x.db")}`;
      worker = background(["worker", "--db", db, "--tasks", "tasks"], { cwd: dir });
      await waitFor("the worker to start", () => worker!.stdout().includes('"msg":"worker started"') || worker!.child.exitCode !== null);
      expect(worker.child.exitCode, worker.stderr()).toBeNull();
      const add = async (...args: string[]) => {
        const r = await cli(["add", ...args, "--db", db], { cwd: dir });
        expect(r.code, r.stderr).toBe(0);
        return r.stdout.trim();
      };
      const neighbour = await add("neighbour");
      const timer = await add("stray", "--params", '{"how":"timer"}');
      const rejection = await add("stray", "--params", '{"how":"rejection"}');
      const ended = (id: string) =>
        waitFor(`task ${id} to end`, async () => {
          const t = await showJson(id, dir, db);
          return ["succeeded", "failed"].includes(t.status) ? t : null;
        });
      for (const [id, message] of [
        [timer, "uncaught exception: Error: thrown in a timer"],
        [rejection, "unhandled rejection: Error: nobody handles me"],
      ] as const) {
        const task = await ended(id);
        expect(task.status).toBe("succeeded");
        expect(task.result).toEqual({ attempt: 2 });
        const runs = task.runs as Array<{ outcome: string; error: { name: string; message: string } | null }>;
        expect(runs.map((r) => r.outcome)).toEqual(["failed", "succeeded"]);
        expect(runs[0]!.error).toMatchObject({ name: "HandlerCrashError", message });
      }
      const other = await ended(neighbour);
      expect(other).toMatchObject({ status: "succeeded", result: "fine", attempt: 1 });
      expect(worker.child.exitCode).toBeNull();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
