import type Database from "better-sqlite3";
import type { TaskRow } from "../../model/task-row.js";
import { chooseCandidates } from "../claim-choice.js";
import { FlowAllowance, rateWindows, type FlowBudget } from "../flow-budget.js";
import type { ClaimRequest, ClaimType, DispatchPolicy } from "../store.js";
import { SqlitePart } from "./sqlite-db.js";
import { valuesToTask } from "./sqlite-rows.js";

/** A claim candidate as read from the ready set: [id, type, cpu (capped), fair key, group, priority, run_at]. */
export type Candidate = [string, string, number, string, string | null, number, number];

/** A task's fairness key, as the fair index declares it; `alias` qualifies the columns. */
const fairKeyOf = (alias?: string) => (alias ? `coalesce(${alias}.grp, ${alias}.owner, '')` : "coalesce(grp, owner, '')");

/**
 * Reads claim candidates in the order of a dispatch policy, and the flow-control state the claim
 * must respect. Runs inside the claim's `BEGIN IMMEDIATE`, so nothing changes between reading
 * and taking (SQLite has one writer; counts read here are exact).
 *
 * - `priority`: one walk of `tasks_ready` (priority, run_at, id).
 * - `fifo` and priority aging: a skip scan over the distinct priorities of `tasks_ready`, then
 *   the oldest due tasks of each priority; merged in JS. Within one priority the oldest task is
 *   also the most aged, so the merge is exact. Cost grows with the number of distinct priorities.
 * - `fair`: a skip scan over the distinct fairness keys of `tasks_ready_fair` (starting after the
 *   key served last, wrapping), then each key's best tasks; taken in turns, one per key per turn.
 */
export class SqliteClaimReader {
  private readonly statements = new Map<string, Database.Statement>();
  /** The fairness key served last: the next fair claim starts after it, so every key gets turns. */
  private fairCursor = "";

  constructor(private readonly db: Database.Database) {}

  private statement(key: string, sql: () => string): Database.Statement {
    let stmt = this.statements.get(key);
    if (!stmt) {
      stmt = this.db.prepare(sql());
      this.statements.set(key, stmt);
    }
    return stmt;
  }

  /** Common conditions of a claimable task; `@blocked` (when present) lists [type, group|null] pairs at their limit. */
  private readyWhere(blocked: boolean, t = "t"): string {
    return `${t}.status = 'queued' AND ${t}.run_at <= @now
      AND ${t}.type IN (SELECT value FROM json_each(@types))
      AND (${t}.executor IS NULL OR ${t}.executor = @node)
      AND (${t}.deadline IS NULL OR ${t}.deadline > @now)
      AND ${t}.run_count < ${t}.max_runs
      ${blocked ? `AND NOT EXISTS (SELECT 1 FROM json_each(@blocked) b WHERE b.value ->> 0 = ${t}.type AND (b.value ->> 1 IS NULL OR b.value ->> 1 = ${t}.grp))` : ""}`;
  }

  private columns(): string {
    return `t.id, t.type, MIN(t.cpu, @cpuCapacity) AS cpu, ${fairKeyOf("t")} AS fair_key, t.grp, t.priority, t.run_at`;
  }

  /** Candidates in claim order, at most `scan` (fair: about `scan`, spread over keys). */
  candidates(req: ClaimRequest, types: ClaimType[], blockedPairs: Array<[string, string | null]>, scan: number, now: number): Candidate[] {
    const policy: DispatchPolicy = req.policy ?? { order: "priority", agingMs: null };
    const blocked = blockedPairs.length > 0;
    const args: Record<string, unknown> = {
      types: JSON.stringify(types.map((t) => t.type)),
      now,
      node: req.node,
      scan,
      cpuCapacity: req.cpuCapacity,
    };
    if (blocked) args.blocked = JSON.stringify(blockedPairs);
    if (policy.order === "fair") return this.fairCandidates(args, blocked, scan, req.limit);
    if (policy.order === "fifo" || policy.agingMs !== null) return this.perPriorityCandidates(args, blocked, scan, policy, now);
    const stmt = this.statement(`priority:${blocked}`, () => `SELECT ${this.columns()}
        -- Walk the ready set in claim order and stop at the limit. Without INDEXED BY the planner
        -- may pick another index and sort every queued row on each claim: O(n log n).
        FROM tasks t INDEXED BY tasks_ready
        WHERE ${this.readyWhere(blocked)}
        ORDER BY t.priority, t.run_at, t.id
        LIMIT @scan`);
    return stmt.raw(true).all(args) as Candidate[];
  }

