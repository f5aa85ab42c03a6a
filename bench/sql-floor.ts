/**
 * Where the drain time goes at the SQL level: claim-and-complete of 20,000 queued no-op tasks
 * straight on better-sqlite3 (no runtime), commits included, WAL, synchronous NORMAL, for a
 * ladder of changes to the statements and schema. Not a test; an experiment to size the
 * suggestions in the benchmark report.
 *
 *   npx tsx bench/sql-floor.ts
 *
 * The schema is the library's (its migrations); the statements are copies of the store's claim
 * and finish as of this writing, then leaner variants.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import Database from "better-sqlite3";
import { Tasklane, defineTask } from "../src/index.js";

const N = 20_000;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tasklane-sqlfloor-"));
const seed = path.join(dir, "seed.db");

// ---------------------------------------------------------------- the store's statements (copies)

const CLAIM_WINDOWED = (indexed: boolean) => `
  WITH allowed(type, slots) AS (SELECT value ->> 0, value ->> 1 FROM json_each(@types)),
  cand AS (
    SELECT t.id, t.type, t.priority, t.run_at, MIN(t.cpu, @cpuCapacity) AS cpu
    FROM tasks t ${indexed ? "INDEXED BY tasks_ready" : ""}
    WHERE t.status = 'queued' AND t.run_at <= @now
      AND t.type IN (SELECT type FROM allowed)
      AND (t.executor IS NULL OR t.executor = @node)
      AND (t.deadline IS NULL OR t.deadline > @now)
      AND t.run_count < t.max_runs
    ORDER BY t.priority, t.run_at, t.id
    LIMIT @scan
  ),
  ranked AS (
    SELECT c.*, ROW_NUMBER() OVER (PARTITION BY c.type ORDER BY c.priority, c.run_at, c.id) AS type_rank FROM cand c
  ),
  fitting AS (
    SELECT r.id,
      SUM(r.cpu) OVER (ORDER BY r.priority, r.run_at, r.id ROWS UNBOUNDED PRECEDING) AS cpu_sum,
      ROW_NUMBER() OVER (ORDER BY r.priority, r.run_at, r.id) AS n
    FROM ranked r JOIN allowed a ON a.type = r.type
    WHERE r.type_rank <= a.slots
  )
  UPDATE tasks SET status = 'running', attempt = attempt + 1, run_count = run_count + 1, node = @node,
    started_at = @now, updated_at = @now, lease_expires_at = @leaseUntil, cancel_requested = 0
  WHERE id IN (SELECT id FROM fitting WHERE cpu_sum <= @cpuFree AND n <= @limit)
  RETURNING *`;

const FINISH_ROW = `UPDATE tasks SET
    status = CASE WHEN @next = 'queued' AND cancel_requested = 1 THEN 'cancelled' ELSE @next END,
    run_at = CASE WHEN @next = 'queued' THEN @runAt ELSE run_at END,
    attempt = attempt - @refund, result = @result, error = @error,
    finished_at = CASE WHEN @next = 'queued' AND cancel_requested = 0 THEN NULL ELSE @now END,
    delete_at = CASE WHEN @next = 'queued' AND cancel_requested = 0 THEN NULL ELSE @now + delete_after_ms END,
    lease_expires_at = NULL, updated_at = @now
  WHERE id = @taskId AND run_count = @runNo AND status = 'running'
  RETURNING status, run_at, attempt, updated_at, finished_at, delete_at`;
const RUN_INSERT = "INSERT INTO runs (task_id, run_no, attempt, node, started_at) VALUES (?, ?, ?, ?, ?)";
const RUN_END = "UPDATE runs SET ended_at = ?, outcome = ?, result = ?, error = ? WHERE task_id = ? AND run_no = ? AND ended_at IS NULL";

// ---------------------------------------------------------------- leaner variants

/** Fast path when no type has a slot limit and no task has a CPU cost: no window functions. */
const LEAN_SELECT = `SELECT id FROM tasks INDEXED BY tasks_ready
  WHERE status = 'queued' AND run_at <= @now AND type IN (SELECT value FROM json_each(@types))
    AND (executor IS NULL OR executor = @node) AND (deadline IS NULL OR deadline > @now) AND run_count < max_runs
  ORDER BY priority, run_at, id LIMIT @limit`;
/** `+status` keeps the planner on the primary key (it otherwise picks an index on status). */
const LEAN_UPDATE = (cols: string) => `UPDATE tasks SET status = 'running', attempt = attempt + 1, run_count = run_count + 1,
    node = @node, started_at = @now, updated_at = @now, lease_expires_at = @leaseUntil, cancel_requested = 0
  WHERE id IN (SELECT value FROM json_each(@ids)) AND +status = 'queued' RETURNING ${cols}`;
