import type { DispatchPolicy } from "../store.js";
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

/** Conditions of a claimable task (columns unqualified, of `tasks`); `type` names the types it may be of. */
export function claimWhere(type = "type = ANY($1::text[])"): string {
  return `status = 'queued' AND run_at <= now()::timestamptz(3) AND ${type}
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
  const whereOfType = `${claimWhere("type = q.type")}${extraWhere}`;
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
  // Each type's best tasks from its own range of tasks_ready_type, in claim order, then merged:
  // the first `scan` overall are among them. Every path the planner may take reads at most
  // `scan` rows per type whatever the statistics say. One scan over all types ordered by
  // (priority, run_at, id) was not safe: after an ANALYZE that saw few queued tasks (right after
  // a drain) the planner estimated one queued row and read every queued task through another
  // partial index, then sorted them, on every claim — so a claim's cost grew with the backlog
  // and the backlog fed itself. Measured with `bench:peers -- --only held`: 1,759 µs of server
  // CPU per task and a backlog of 11,070 tasks at 1,000 tasks/s after the held transaction ended
  // (160 µs before it). A type's range is also capped at its free slots, so a node running
  // several types locks at most min(scan, slots) rows of each.
  return {
    ctes: `cand AS (
          SELECT c.* FROM unnest($1::text[], $2::int[]) AS q(type, slots) CROSS JOIN LATERAL (
            SELECT ${CANDIDATE_COLUMNS} FROM ${S}.tasks
            WHERE ${whereOfType}
            ORDER BY type, priority, run_at, id
            LIMIT LEAST($4, q.slots)
            ${forUpdate}
          ) c
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
          FROM fit WHERE t.id = fit.id AND fit.cpu_sum <= $7 AND fit.n <= $5
          RETURNING t.*, fit.n AS claim_no, fit.fair_key
        ),
        -- The 'started' events in this statement, one insert for the batch: no per-row trigger
        -- call (measured cost and saving in postgres-task-events.ts).
        claimed_events AS (${startedEvents(S, "claimed")})
        SELECT * FROM claimed`;
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
