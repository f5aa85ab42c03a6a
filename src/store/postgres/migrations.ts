import type { Migration } from "../sqlite/migrations.js";

/**
 * PostgreSQL migrations: the same numbers as the SQLite ones, the same tables, each engine's
 * types. `{schema}` is replaced by the quoted schema name. Times are `timestamptz(3)`:
 * millisecond precision keeps keyset cursors (which carry milliseconds) exact.
 */
export const POSTGRES_MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: "tasks, runs and events",
    sql: `
CREATE TABLE {schema}.tasks (
  id               text PRIMARY KEY,
  type             text NOT NULL,
  name             text,
  description      text,
  params           jsonb NOT NULL,
  status           text NOT NULL CHECK (status IN ('queued','running','succeeded','failed','cancelled','expired')),
  priority         integer NOT NULL DEFAULT 0,
  run_at           timestamptz(3) NOT NULL,
  created_at       timestamptz(3) NOT NULL,
  updated_at       timestamptz(3) NOT NULL,
  started_at       timestamptz(3),
  finished_at      timestamptz(3),
  attempt          integer NOT NULL DEFAULT 0,
  max_attempts     integer NOT NULL,
  run_count        integer NOT NULL DEFAULT 0,
  max_runs         integer NOT NULL,
  backoff          jsonb NOT NULL,
  timeout_ms       integer,
  cpu              integer NOT NULL DEFAULT 0,
  executor         text,
  deadline         timestamptz(3),
  delete_after_ms  bigint NOT NULL,
  delete_at        timestamptz(3),
  key              text,
  owner            text,
  node             text,
  lease_expires_at timestamptz(3),
  cancel_requested boolean NOT NULL DEFAULT false,
  progress_current double precision,
  progress_total   double precision,
  progress_message text,
  progress_rate    double precision,
  progress_at      timestamptz(3),
  result           jsonb,
  error            jsonb
);
-- As on SQLite: partial indexes only on the hot path, none led by status.
CREATE INDEX tasks_ready ON {schema}.tasks (priority, run_at, id) WHERE status = 'queued';
CREATE INDEX tasks_lease ON {schema}.tasks (lease_expires_at) WHERE status = 'running';
CREATE INDEX tasks_queued_type ON {schema}.tasks (type) WHERE status = 'queued';
CREATE UNIQUE INDEX tasks_live_key ON {schema}.tasks (key) WHERE key IS NOT NULL AND status IN ('queued', 'running');
CREATE INDEX tasks_key ON {schema}.tasks (key) WHERE key IS NOT NULL;
CREATE INDEX tasks_created ON {schema}.tasks (created_at, id);
CREATE INDEX tasks_owner_created ON {schema}.tasks (owner, created_at, id) WHERE owner IS NOT NULL;
CREATE INDEX tasks_type_created ON {schema}.tasks (type, created_at, id);
CREATE INDEX tasks_failed_created ON {schema}.tasks (created_at, id) WHERE status = 'failed';
CREATE INDEX tasks_cancelled_created ON {schema}.tasks (created_at, id) WHERE status IN ('cancelled', 'expired');
CREATE INDEX tasks_deadline ON {schema}.tasks (deadline) WHERE status = 'queued' AND deadline IS NOT NULL;
CREATE INDEX tasks_delete_at ON {schema}.tasks (delete_at) WHERE delete_at IS NOT NULL;

CREATE TABLE {schema}.runs (
  task_id    text NOT NULL,
  run_no     integer NOT NULL,
  attempt    integer NOT NULL,
  node       text NOT NULL,
  started_at timestamptz(3) NOT NULL,
  ended_at   timestamptz(3),
  outcome    text CHECK (outcome IN ('succeeded','failed','cancelled','timed_out','offline')),
  result     jsonb,
  error      jsonb,
  PRIMARY KEY (task_id, run_no)
);

CREATE TABLE {schema}.events (
  id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  task_id  text NOT NULL,
  run_no   integer NOT NULL,
  seq      integer NOT NULL,
  at       timestamptz(3) NOT NULL,
  level    text NOT NULL CHECK (level IN ('debug','info','warn','error')),
  message  text NOT NULL,
  data     jsonb
);
CREATE UNIQUE INDEX events_run_seq ON {schema}.events (task_id, run_no, seq);
CREATE INDEX events_task ON {schema}.events (task_id, id);
`,
  },
  {
    version: 2,
    name: "users, api tokens and the task event log",
    sql: `
CREATE TABLE {schema}.users (
  name       text PRIMARY KEY,
  role       text NOT NULL CHECK (role IN ('admin','user')),
  created_at timestamptz(3) NOT NULL DEFAULT now()
);
-- A token is "tl_<id>_<secret>"; only the SHA-256 of the secret is stored, looked up by id.
CREATE TABLE {schema}.api_tokens (
  id         text PRIMARY KEY,
  user_name  text NOT NULL,
  hash       text NOT NULL,
  label      text,
  created_at timestamptz(3) NOT NULL DEFAULT now(),
  revoked_at timestamptz(3)
);
CREATE INDEX api_tokens_user ON {schema}.api_tokens (user_name);

-- The durable log of task state changes, written by triggers in the transaction of the change.
-- Concurrent transactions commit out of order, so the order of writing (seq) is not the order
-- readers see rows appear. The public position (id) is assigned after commit by a sequencer
-- that runs under an advisory lock: positions follow visibility and never go backwards.
CREATE TABLE {schema}.task_events (
  seq      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id       bigint UNIQUE,
  at       timestamptz(3) NOT NULL,
  task_id  text NOT NULL,
  type     text NOT NULL,
  owner    text,
  kind     text NOT NULL,
  status   text NOT NULL,
  attempt  integer NOT NULL,
  run_no   integer NOT NULL
);
CREATE INDEX task_events_unsequenced ON {schema}.task_events (seq) WHERE id IS NULL;
-- Positions handed out so far: a sequence, so they never repeat, even after pruning empties the log.
CREATE SEQUENCE {schema}.task_event_position;
CREATE INDEX task_events_owner ON {schema}.task_events (owner, id) WHERE owner IS NOT NULL;
CREATE INDEX task_events_at ON {schema}.task_events (at);

CREATE FUNCTION {schema}.tasklane_log_task_event() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
  kind text;
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO {schema}.task_events (at, task_id, type, owner, kind, status, attempt, run_no)
    VALUES (NEW.created_at, NEW.id, NEW.type, NEW.owner, 'added',
      CASE WHEN NEW.run_at > NEW.created_at THEN 'scheduled' ELSE 'queued' END, NEW.attempt, NEW.run_count);
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO {schema}.task_events (at, task_id, type, owner, kind, status, attempt, run_no)
    VALUES (now(), OLD.id, OLD.type, OLD.owner, 'deleted', OLD.status, OLD.attempt, OLD.run_count);
  ELSIF NEW.status IS DISTINCT FROM OLD.status THEN
    kind := CASE
      WHEN NEW.status = 'running' THEN 'started'
      WHEN NEW.status = 'queued' AND OLD.status = 'running' THEN
        CASE WHEN NEW.attempt < OLD.attempt THEN 'released'
             WHEN NEW.error ->> 'name' = 'NodeLostError' THEN 'rescued'
             ELSE 'retrying' END
      WHEN NEW.status = 'queued' THEN 'retried'
      ELSE NEW.status
    END;
    INSERT INTO {schema}.task_events (at, task_id, type, owner, kind, status, attempt, run_no)
    VALUES (NEW.updated_at, NEW.id, NEW.type, NEW.owner, kind,
      CASE WHEN NEW.status = 'queued' AND NEW.run_at > NEW.updated_at THEN 'scheduled' ELSE NEW.status END,
      NEW.attempt, NEW.run_count);
  ELSIF NEW.cancel_requested AND NOT OLD.cancel_requested AND NEW.status = 'running' THEN
    INSERT INTO {schema}.task_events (at, task_id, type, owner, kind, status, attempt, run_no)
    VALUES (NEW.updated_at, NEW.id, NEW.type, NEW.owner, 'cancel-requested', 'running', NEW.attempt, NEW.run_count);
  END IF;
  RETURN NULL;
END
$fn$;
CREATE TRIGGER task_events_insert AFTER INSERT ON {schema}.tasks FOR EACH ROW EXECUTE FUNCTION {schema}.tasklane_log_task_event();
CREATE TRIGGER task_events_update AFTER UPDATE OF status, cancel_requested ON {schema}.tasks
  FOR EACH ROW EXECUTE FUNCTION {schema}.tasklane_log_task_event();
CREATE TRIGGER task_events_delete AFTER DELETE ON {schema}.tasks FOR EACH ROW EXECUTE FUNCTION {schema}.tasklane_log_task_event();
`,
  },
  {
    version: 3,
    name: "nodes",
    sql: `
CREATE TABLE {schema}.nodes (
  name          text PRIMARY KEY,
  host          text NOT NULL,
  pid           integer NOT NULL,
  version       text NOT NULL,
  started_at    timestamptz(3) NOT NULL,
  heartbeat_at  timestamptz(3) NOT NULL,
  status        text NOT NULL CHECK (status IN ('online','draining','offline')),
  types         jsonb NOT NULL,
  concurrency   integer NOT NULL,
  running       integer NOT NULL,
  cpu_capacity  integer NOT NULL,
  cpu_used      integer NOT NULL,
  load_per_core double precision NOT NULL,
  memory_bytes  bigint NOT NULL
);
`,
  },
  // ---- schedules, follow-ups, flow control and fair dispatch ----
  {
    version: 4,
    name: "schedules, follow-ups, flow control",
    sql: `
ALTER TABLE {schema}.tasks ADD COLUMN grp text;
ALTER TABLE {schema}.tasks ADD COLUMN parent jsonb;
ALTER TABLE {schema}.tasks ADD COLUMN follow_ups jsonb;
-- The fair claim walks this index key by key (a skip scan), each key's tasks in claim order.
CREATE INDEX tasks_ready_fair ON {schema}.tasks (coalesce(grp, owner, ''), priority, run_at, id) WHERE status = 'queued';

CREATE TABLE {schema}.schedules (
  name          text PRIMARY KEY,
  type          text NOT NULL,
  params        jsonb NOT NULL,
  options       jsonb NOT NULL,
  cron          text NOT NULL,
  tz            text NOT NULL,
  missed        text NOT NULL CHECK (missed IN ('skip','catchUp')),
  catch_up_ms   bigint NOT NULL DEFAULT 0,
  paused        boolean NOT NULL DEFAULT false,
  anchor_at     timestamptz(3) NOT NULL,
  last_tick_at  timestamptz(3),
  last_task_id  text,
  created_at    timestamptz(3) NOT NULL,
  updated_at    timestamptz(3) NOT NULL
);
-- One row per fired tick: the unique key is what makes a tick fire once across all nodes.
CREATE TABLE {schema}.schedule_ticks (
  schedule  text NOT NULL,
  tick_at   timestamptz(3) NOT NULL,
  task_id   text,
  fired_at  timestamptz(3) NOT NULL,
  PRIMARY KEY (schedule, tick_at)
);
CREATE INDEX schedule_ticks_fired ON {schema}.schedule_ticks (fired_at);

-- Starts of rate-limited tasks, counted over a sliding window: one row per start and scope, the
-- whole type (grp = '') or one group of it. A window never holds more rows of a scope than its
-- limit, so counting one is an index range of at most that many rows.
CREATE TABLE {schema}.flow_starts (
  type       text NOT NULL,
  grp        text NOT NULL,
  at         timestamptz(3) NOT NULL,
  expires_at timestamptz(3) NOT NULL
);
CREATE INDEX flow_starts_window ON {schema}.flow_starts (type, grp, at);
CREATE INDEX flow_starts_expires ON {schema}.flow_starts (expires_at);
`,
  },
  {
    version: 5,
    name: "set-based task-event writes",
    // Every statement that adds, changes or deletes tasks now writes its task_events rows itself,
    // one insert per statement (src/store/postgres/postgres-task-events.ts): the per-row plpgsql
    // trigger cost a function call and a single-row insert per task on the hot path. The table,
    // its columns and the sequencer are unchanged. Changes made outside Tasklane's statements
    // (e.g. by hand in SQL) are no longer logged.
    sql: `
DROP TRIGGER task_events_insert ON {schema}.tasks;
DROP TRIGGER task_events_update ON {schema}.tasks;
DROP TRIGGER task_events_delete ON {schema}.tasks;
DROP FUNCTION {schema}.tasklane_log_task_event();
`,
  },
  {
    version: 6,
    name: "claim by type",
    // The index on (type) of queued tasks let the planner, with statistics taken while the queue
    // was empty, claim by reading every queued task of the type and sorting them (postgres-claim.ts).
    // This one serves the queued count of `maxQueued` as that one did, and offers no such path.
    sql: `
CREATE INDEX tasks_ready_type ON {schema}.tasks (type, priority, run_at, id) WHERE status = 'queued';
DROP INDEX {schema}.tasks_queued_type;
-- One step of the fair claim's skip scan over fairness keys. As a statement inside the claim it
-- could be planned, after statistics taken with few tasks queued, as a read and sort of every
-- queued task through another partial index, at every step; here sorting is switched off, so
-- the step walks tasks_ready_fair to the next key and stops.
CREATE FUNCTION {schema}.tasklane_next_fair_key(after text, inclusive boolean) RETURNS text
  LANGUAGE plpgsql STABLE SET enable_sort = off
  AS $fn$
  BEGIN
    IF inclusive THEN
      RETURN (SELECT coalesce(grp, owner, '') FROM {schema}.tasks
        WHERE status = 'queued' AND coalesce(grp, owner, '') >= after ORDER BY coalesce(grp, owner, '') LIMIT 1);
    END IF;
    RETURN (SELECT coalesce(grp, owner, '') FROM {schema}.tasks
      WHERE status = 'queued' AND coalesce(grp, owner, '') > after ORDER BY coalesce(grp, owner, '') LIMIT 1);
  END
  $fn$;
`,
  },
  {
    version: 7,
    name: "lease renewals and progress as HOT updates; storage parameters of the queue",
    sql: `
-- A lease renewal (every running task, every few seconds) and a progress write changed an indexed
-- column (lease_expires_at), so each one wrote a whole new row version and an entry in every index
-- of the table, and left as many dead entries behind. Now nothing they change is indexed: with
-- room left on each page, PostgreSQL writes them as heap-only (HOT) updates, with no index work
-- and versions it prunes from the page by itself. The rescue finds expired leases among the
-- running tasks through this index instead (a cluster runs at most its total concurrency of them).
DROP INDEX {schema}.tasks_lease;
CREATE INDEX tasks_running ON {schema}.tasks (node) WHERE status = 'running';
-- 20% of each page kept free for those HOT versions: a few versions of each row fit beside it
-- between two prunings of the page (new pages; a VACUUM FULL repacks old ones).
ALTER TABLE {schema}.tasks SET (fillfactor = 80);
-- Every task leaves dead versions behind as it is claimed and finished, and every claim steps over
-- those of the tasks it passes: vacuum when 2% of the table is dead (default 20%), so a busy
-- queue's indexes stay about the size of its live rows.
ALTER TABLE {schema}.tasks SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_threshold = 1000);
-- The task-event log is written twice per change (the row, then its position): the same.
ALTER TABLE {schema}.task_events SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_threshold = 1000);
`,
  },
  {
    version: 8,
    name: "nodes report their isolation runners",
    sql: `
ALTER TABLE {schema}.nodes ADD COLUMN runners jsonb;
`,
  },
  {
    version: 9,
    name: "paused task types",
    // One row per paused type, read by claims (postgres-claim.ts): a handful of rows at most, so
    // a claim reads it whole, once per statement, and drops those types from its list.
    sql: `
CREATE TABLE {schema}.paused_types (
  type      text PRIMARY KEY,
  paused_at timestamptz NOT NULL
);
`,
  },
  {
    version: 10,
    name: "a task's last run is recorded in the task row until another run replaces it",
    sql: `
-- The outcome of the task's last run when that run's record is the task row itself (node,
-- started_at, finished_at, result, error, attempt, run_count): a run that ends a task for good
-- writes no row of runs. NULL: the record of every run that ended is in runs.
ALTER TABLE {schema}.tasks ADD COLUMN last_outcome text;
`,
  },
];