const FINISH_SET = `UPDATE tasks SET status = 'succeeded', result = NULL, error = NULL, finished_at = @now,
    delete_at = @now + delete_after_ms, lease_expires_at = NULL, updated_at = @now
  WHERE +status = 'running' AND (id, run_count) IN (SELECT value ->> 0, value ->> 1 FROM json_each(@refs))
  RETURNING id, run_count, attempt, node, started_at`;
const RUN_INSERT_DONE =
  "INSERT INTO runs (task_id, run_no, attempt, node, started_at, ended_at, outcome, result) VALUES (?, ?, ?, ?, ?, ?, 'succeeded', 'null')";
const SLIM_COLUMNS = "id, type, params, attempt, run_count, max_attempts, max_runs, backoff, timeout_ms, cpu, priority, run_at";

interface Variant {
  name: string;
  claim: "windowed" | "windowed-indexed" | "lean";
  finish: "row" | "set";
  /** Finish of the previous batch and the next claim in one transaction. */
  oneTx: boolean;
  /** The run row is inserted once, at finish (the running run is the task row itself). */
  runAtFinish: boolean;
  noRuns?: boolean;
  slimReturning?: boolean;
  dropIndexes?: string[] | "all-but-ready";
}

const STATUS_INDEXES = ["tasks_type_status", "tasks_status_created"];
const VARIANTS: Variant[] = [
  { name: "A store as of HEAD~1 (no INDEXED BY)", claim: "windowed", finish: "row", oneTx: false, runAtFinish: false },
  { name: "B + claim INDEXED BY tasks_ready", claim: "windowed-indexed", finish: "row", oneTx: false, runAtFinish: false },
  { name: "C + lean claim (no window functions)", claim: "lean", finish: "row", oneTx: false, runAtFinish: false },
  { name: "D + set finish, 1 tx, run row at finish", claim: "lean", finish: "set", oneTx: true, runAtFinish: true },
  { name: "E + drop tasks_type_status, tasks_status_created", claim: "lean", finish: "set", oneTx: true, runAtFinish: true, dropIndexes: STATUS_INDEXES },
  { name: "F only PK + tasks_ready indexes", claim: "lean", finish: "set", oneTx: true, runAtFinish: true, dropIndexes: "all-but-ready" },
  { name: "G F + claim RETURNING 12 columns, not *", claim: "lean", finish: "set", oneTx: true, runAtFinish: true, dropIndexes: "all-but-ready", slimReturning: true },
  { name: "H G without any run row", claim: "lean", finish: "set", oneTx: true, runAtFinish: true, dropIndexes: "all-but-ready", slimReturning: true, noRuns: true },
];

function drain(variant: Variant, batch: number): { perSec: number; usPerTask: number } {
  const file = path.join(dir, "run.db");
  for (const s of ["", "-wal", "-shm"]) fs.rmSync(file + s, { force: true });
  fs.copyFileSync(seed, file);
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.pragma("cache_size = -32000");
  const indexes = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'tasks' AND sql IS NOT NULL").pluck().all() as string[]);
  const drop = variant.dropIndexes === "all-but-ready" ? indexes.filter((i) => i !== "tasks_ready") : (variant.dropIndexes ?? []);
  for (const i of drop) db.exec(`DROP INDEX IF EXISTS ${i}`);

  const windowed = variant.claim === "lean" ? null : db.prepare(CLAIM_WINDOWED(variant.claim === "windowed-indexed"));
  const leanSelect = db.prepare(LEAN_SELECT).pluck();
  const leanUpdate = db.prepare(LEAN_UPDATE(variant.slimReturning ? SLIM_COLUMNS : "*"));
  const finishRow = db.prepare(FINISH_ROW);
  const finishSet = db.prepare(FINISH_SET);
  const runInsert = db.prepare(RUN_INSERT);
  const runEnd = db.prepare(RUN_END);
  const runInsertDone = db.prepare(RUN_INSERT_DONE);
  type Claimed = { id: string; run_count: number; attempt: number };

  const claim = (now: number): Claimed[] => {
    const rows = (
      windowed
        ? windowed.all({
            types: JSON.stringify([["noop", 1e9]]),
            now,
            node: "bench",
            scan: batch,
            limit: batch,
            cpuFree: 200,
            cpuCapacity: 200,
            leaseUntil: now + 15_000,
          })
        : leanUpdate.all({
            ids: JSON.stringify(leanSelect.all({ now, types: '["noop"]', node: "bench", limit: batch })),
            node: "bench",
            now,
            leaseUntil: now + 15_000,
          })
    ) as Claimed[];
    if (!variant.runAtFinish && !variant.noRuns) for (const r of rows) runInsert.run(r.id, r.run_count, r.attempt, "bench", now);
    return rows;
  };
  const finish = (rows: Claimed[], now: number): void => {
    if (rows.length === 0) return;
    if (variant.finish === "set") {
      const done = finishSet.all({ now, refs: JSON.stringify(rows.map((r) => [r.id, r.run_count])) }) as Array<
        Claimed & { node: string; started_at: number }
      >;
      if (!variant.noRuns) for (const d of done) runInsertDone.run(d.id, d.run_count, d.attempt, d.node, d.started_at, now);
      return;
    }
    for (const r of rows) {
      finishRow.get({ taskId: r.id, runNo: r.run_count, next: "succeeded", runAt: now, refund: 0, result: "null", error: null, now });
      if (variant.runAtFinish) runInsertDone.run(r.id, r.run_count, r.attempt, "bench", now, now);
      else if (!variant.noRuns) runEnd.run(now, "succeeded", "null", null, r.id, r.run_count);
    }
  };

  let done = 0;
  let prev: Claimed[] = [];
  const t0 = performance.now();
  for (;;) {
    const now = Date.now();
    if (variant.oneTx) {
      const last = prev;
      prev = db.transaction(() => {
        finish(last, now);
        return claim(now);
      }).immediate();
    } else {
      prev = db.transaction(() => claim(now)).immediate();
      const rows = prev;
      db.transaction(() => finish(rows, now)).immediate();
    }
    done += prev.length;
    if (prev.length === 0) break;
  }
  const ms = performance.now() - t0;
  const left = db.prepare("SELECT COUNT(*) FROM tasks WHERE status <> 'succeeded'").pluck().get() as number;
  db.close();
  if (done !== N || left !== 0) throw new Error(`${variant.name}: drained ${done}, ${left} left`);
  return { perSec: (done / ms) * 1000, usPerTask: (ms * 1000) / done };
}

