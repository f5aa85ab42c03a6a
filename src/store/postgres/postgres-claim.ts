import pg from "pg";
import type { TaskRow } from "../../model/task-row.js";
import { chooseCandidates } from "../claim-choice.js";
import { FlowAllowance, rateWindows } from "../flow-budget.js";
import type { ClaimRequest, ClaimType, DispatchPolicy } from "../store.js";
import { PgPart } from "./postgres-db.js";
import { type PgRow, pgRowToTask } from "./postgres-rows.js";
import { changedEvents, insertTaskEvents } from "./postgres-task-events.js";

/**
 * PostgreSQL claim statements, one per dispatch policy. Each is one statement: candidates are
 * locked with `FOR UPDATE SKIP LOCKED` (other nodes' claims pass them by), chosen by per-type
 * slots and CPU fit in window functions, and taken. Parameters:
 * $1 types, $2 free slots per type, $3 node, $4 scan, $5 limit, $6 CPU capacity, $7 CPU free,
 * $8 lease ms, $9 aging ms (aging) or the fair rotation cursor (fair).
 */

const FAIR_KEY = "coalesce(grp, owner, '')";

/**
 * The first fairness key of a queued task that satisfies `bound` (e.g. `> $1`): one step of the
 * skip scan, a function of migration 6 that may only walk tasks_ready_fair (see there).
 */
function nextFairKey(S: string, bound: string): string {
  const [, op, after] = /^(>=?) (.+)$/.exec(bound)!;
  return `${S}.tasklane_next_fair_key(${after}, ${op === ">=" ? "true" : "false"})`;
}

/**
 * The `$2`-th fairness key after `$1` (or the last there is) and how many were found: where a
 * fair claim that came back short goes on from.
 */
export function fairKeyAdvanceStatement(S: string): string {
  return `WITH RECURSIVE k(v, n) AS (
          SELECT ${nextFairKey(S, "> $1")}, 1
          UNION ALL
          SELECT ${nextFairKey(S, "> k.v")}, k.n + 1 FROM k WHERE k.v IS NOT NULL AND k.n < $2
        )
        SELECT v, n FROM k WHERE v IS NOT NULL ORDER BY n DESC LIMIT 1`;
}

/** Conditions of a claimable task (columns unqualified, of `tasks`). */
export function claimWhere(): string {
  return `status = 'queued' AND run_at <= now()::timestamptz(3) AND type = ANY($1::text[])
        AND (executor IS NULL OR executor = $3) AND (deadline IS NULL OR deadline > now()) AND run_count < max_runs`;
}

const CANDIDATE_COLUMNS = `id, type, priority, run_at, LEAST(cpu, $6) AS cpu, grp, ${FAIR_KEY} AS fair_key`;

/**
 * The candidates CTE(s) of a policy, ending in `cand`, and the order of a policy as window
 * ORDER BY terms. `lock` adds FOR UPDATE SKIP LOCKED (the one-statement claim; the flow-limited
 * claim is serialised by its advisory lock instead).
 */
