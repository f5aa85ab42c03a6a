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
];