  private perPriorityCandidates(args: Record<string, unknown>, blocked: boolean, scan: number, policy: DispatchPolicy, now: number): Candidate[] {
    const priorities = this.statement("priorities", () => `WITH RECURSIVE p(v) AS (
          SELECT (SELECT priority FROM tasks INDEXED BY tasks_ready WHERE status = 'queued' ORDER BY priority LIMIT 1)
          UNION ALL
          SELECT (SELECT priority FROM tasks INDEXED BY tasks_ready WHERE status = 'queued' AND priority > p.v ORDER BY priority LIMIT 1)
          FROM p WHERE p.v IS NOT NULL
        )
        SELECT v FROM p WHERE v IS NOT NULL LIMIT 10000`);
    const head = this.statement(`head:${blocked}`, () => `SELECT ${this.columns()}
        FROM tasks t INDEXED BY tasks_ready
        WHERE t.priority = @priority AND ${this.readyWhere(blocked)}
        ORDER BY t.run_at, t.id
        LIMIT @scan`);
    const all: Candidate[] = [];
    for (const priority of priorities.pluck(true).all() as number[]) {
      all.push(...(head.raw(true).all({ ...args, priority }) as Candidate[]));
    }
    const byAge = (a: Candidate, b: Candidate) => a[6] - b[6] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
    if (policy.order === "fifo") return all.sort(byAge).slice(0, scan);
    const aging = policy.agingMs!;
    const effective = (c: Candidate) => c[5] - Math.floor((now - c[6]) / aging);
    return all.sort((a, b) => effective(a) - effective(b) || byAge(a, b)).slice(0, scan);
  }

  /** Up to `count` fairness keys after `after` in key order (any queued task counts, due or not). */
  private keysAfter(after: string, count: number): string[] {
    const K = fairKeyOf();
    return this.statement("fairKeys", () => `WITH RECURSIVE k(v) AS (
          SELECT (SELECT ${K} FROM tasks INDEXED BY tasks_ready_fair WHERE status = 'queued' AND ${K} > @after ORDER BY 1 LIMIT 1)
          UNION ALL
          SELECT (SELECT ${K} FROM tasks INDEXED BY tasks_ready_fair WHERE status = 'queued' AND ${K} > k.v ORDER BY 1 LIMIT 1)
          FROM k WHERE k.v IS NOT NULL
        )
        SELECT v FROM k WHERE v IS NOT NULL LIMIT @keys`).pluck(true).all({ after, keys: count }) as string[];
  }

  /** Whether the shared key '' (tasks with neither group nor owner) has queued tasks: `keysAfter` never returns it. */
  private hasEmptyKey(): boolean {
    const K = fairKeyOf();
    return this.statement("fairEmpty", () => `SELECT 1 FROM tasks INDEXED BY tasks_ready_fair WHERE status = 'queued' AND ${K} = '' LIMIT 1`)
      .pluck(true)
      .get() !== undefined;
  }

  /**
   * Fair candidates: rounds of `limit` keys from the cursor on, wrapping once, until the claim's
   * worth of candidates is found or every key was seen. The key scan cannot tell which keys have
   * something claimable now (due, of the types asked for, not blocked), so a round may find
   * nothing; moving on keeps such keys from stalling the others. At most 8 rounds per claim;
   * when nothing at all is found the cursor moves past the keys examined, so the next claim goes on
   * from there.
   */
  private fairCandidates(args: Record<string, unknown>, blocked: boolean, scan: number, limit: number): Candidate[] {
    const wanted = Math.max(1, limit);
    const out: Candidate[] = [];
    const seen = new Set<string>();
    let cursor = this.fairCursor;
    let wrapped = false;
    for (let round = 0; round < 8 && out.length < scan; round++) {
      const keys = this.keysAfter(cursor, wanted).filter((k) => !seen.has(k));
      if (keys.length < wanted && !wrapped) {
        // The end of the key order: go on from the start ('' first), up to the keys already seen.
        wrapped = true;
        const fromStart = [...(this.hasEmptyKey() ? [""] : []), ...this.keysAfter("", wanted)];
        for (const k of fromStart) if (keys.length < wanted && !seen.has(k) && !keys.includes(k)) keys.push(k);
      }
      if (keys.length === 0) break;
      for (const k of keys) seen.add(k);
      out.push(...this.headsInTurns(args, blocked, keys, Math.max(1, Math.ceil((scan - out.length) / keys.length)), scan - out.length));
      cursor = keys[keys.length - 1]!;
      if (wrapped && keys.length < wanted) break;
    }
    if (out.length === 0 && seen.size > 0) this.fairCursor = cursor;
    return out.slice(0, scan);
  }