function candidates(S: string, policy: DispatchPolicy, extraWhere: string, lock = true): { ctes: string; order: string } {
  const where = `${claimWhere()}${extraWhere}`;
  const forUpdate = lock ? "FOR UPDATE SKIP LOCKED" : "";
  if (policy.order === "fair") {
    // A skip scan over the distinct fairness keys after the cursor (wrapping to the start), then
    // each key's best tasks; taken in turns: every key's first, then every key's second, ...
    return {
      ctes: `after_cursor(v, n) AS (
          SELECT ${nextFairKey(S, "> $9")}, 1
          UNION ALL
          SELECT ${nextFairKey(S, "> a.v")}, a.n + 1 FROM after_cursor a WHERE a.v IS NOT NULL AND a.n < $5
        ),
        from_start(v, n) AS (
          SELECT ${nextFairKey(S, ">= ''")}, 1
          UNION ALL
          SELECT ${nextFairKey(S, "> f.v")}, f.n + 1 FROM from_start f WHERE f.v IS NOT NULL AND f.v <= $9 AND f.n < $5
        ),
        fair_keys AS (
          SELECT v, n FROM after_cursor WHERE v IS NOT NULL
          UNION ALL
          SELECT v, n + 1000000 FROM from_start WHERE v IS NOT NULL AND v <= $9
          ORDER BY n LIMIT $5
        ),
        cand AS (
          SELECT c.*, k.n AS key_no, row_number() OVER (PARTITION BY c.fair_key ORDER BY c.priority, c.run_at, c.id) AS turn
          FROM fair_keys k CROSS JOIN LATERAL (
            SELECT ${CANDIDATE_COLUMNS} FROM ${S}.tasks
            WHERE ${FAIR_KEY} = k.v AND ${where}
            ORDER BY ${FAIR_KEY}, priority, run_at, id
            LIMIT GREATEST(1, CEIL($4::float8 / GREATEST(1, (SELECT count(*) FROM fair_keys))))::bigint
            ${forUpdate}
          ) c
        )`,
      order: "r.turn, r.key_no, r.priority, r.run_at, r.id",
    };
  }
  if (policy.order === "fifo" || policy.agingMs !== null) {
    // A skip scan over the distinct priorities, then the oldest due tasks of each: within one
    // priority the oldest is also the most aged, so ordering the union is exact.
    const order =
      policy.order === "fifo"
        ? "r.run_at, r.id"
        : "(r.priority - floor(extract(epoch FROM (now() - r.run_at)) * 1000 / $9::float8)), r.run_at, r.id";
    return {
      ctes: `prios(v) AS (
          SELECT (SELECT priority FROM ${S}.tasks WHERE status = 'queued' ORDER BY priority LIMIT 1)
          UNION ALL
          SELECT (SELECT priority FROM ${S}.tasks WHERE status = 'queued' AND priority > p.v ORDER BY priority LIMIT 1)
          FROM prios p WHERE p.v IS NOT NULL
        ),
        cand AS (
          SELECT c.* FROM prios p CROSS JOIN LATERAL (
            SELECT ${CANDIDATE_COLUMNS} FROM ${S}.tasks
            WHERE priority = p.v AND ${where}
            ORDER BY priority, run_at, id
            LIMIT $4
            ${forUpdate}
          ) c WHERE p.v IS NOT NULL
        )`,
      order,
    };
  }
  // One walk of tasks_ready in claim order. Stale statistics (an ANALYZE that saw an empty queue)
  // once made the planner read every queued task through a partial index on (type) and sort them,
  // on every claim; migration 6 replaced that index, and a test checks the plan under such
  // statistics. A LATERAL per type over tasks_ready_type was tried too: same protection, but it
  // halved the drain (bench:pg c10×1: 3,344–4,708 against 6,853–7,234 tasks/s).
  return {
    ctes: `cand AS (
          SELECT ${CANDIDATE_COLUMNS} FROM ${S}.tasks
          WHERE ${where}
          ORDER BY priority, run_at, id
          LIMIT $4
          ${forUpdate}
        )`,
    order: "r.priority, r.run_at, r.id",
  };
}

