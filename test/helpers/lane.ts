import { afterEach, beforeEach } from "vitest";
import path from "node:path";
import { Tasklane, type TasklaneOptions } from "../../src/index.js";
import type { TaskRow } from "../../src/model/task-row.js";
import { tempDir } from "./temp.js";

/** Polls `fn` until it returns a truthy value; fails with `what` after `timeoutMs`. */
export async function waitFor<T>(fn: () => Promise<T> | T, what: string, timeoutMs = 15_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export async function waitForStatus(lane: Tasklane, id: string, statuses: TaskRow["status"][], timeoutMs?: number): Promise<TaskRow> {
  return waitFor(async () => {
    const t = await lane.get(id);
    return t && statuses.includes(t.status) ? t : null;
  }, `task ${id} to be ${statuses.join("|")}`, timeoutMs);
}

/** Lanes on real SQLite files in a temp folder, closed and removed by `cleanup`. */
export function laneFactory() {
  const tmp = tempDir("tasklane-rt-");
  const open: Tasklane[] = [];
  let n = 0;
  return {
    dir: tmp.dir,
    file: (name = `db${++n}`) => path.join(tmp.dir, `${name}.db`),
    async open(options: TasklaneOptions & { file?: string } = {}): Promise<Tasklane> {
      const lane = await Tasklane.open({
        db: `sqlite:${options.file ?? path.join(tmp.dir, `db${++n}.db`)}`,
        ...options,
        worker: { pollIntervalMs: 50, maintenanceMs: 50, overload: false, ...options.worker },
      });
      open.push(lane);
      return lane;
    },
    async cleanup() {
      for (const lane of open.splice(0)) await lane.close({ graceMs: 0 });
      tmp.cleanup();
    },
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A lane factory per test, cleaned up after each: `const lanes = useLanes();` then `lanes().open()`. */
export function useLanes(): () => ReturnType<typeof laneFactory> {
  let lanes: ReturnType<typeof laneFactory>;
  beforeEach(() => {
    lanes = laneFactory();
  });
  afterEach(async () => {
    await lanes.cleanup();
  });
  return () => lanes;
}