  /** The best claimable tasks of each key, taken in turns: every key's first, then every key's second, ... */
  private headsInTurns(args: Record<string, unknown>, blocked: boolean, keys: string[], perKey: number, want: number): Candidate[] {
    // Each key's best tasks in one statement: a correlated, limited walk of the fair index per key.
    const heads = this.statement(`fairHeads:${blocked}`, () => `SELECT ${this.columns()}, k.key AS key_no
        FROM json_each(@keys) k JOIN tasks t ON t.rowid IN (
          SELECT h.rowid FROM tasks h INDEXED BY tasks_ready_fair
          WHERE ${fairKeyOf("h")} = k.value AND ${this.readyWhere(blocked, "h")}
          -- The key is fixed by the equality: ordering by it too makes SQLite sort (measured 7x).
          ORDER BY h.priority, h.run_at, h.id
          LIMIT @perKey)
        ORDER BY k.key, t.priority, t.run_at, t.id`);
    let rows = heads.raw(true).all({ ...args, keys: JSON.stringify(keys), perKey }) as Array<[...Candidate, number]>;
    if (rows.length < want && perKey < want) {
      // Some keys had fewer claimable tasks than their share: read again with the whole want per
      // key, so the claim fills from the keys that have more.
      rows = heads.raw(true).all({ ...args, keys: JSON.stringify(keys), perKey: want }) as Array<[...Candidate, number]>;
    }
    const byKey: Candidate[][] = keys.map(() => []);
    for (const row of rows) byKey[row[7]]!.push(row.slice(0, 7) as Candidate);
    const out: Candidate[] = [];
    const turns = Math.max(0, ...byKey.map((h) => h.length));
    for (let turn = 0; turn < turns; turn++) {
      for (const head of byKey) if (head[turn]) out.push(head[turn]!);
    }
    return out;
  }

  /** Remembers the last key served, so the next fair claim starts after it. */
  servedFairKey(key: string): void {
    this.fairCursor = key;
  }

  /** Running counts and recent starts of the limited types, read once per claim. */
  flowBudget(types: ClaimType[], now: number): FlowBudget | null {
    const limited = types.filter((t) => t.flow);
    if (limited.length === 0) return null;
    const running = this.statement("flowRunning", () => `SELECT type, grp, COUNT(*) AS n FROM tasks INDEXED BY tasks_lease
        WHERE status = 'running' AND lease_expires_at IS NOT NULL AND type IN (SELECT value FROM json_each(@types))
        GROUP BY type, grp`).all({ types: JSON.stringify(limited.map((t) => t.type)) }) as Array<{ type: string; grp: string | null; n: number }>;
    const starts: FlowBudget["starts"] = [];
    // Index ranges over (type, grp, at): a window never holds more rows of a scope than its limit.
    const typeStarts = this.statement("flowTypeStarts", () =>
      "SELECT COUNT(*) FROM flow_starts WHERE type = @type AND grp = '' AND at > @since",
    ).pluck(true);
    const groupStarts = this.statement("flowGroupStarts", () =>
      "SELECT grp, COUNT(*) AS n FROM flow_starts WHERE type = @type AND grp > '' AND at > @since GROUP BY grp",
    );
    for (const w of rateWindows(limited)) {
      const since = now - w.windowMs;
      if (!w.perGroup) starts.push({ type: w.type, grp: null, n: typeStarts.get({ type: w.type, since }) as number });
      else for (const r of groupStarts.all({ type: w.type, since }) as Array<{ grp: string; n: number }>) starts.push({ type: w.type, grp: r.grp, n: r.n });
    }
    return { running, starts };
  }