/** The one-statement claim of a policy. */
export function claimStatement(S: string, policy: DispatchPolicy): string {
  const { ctes, order } = candidates(S, policy, "");
  return `WITH RECURSIVE ${ctes},
        ranked AS (SELECT c.*, row_number() OVER (PARTITION BY c.type ORDER BY ${order.replaceAll("r.", "c.")}) AS rk FROM cand c),
        fit AS (
          SELECT r.id, r.fair_key, sum(r.cpu) OVER w AS cpu_sum, row_number() OVER w AS n
          FROM ranked r JOIN unnest($1::text[], $2::int[]) AS a(type, slots) ON a.type = r.type
          WHERE r.rk <= a.slots
          WINDOW w AS (ORDER BY ${order})
        ),
        claimed AS (
          UPDATE ${S}.tasks t SET status = 'running', attempt = t.attempt + 1, run_count = t.run_count + 1, node = $3,
            started_at = now(), updated_at = now(), lease_expires_at = now() + $8 * interval '1 millisecond', cancel_requested = false
          FROM fit WHERE t.id = fit.id AND fit.cpu_sum <= $7 AND fit.n <= $5 AND ${notPaused(S)}
          RETURNING t.*, fit.n AS claim_no, fit.fair_key
        ),
        -- The 'started' events in this statement, one insert for the batch: no per-row trigger
        -- call (measured cost and saving in postgres-task-events.ts).
        claimed_events AS (${startedEvents(S, "claimed")})
        SELECT * FROM claimed`;
}

/**
 * The take's guard against paused types (migration 9). The claim's type list already leaves out
 * the types this node knows are paused (`PgClaims.pausedTypes`); this makes a pause committed
 * since that list was read hold too, so a pause is exact from the moment it returns. An InitPlan:
 * the (tiny) table is read once per statement, and each taken row is compared with that array,
 * empty while nothing is paused; it touches neither the candidate walk nor its plan. Measured
 * (EXPLAIN ANALYZE, 2 shared cores, nothing paused): 0.007 ms median per claim of 100 tasks whose
 * execution took 18 ms; timed from the client, claims with and without it were within the noise.
 */
function notPaused(S: string, alias = "t"): string {
  return `${alias}.type <> ALL (ARRAY(SELECT type FROM ${S}.paused_types))`;
}

/**
 * The 'started' events of the tasks a claim took (`rows`, a CTE returning the claimed rows): a
 * claim only takes queued tasks. Written by the claim statement itself, as one insert per batch,
 * in place of the per-row trigger dropped by migration 5 (one plpgsql call and one single-row
 * insert per task). On one connection at batches of 100 a claim and finish cost about 12 µs of
 * server CPU per task less; its extra planning is paid once per connection, the statement being
 * prepared (figures in postgres-task-events.ts).
 */
export function startedEvents(S: string, rows: string): string {
  return insertTaskEvents(S, changedEvents(rows, "'started'"));
}

/** Whether a policy's claim takes the ninth parameter (aging ms, or the fair cursor). */
export function policyTakesNinth(policy: DispatchPolicy): boolean {
  return policy.order === "fair" || (policy.order === "priority" && policy.agingMs !== null);
}

/**
 * Candidates only (not taken), for the flow-limited claim, which chooses in JS under a
 * transaction-scoped advisory lock. They are not row-locked: every claim of a limited type holds
 * that advisory lock, and the take re-checks `status = 'queued'`, so a candidate cancelled or
 * deleted meanwhile is simply not taken (locking the few hundred rows read cost more than the
 * whole plain claim). The parameter after the claim's own lists blocked `type<TAB>group` keys.
 */
export function candidateStatement(S: string, policy: DispatchPolicy): string {
  const blockedParam = policyTakesNinth(policy) ? "$10" : "$9";
  // A plain filter on each row (not NOT EXISTS, which the planner turns into an anti-join over a
  // scan of every queued row and a sort: measured 25 ms against an index walk).
  const blocked = `
        AND NOT ((type || chr(9) || coalesce(grp, '')) = ANY(${blockedParam}::text[]))`;
  const { ctes, order } = candidates(S, policy, blocked, false);
  // The parameter list is the claim's own ($1..$9); PostgreSQL must be able to type every one,
  // so those this statement does not need are named in a condition that is always true.
  return `WITH RECURSIVE ${ctes}
        SELECT r.id, r.type, r.cpu, r.fair_key, r.grp FROM cand r
        WHERE $2::int[] IS NOT NULL AND $5::int > 0 AND $7::int >= 0 AND $8::float8 >= 0
        ORDER BY ${order}`;
}

