import { afterEach, beforeEach } from "vitest";
import path from "node:path";
import { Tasklane, type Isolation, type TasklaneOptions } from "../../src/index.js";
import { Probe } from "../fixtures/runtime/probe.js";
import type { TaskRow } from "../../src/model/task-row.js";
import { schemaFactory, TEST_PG_URL } from "./postgres.js";
import { tempDir } from "./temp.js";

/** Every backend the runtime tests run on. */
export const BACKENDS = ["sqlite", "postgres"] as const;
export type Backend = (typeof BACKENDS)[number];

/**
 * The modes the runtime suites about handlers run in on `backend`: the same tests, handlers
 * inline and in a worker-thread pool (their handlers live in test/fixtures/runtime/tasks.ts and
 * report through the probe). `thread` on SQLite only: the isolated invoker sits between the
 * worker and the handler, the same code whatever the store, and PostgreSQL's own paths (claim
 * batches, fetch-ahead, notifications) run isolated in test/cluster (PostgreSQL, none and thread)
 * and test/runtime/isolation.test.ts (both stores, thread and process). Measured on the project's
 * machine (2 shared cores, loaded): the five suites' thread variants cost 111 s of test time on
 * SQLite and 151 s more on PostgreSQL; the five files took 98 s of wall in none mode only, 252 s
 * with thread on both stores, 138 s (with bounds.test.ts) with thread on SQLite only.
 */
export function runtimeIsolations(backend: Backend): readonly Isolation[] {
  return backend === "sqlite" ? ["none", "thread"] : ["none"];
}

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

/** The URL with `schema` set, whatever query string it already has. */
function withSchema(url: string, schema: string): string {
  const u = new URL(url);
  u.searchParams.set("schema", schema);
  return u.toString();
}

/**
 * Lanes on real databases, closed and removed by `cleanup`: SQLite files in a temp folder, or
 * PostgreSQL schemas. `file()` names a fresh database (a `db` URL); lanes opened with the same
 * `file` share it, like processes sharing a database.
 */
export function laneFactory(backend: Backend = "sqlite", isolation: Isolation = "none") {
  const tmp = tempDir("tasklane-rt-");
  const schemas = schemaFactory("tl_rt");
  const open: Tasklane[] = [];
  let n = 0;
  const file = (name = `db${++n}`) =>
    backend === "sqlite" ? `sqlite:${path.join(tmp.dir, `${name}.db`)}` : withSchema(TEST_PG_URL, schemas.next());
  return {
    backend,
    dir: tmp.dir,
    file,
    async open(options: TasklaneOptions & { file?: string } = {}): Promise<Tasklane> {
      const lane = await Tasklane.open({
        db: options.file ?? file(),
        ...options,
        worker: { pollIntervalMs: 50, maintenanceMs: 50, overload: false, isolation, ...options.worker },
      });
      open.push(lane);
      return lane;
    },
    async cleanup() {
      for (const lane of open.splice(0)) await lane.close({ graceMs: 0 });
      tmp.cleanup();
      await schemas.dropAll();
    },
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A lane factory per test, cleaned up after each: `const lanes = useLanes();` then
 * `lanes().open()`. Its lanes' workers run handlers in `isolation` unless a test says otherwise.
 */
export function useLanes(backend: Backend = "sqlite", isolation: Isolation = "none"): () => ReturnType<typeof laneFactory> {
  let lanes: ReturnType<typeof laneFactory>;
  beforeEach(() => {
    lanes = laneFactory(backend, isolation);
  });
  afterEach(async () => {
    await lanes.cleanup();
  });
  return () => lanes;
}

/** A probe per test (what handlers of test/fixtures/runtime/tasks.ts say, and their gates): `const probe = useProbe();` then `probe()`. */
export function useProbe(): () => Probe {
  let probe: Probe;
  beforeEach(() => {
    probe = new Probe();
  });
  afterEach(() => {
    probe.close();
  });
  return () => probe;
}