/** The same loop on a 6-column table with one partial index: what SQLite itself allows here. */
function minimal(batch: number): number {
  const file = path.join(dir, "minimal.db");
  for (const s of ["", "-wal", "-shm"]) fs.rmSync(file + s, { force: true });
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.exec(`CREATE TABLE q (id TEXT PRIMARY KEY, status INT NOT NULL, run_at INT NOT NULL, lease INT, attempt INT NOT NULL DEFAULT 0, params TEXT) WITHOUT ROWID;
    CREATE INDEX q_ready ON q (run_at, id) WHERE status = 0;`);
  const ins = db.prepare(`INSERT INTO q (id, status, run_at, params) VALUES (?, 0, ?, '{"i":1}')`);
  db.transaction(() => {
    for (let i = 0; i < N; i++) ins.run("01jxyzabcdefghjkmnpq" + String(i).padStart(6, "0"), i);
  })();
  const claim = db.prepare(`UPDATE q SET status = 1, lease = @lease, attempt = attempt + 1
    WHERE id IN (SELECT id FROM q WHERE status = 0 AND run_at <= @now ORDER BY run_at, id LIMIT @batch) RETURNING id, params, attempt`);
  const done = db.prepare(`UPDATE q SET status = 2, lease = NULL WHERE id IN (SELECT value FROM json_each(@ids)) AND +status = 1`);
  let prev: Array<{ id: string }> = [];
  let n = 0;
  const t0 = performance.now();
  for (;;) {
    const last = prev;
    prev = db.transaction(() => {
      if (last.length) done.run({ ids: JSON.stringify(last.map((r) => r.id)) });
      return claim.all({ lease: 1, now: 1e15, batch }) as Array<{ id: string }>;
    }).immediate();
    n += prev.length;
    if (prev.length === 0) break;
  }
  const ms = performance.now() - t0;
  db.close();
  return (n / ms) * 1000;
}

// ---------------------------------------------------------------- main

{
  const lane = await Tasklane.open({ db: "sqlite:" + seed, synchronous: "normal", tasks: [defineTask({ name: "noop", run: () => null })] });
  for (let b = 0; b < N / 1000; b++) await lane.addMany(Array.from({ length: 1000 }, (_, i) => ({ type: "noop", params: { i } })));
  await lane.close();
  const db = new Database(seed);
  db.pragma("wal_checkpoint(TRUNCATE)");
  db.close();
}

console.log(`SQL-level drain of ${N.toLocaleString("en-US")} queued tasks (no runtime), WAL, synchronous NORMAL, ${os.availableParallelism()} cores, load ${os.loadavg()[0]!.toFixed(2)}`);
try {
  for (const batch of [10, 100]) {
    console.log(`\n  batch ${batch}`);
    for (const v of VARIANTS) {
      const r = drain(v, batch);
      console.log(`    ${v.name.padEnd(52)} ${Math.round(r.perSec).toLocaleString("en-US").padStart(8)} tasks/s  ${r.usPerTask.toFixed(1).padStart(6)} µs/task`);
    }
    console.log(`    ${"minimal 6-column table (SQLite's own ceiling here)".padEnd(52)} ${Math.round(minimal(batch)).toLocaleString("en-US").padStart(8)} tasks/s`);
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