const PRIORITY_POLICY: DispatchPolicy = { order: "priority", agingMs: null };
/** Longest a node's cached paused set is trusted without a notice, ms. */
const PAUSED_TYPES_TTL_MS = 1000;

/** Claims: the one-statement claim of every policy, and the flow-limited claim under its lock. */
export class PgClaims extends PgPart {
  private readonly claimStatements = new Map<string, string>();
  private readonly fairKeyAdvance = fairKeyAdvanceStatement(this.S);
  /** The fairness key served last: the next fair claim starts after it, so every key gets turns. */
  private fairCursor = "";

  /**
   * The paused types as last read (and when, by this process's clock); null: read them before
   * the next claim. Dropped on every `types` notice (a pause or resume anywhere, see
   * postgres-types.ts) and after a reconnect of the LISTEN connection; read again at least every
   * `PAUSED_TYPES_TTL_MS` in case a notice was missed, or nothing listens (a store without
   * watchers). Paused types are left out of the claim's type list, so its walk never steps over
   * their tasks; the take's guard (`notPaused`) covers a pause newer than this read.
   */
  private paused: { types: Set<string>; readAt: number } | null = null;
  /** Bumped by `forgetPausedTypes`: a read that started before it is not kept. */
  private pausedGeneration = 0;

  /** Reads the paused types again before the next claim. */
  forgetPausedTypes(): void {
    this.paused = null;
    this.pausedGeneration++;
  }

  /** The claim's types less the paused ones: one tiny read per `PAUSED_TYPES_TTL_MS` at most, none per claim. */
  private async unpaused(types: ClaimType[]): Promise<ClaimType[]> {
    const now = Date.now();
    if (!this.paused || now - this.paused.readAt > PAUSED_TYPES_TTL_MS) {
      const generation = this.pausedGeneration;
      const rows = await this.book<{ type: string }>(`SELECT type FROM ${this.S}.paused_types`);
      const read = { types: new Set(rows.map((r) => r.type)), readAt: now };
      if (generation === this.pausedGeneration) this.paused = read;
      if (read.types.size === 0) return types;
      return types.filter((t) => !read.types.has(t.type));
    }
    const paused = this.paused.types;
    return paused.size === 0 ? types : types.filter((t) => !paused.has(t.type));
  }

  async taskClaim(request: ClaimRequest): Promise<TaskRow[]> {
    if (request.limit <= 0 || request.types.length === 0) return [];
    const types = await this.unpaused(request.types);
    if (types.length === 0) return [];
    const req = types === request.types ? request : { ...request, types };
    const policy = req.policy ?? PRIORITY_POLICY;
    if (req.types.some((t) => t.flow)) return this.claimWithFlow(req, policy);
    const limited = req.types.some((t) => Number.isFinite(t.slots));
    const scan = limited ? Math.min(req.limit * 4, 2000) : req.limit;
    const rows = await this.book(this.claimSql("claim", policy), this.claimParams(req, req.types, scan, policy));
    rows.sort((a, b) => Number(a.claim_no) - Number(b.claim_no));
    if (policy.order === "fair") {
      // A claim reads `limit` keys from the cursor on, and the key scan cannot tell which keys have
      // something claimable now (due, of these types), so it may come back short while later keys
      // have work. Move past the keys it examined and claim again, until full, every key was seen
      // (the statement itself wraps once the scan reaches the end), or 8 rounds.
      // When every key fitted in one round, a key may still hold more than its share: claim again
      // from the same cursor as long as the last round found something.
      let examined = req.limit;
      let progressed = rows.length > 0;
      for (let round = 1; rows.length < req.limit && round < 8; round++) {
        const [next] = await this.book<{ v: string; n: number }>(this.fairKeyAdvance, [this.fairCursor, examined]);
        if (next && next.n >= examined) this.fairCursor = next.v;
        else if (!progressed) break;
        examined = req.limit - rows.length;
        const more = await this.book(this.claimSql("claim", policy), this.claimParams({ ...req, limit: examined }, req.types, scan, policy));
        more.sort((a, b) => Number(a.claim_no) - Number(b.claim_no));
        rows.push(...more);
        progressed = more.length > 0;
      }
      // The next claim starts after the last key served (or past the keys found empty).
      if (rows.length) this.fairCursor = rows[rows.length - 1]!.fair_key as string;
    }
    const now = this.nowSync();
    return rows.map((r) => pgRowToTask(r, now));
  }