  /** Records the starts of rate-limited tasks: one row per start and scope. */
  recordStarts(rows: Array<[type: string, grp: string, expiresAt: number]>, now: number): void {
    if (rows.length === 0) return;
    this.statement("flowRecord", () => `INSERT INTO flow_starts (type, grp, at, expires_at)
        SELECT value ->> 0, value ->> 1, @now, value ->> 2 FROM json_each(@rows)`).run({ now, rows: JSON.stringify(rows) });
  }
}

/** The take of a claim. */
function claimStatements(db: Database.Database) {
  return {
    // +status: keeps the planner on the primary key for the id list.
    // Read inside the claim's transaction: a pause committed by any process holds from then on.
    // A few rows at most (usually none): ~1 µs per claim, not per task.
    pausedTypes: db.prepare("SELECT type FROM paused_types").pluck(true),
    claimTake: db.prepare(`UPDATE tasks SET status = 'running', attempt = attempt + 1, run_count = run_count + 1, node = @node,
        started_at = @now, updated_at = @now, lease_expires_at = @leaseUntil, cancel_requested = 0
      WHERE id IN (SELECT value FROM json_each(@ids)) AND +status = 'queued'
      RETURNING *`).raw(true),
  };
}

/** Claims: candidates read in the policy's order, chosen by slots, CPU and flow limits, taken. */
export class SqliteClaims extends SqlitePart {
  private readonly claimReader = new SqliteClaimReader(this.db);
  private prepared: ReturnType<typeof claimStatements> | null = null;

  /** Prepared on first use, once the schema exists. */
  private get stmt(): ReturnType<typeof claimStatements> {
    this.prepared ??= claimStatements(this.db);
    return this.prepared;
  }

  async taskClaim(req: ClaimRequest): Promise<TaskRow[]> {
    if (req.limit <= 0 || req.types.length === 0) return [];
    return this.write(false, () => this.claimSync(req));
  }

  /** A claim inside the caller's transaction (also written with a batch of finishes). */
  claimSync(request: ClaimRequest): TaskRow[] {
    const paused = this.stmt.pausedTypes.all() as string[];
    const req = paused.length ? { ...request, types: request.types.filter((t) => !paused.includes(t.type)) } : request;
    if (req.types.length === 0) return [];
    const now = Date.now();
    const budget = this.claimReader.flowBudget(req.types, now);
    const allowance = budget ? new FlowAllowance(req.types, budget) : null;
    const blocked = allowance?.blockedPairs() ?? [];
    const blockedTypes = new Set(blocked.filter(([, g]) => g === null).map(([t]) => t));
    const types = blockedTypes.size ? req.types.filter((t) => !blockedTypes.has(t.type)) : req.types;
    if (types.length === 0) return [];
    // With per-type or flow limits some candidates are passed over, so look a little further.
    const limited = allowance !== null || types.some((t) => Number.isFinite(t.slots));
    const scan = limited ? Math.min(req.limit * 4, 2000) : req.limit;
    const candidates = this.claimReader.candidates(req, types, blocked.filter(([, g]) => g !== null), scan, now);
    const { ids, taken, lastFairKey } = chooseCandidates(
      candidates.map(([id, type, cpu, fairKey, group]) => ({ id, type, cpu, fairKey, group })),
      types,
      req.limit,
      req.cpuFree,
      allowance,
    );
    if (ids.length === 0) return [];
    if (req.policy?.order === "fair" && lastFairKey !== null) this.claimReader.servedFairKey(lastFairKey);
    if (allowance) this.claimReader.recordStarts(allowance.startRows(taken, now), now);
    const rows = this.stmt.claimTake.all({ ids: JSON.stringify(ids), node: req.node, now, leaseUntil: now + req.leaseMs }) as unknown[][];
    // In the policy's order (the candidates' order).
    const order = new Map(ids.map((id, i) => [id, i]));
    return rows.map((values) => valuesToTask(values, this.cols, now)).sort((a, b) => order.get(a.id)! - order.get(b.id)!);
  }
}