  /** The claim's parameters ($1..$9 of postgres-claim.ts). */
  private claimParams(req: ClaimRequest, types: ClaimType[], scan: number, policy: DispatchPolicy): unknown[] {
    const params: unknown[] = [
      types.map((t) => t.type),
      types.map((t) => (Number.isFinite(t.slots) ? t.slots : 1_000_000_000)),
      req.node,
      scan,
      req.limit,
      req.cpuCapacity,
      Math.max(0, req.cpuFree),
      req.leaseMs,
    ];
    if (policy.order === "fair") params.push(this.fairCursor);
    else if (policyTakesNinth(policy)) params.push(policy.agingMs);
    return params;
  }

  private claimSql(kind: "claim" | "candidates", policy: DispatchPolicy): string {
    const key = `${kind}:${policy.order}:${policy.agingMs !== null}`;
    let sql = this.claimStatements.get(key);
    if (!sql) {
      sql = kind === "claim" ? claimStatement(this.S, policy) : candidateStatement(this.S, policy);
      this.claimStatements.set(key, sql);
    }
    return sql;
  }

  /**
   * A claim of types with cluster-wide limits: under a transaction-scoped advisory lock, so the
   * running counts and recent starts it reads cannot change under it by another node's claim
   * (claims are the only way a task starts). Three round trips, paid only by limited types:
   * lock and read the budget; lock candidates (chosen in JS, as on SQLite); take them, record
   * their starts and commit. The first and last are simple-protocol batches with literals
   * escaped by the driver, so each is one round trip.
   */
  private async claimWithFlow(req: ClaimRequest, policy: DispatchPolicy): Promise<TaskRow[]> {
    const client = await this.bookkeeping.connect();
    const lit = (v: string) => client.escapeLiteral(v);
    const num = (v: number) => {
      if (!Number.isFinite(v)) throw new Error(`flow claim: ${v} is not a finite number`);
      return String(v);
    };
    try {
      const limited = req.types.filter((t) => t.flow);
      const S = this.S;
      const budget = [
        `SELECT type, grp, count(*)::int AS n, false AS is_start FROM ${S}.tasks
         WHERE status = 'running' AND type = ANY(ARRAY[${limited.map((t) => lit(t.type)).join(",")}]::text[]) GROUP BY type, grp`,
        // Index ranges over (type, grp, at): a window never holds more rows of a scope than its limit.
        ...rateWindows(limited).map(
          (w) => `SELECT type, NULLIF(grp, ''), count(*)::int, true FROM ${S}.flow_starts
            WHERE type = ${lit(w.type)} AND grp ${w.perGroup ? "> ''" : "= ''"}
              AND at > clock_timestamp() - ${num(w.windowMs)} * interval '1 millisecond'
            GROUP BY type, grp`,
        ),
      ].join(" UNION ALL ");
      const batch = (await client.query(`BEGIN; SELECT pg_advisory_xact_lock(hashtext(${lit(`tasklane:${this.schema}:flow`)})); ${budget}`)) as unknown as pg.QueryResult[];
      const budgetRows = batch[batch.length - 1]!.rows as PgRow[];
      const allowance = new FlowAllowance(req.types, {
        running: budgetRows.filter((r) => !r.is_start).map((r) => ({ type: r.type, grp: r.grp, n: r.n })),
        starts: budgetRows.filter((r) => r.is_start).map((r) => ({ type: r.type, grp: r.grp, n: r.n })),
      });
      const blocked = allowance.blockedPairs();
      const blockedTypes = new Set(blocked.filter(([, g]) => g === null).map(([t]) => t));
      const types = req.types.filter((t) => !blockedTypes.has(t.type));
      let claimed: PgRow[] = [];
      let finish = "COMMIT";
      let choice: ReturnType<typeof chooseCandidates> | null = null;
      if (types.length) {
        const scan = Math.min(req.limit * 4, 2000);
        const blockedKeys = blocked.filter(([, g]) => g !== null).map(([t, g]) => `${t}\t${g}`);
        const candidates = (await client.query(this.claimSql("candidates", policy), [...this.claimParams(req, types, scan, policy), blockedKeys]))
          .rows as PgRow[];
        // Fair: keys with nothing claimable now leave a round short; go on past them (see taskClaim).
        for (let round = 1; policy.order === "fair" && candidates.length < req.limit && round < 8; round++) {
          const [next] = (await client.query(this.fairKeyAdvance, [this.fairCursor, req.limit])).rows as Array<{ v: string; n: number }>;
          if (!next || next.n < req.limit) break;
          this.fairCursor = next.v;
          const seen = new Set(candidates.map((c) => c.id));
          const more = (await client.query(this.claimSql("candidates", policy), [...this.claimParams(req, types, scan, policy), blockedKeys]))
            .rows as PgRow[];
          candidates.push(...more.filter((c) => !seen.has(c.id)));
        }
        choice = chooseCandidates(
          candidates.map((c) => ({ id: c.id, type: c.type, cpu: c.cpu, fairKey: c.fair_key, group: c.grp })),
          types,
          req.limit,
          req.cpuFree,
          allowance,
        );
        if (choice.ids.length) {
          const starts = allowance.startRows(choice.taken, 0);
          finish = `WITH claimed AS (
              UPDATE ${S}.tasks t SET status = 'running', attempt = t.attempt + 1, run_count = t.run_count + 1, node = ${lit(req.node)},
                started_at = clock_timestamp(), updated_at = clock_timestamp(),
                lease_expires_at = clock_timestamp() + ${num(req.leaseMs)} * interval '1 millisecond', cancel_requested = false
              WHERE t.id = ANY(ARRAY[${choice.ids.map(lit).join(",")}]::text[]) AND t.status = 'queued' AND ${notPaused(S)}
              RETURNING t.*
            ),
            claimed_events AS (${startedEvents(S, "claimed")})
            SELECT * FROM claimed;
            ${
              starts.length
                ? `INSERT INTO ${S}.flow_starts (type, grp, at, expires_at)
                   SELECT w.type, w.grp, clock_timestamp(), clock_timestamp() + w.ms * interval '1 millisecond'
                   FROM (VALUES ${starts.map(([type, grp, ms]) => `(${lit(type)}, ${lit(grp)}, ${num(ms)}::float8)`).join(",")}) AS w(type, grp, ms);`
                : ""
            }
            COMMIT`;
        }
      }
      const done = (await client.query(finish)) as unknown as pg.QueryResult | pg.QueryResult[];
      if (choice?.ids.length) {
        claimed = (Array.isArray(done) ? done[0]! : done).rows as PgRow[];
        if (policy.order === "fair" && choice.lastFairKey !== null) this.fairCursor = choice.lastFairKey;
        const order = new Map(choice.ids.map((id, i) => [id, i]));
        claimed.sort((a, b) => order.get(a.id)! - order.get(b.id)!);
      }
      const now = this.nowSync();
      return claimed.map((r) => pgRowToTask(r, now));
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }
}

function claimOrder(a: TaskRow, b: TaskRow): number {
  return a.priority - b.priority || a.runAt.getTime() - b.runAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}
