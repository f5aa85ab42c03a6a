/**
 * Numbered SQLite migrations, embedded in the build (never read from disk at run time). The
 * PostgreSQL backend carries the same numbers. A fresh install applies them all; there is no
 * second "create schema" path.
 *
 * Times are INTEGER epoch milliseconds; JSON columns are TEXT.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const SQLITE_MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: "tasks, runs and events",
    sql: `
CREATE TABLE tasks (
  id               TEXT PRIMARY KEY,
  type             TEXT NOT NULL,
  name             TEXT,
  description      TEXT,
  params           TEXT NOT NULL,
  status           TEXT NOT NULL CHECK (status IN ('queued','running','succeeded','failed','cancelled','expired')),
  priority         INTEGER NOT NULL DEFAULT 0,
  run_at           INTEGER NOT NULL,
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL,
  started_at       INTEGER,
  finished_at      INTEGER,
  attempt          INTEGER NOT NULL DEFAULT 0,
  max_attempts     INTEGER NOT NULL,
  run_count        INTEGER NOT NULL DEFAULT 0,
  max_runs         INTEGER NOT NULL,
  backoff          TEXT NOT NULL,
  timeout_ms       INTEGER,
  cpu              INTEGER NOT NULL DEFAULT 0,
  executor         TEXT,
  deadline         INTEGER,
  delete_after_ms  INTEGER NOT NULL,
  delete_at        INTEGER,
  key              TEXT,
  owner            TEXT,
  node             TEXT,
  lease_expires_at INTEGER,
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  progress_current REAL,
  progress_total   REAL,
  progress_message TEXT,
  progress_rate    REAL,
  progress_at      INTEGER,
  result           TEXT,
  error            TEXT
);
-- Indexes are chosen for the hot path: a status change touches a partial index only when the row
-- enters or leaves its set, while an index led by status moves its entry on every transition
-- (measured: ~5 us per task per such index). So there are no (status, ...) indexes.
-- The ready set, in claim order.
CREATE INDEX tasks_ready ON tasks (priority, run_at, id) WHERE status = 'queued';
-- Running runs by lease expiry: the rescuer's scan, and a node's own runs at restart.
CREATE INDEX tasks_lease ON tasks (lease_expires_at) WHERE status = 'running';
-- maxQueued counts.
CREATE INDEX tasks_queued_type ON tasks (type) WHERE status = 'queued';
-- Business key: unique among live tasks only, so a finished task frees its key.
CREATE UNIQUE INDEX tasks_live_key ON tasks (key) WHERE key IS NOT NULL AND status IN ('queued', 'running');
CREATE INDEX tasks_key ON tasks (key) WHERE key IS NOT NULL;
-- Listing newest first, overall, per owner and per type; the rarer final statuses get their own.
CREATE INDEX tasks_created ON tasks (created_at, id);
CREATE INDEX tasks_owner_created ON tasks (owner, created_at, id) WHERE owner IS NOT NULL;
CREATE INDEX tasks_type_created ON tasks (type, created_at, id);
CREATE INDEX tasks_failed_created ON tasks (created_at, id) WHERE status = 'failed';
CREATE INDEX tasks_cancelled_created ON tasks (created_at, id) WHERE status IN ('cancelled', 'expired');
CREATE INDEX tasks_deadline ON tasks (deadline) WHERE status = 'queued' AND deadline IS NOT NULL;
CREATE INDEX tasks_delete_at ON tasks (delete_at) WHERE delete_at IS NOT NULL;

CREATE TABLE runs (
  task_id    TEXT NOT NULL,
  run_no     INTEGER NOT NULL,
  attempt    INTEGER NOT NULL,
  node       TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  ended_at   INTEGER,
  outcome    TEXT CHECK (outcome IN ('succeeded','failed','cancelled','timed_out','offline')),
  result     TEXT,
  error      TEXT,
  PRIMARY KEY (task_id, run_no)
) WITHOUT ROWID;

CREATE TABLE events (
  id       INTEGER PRIMARY KEY AUTOINCREMENT,
  task_id  TEXT NOT NULL,
  run_no   INTEGER NOT NULL,
  seq      INTEGER NOT NULL,
  at       INTEGER NOT NULL,
  level    TEXT NOT NULL CHECK (level IN ('debug','info','warn','error')),
  message  TEXT NOT NULL,
  data     TEXT
);
CREATE UNIQUE INDEX events_run_seq ON events (task_id, run_no, seq);
CREATE INDEX events_task ON events (task_id, id);
`,
  },
  // ---- users, tokens and the task event log (HTTP API) ----
  {
    version: 2,
    name: "users, api tokens and the task event log",
    sql: `
CREATE TABLE users (
  name       TEXT PRIMARY KEY,
  role       TEXT NOT NULL CHECK (role IN ('admin','user')),
  created_at INTEGER NOT NULL
);
-- A token is "tl_<id>_<secret>"; only the SHA-256 of the secret is stored, looked up by id.
CREATE TABLE api_tokens (
  id         TEXT PRIMARY KEY,
  user_name  TEXT NOT NULL,
  hash       TEXT NOT NULL,
  label      TEXT,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
);
CREATE INDEX api_tokens_user ON api_tokens (user_name);

-- The durable, ordered log of task state changes (the HTTP event stream, resumable by id).
-- Written by triggers, so every change is logged in the transaction that makes it, whichever
-- process or statement makes it. Ids grow in commit order (SQLite has one writer at a time).
CREATE TABLE task_events (
  id       INTEGER PRIMARY KEY AUTOINCREMENT,
  at       INTEGER NOT NULL,
  task_id  TEXT NOT NULL,
  type     TEXT NOT NULL,
  owner    TEXT,
  kind     TEXT NOT NULL,
  status   TEXT NOT NULL,
  attempt  INTEGER NOT NULL,
  run_no   INTEGER NOT NULL
);
CREATE INDEX task_events_owner ON task_events (owner, id) WHERE owner IS NOT NULL;
CREATE INDEX task_events_at ON task_events (at);

CREATE TRIGGER task_events_added AFTER INSERT ON tasks BEGIN
  INSERT INTO task_events (at, task_id, type, owner, kind, status, attempt, run_no)
  VALUES (NEW.created_at, NEW.id, NEW.type, NEW.owner, 'added',
    CASE WHEN NEW.run_at > NEW.created_at THEN 'scheduled' ELSE 'queued' END, NEW.attempt, NEW.run_count);
END;

CREATE TRIGGER task_events_status AFTER UPDATE OF status ON tasks WHEN NEW.status <> OLD.status BEGIN
  INSERT INTO task_events (at, task_id, type, owner, kind, status, attempt, run_no)
  VALUES (NEW.updated_at, NEW.id, NEW.type, NEW.owner,
    CASE
      WHEN NEW.status = 'running' THEN 'started'
      WHEN NEW.status = 'queued' AND OLD.status = 'running' THEN
        CASE WHEN NEW.attempt < OLD.attempt THEN 'released'
             WHEN NEW.error IS NOT NULL AND json_valid(NEW.error) AND NEW.error ->> '$.name' = 'NodeLostError' THEN 'rescued'
             ELSE 'retrying' END
      WHEN NEW.status = 'queued' THEN 'retried'
      ELSE NEW.status
    END,
    CASE WHEN NEW.status = 'queued' AND NEW.run_at > NEW.updated_at THEN 'scheduled' ELSE NEW.status END,
    NEW.attempt, NEW.run_count);
END;

CREATE TRIGGER task_events_cancel_requested AFTER UPDATE OF cancel_requested ON tasks
WHEN NEW.cancel_requested = 1 AND OLD.cancel_requested = 0 AND NEW.status = 'running' BEGIN
  INSERT INTO task_events (at, task_id, type, owner, kind, status, attempt, run_no)
  VALUES (NEW.updated_at, NEW.id, NEW.type, NEW.owner, 'cancel-requested', 'running', NEW.attempt, NEW.run_count);
END;

CREATE TRIGGER task_events_deleted AFTER DELETE ON tasks BEGIN
  INSERT INTO task_events (at, task_id, type, owner, kind, status, attempt, run_no)
  VALUES (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER), OLD.id, OLD.type, OLD.owner, 'deleted',
    OLD.status, OLD.attempt, OLD.run_count);
END;
`,
  },
  // ---- nodes (cluster membership) ----
  {
    version: 3,
    name: "nodes",
    sql: `
CREATE TABLE nodes (
  name          TEXT PRIMARY KEY,
  host          TEXT NOT NULL,
  pid           INTEGER NOT NULL,
  version       TEXT NOT NULL,
  started_at    INTEGER NOT NULL,
  heartbeat_at  INTEGER NOT NULL,
  status        TEXT NOT NULL CHECK (status IN ('online','draining','offline')),
  types         TEXT NOT NULL,
  concurrency   INTEGER NOT NULL,
  running       INTEGER NOT NULL,
  cpu_capacity  INTEGER NOT NULL,
  cpu_used      INTEGER NOT NULL,
  load_per_core REAL NOT NULL,
  memory_bytes  INTEGER NOT NULL
);
`,
  },
  // ---- schedules, follow-ups, flow control and fair dispatch ----
  {
    version: 4,
    name: "schedules, follow-ups, flow control",
    sql: `
ALTER TABLE tasks ADD COLUMN grp TEXT;
ALTER TABLE tasks ADD COLUMN parent TEXT;
ALTER TABLE tasks ADD COLUMN follow_ups TEXT;
-- The fair claim walks this index key by key (a skip scan), each key's tasks in claim order.
CREATE INDEX tasks_ready_fair ON tasks (coalesce(grp, owner, ''), priority, run_at, id) WHERE status = 'queued';

CREATE TABLE schedules (
  name          TEXT PRIMARY KEY,
  type          TEXT NOT NULL,
  params        TEXT NOT NULL,
  options       TEXT NOT NULL,
  cron          TEXT NOT NULL,
  tz            TEXT NOT NULL,
  missed        TEXT NOT NULL CHECK (missed IN ('skip','catchUp')),
  catch_up_ms   INTEGER NOT NULL DEFAULT 0,
  paused        INTEGER NOT NULL DEFAULT 0,
  anchor_at     INTEGER NOT NULL,
  last_tick_at  INTEGER,
  last_task_id  TEXT,
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL
);
-- One row per fired tick: the unique key is what makes a tick fire once across all nodes.
CREATE TABLE schedule_ticks (
  schedule  TEXT NOT NULL,
  tick_at   INTEGER NOT NULL,
  task_id   TEXT,
  fired_at  INTEGER NOT NULL,
  PRIMARY KEY (schedule, tick_at)
);
CREATE INDEX schedule_ticks_fired ON schedule_ticks (fired_at);

-- Starts of rate-limited tasks, counted over a sliding window: one row per start and scope, the
-- whole type (grp = '') or one group of it. A window never holds more rows of a scope than its
-- limit, so counting one is an index range of at most that many rows.
CREATE TABLE flow_starts (
  type       TEXT NOT NULL,
  grp        TEXT NOT NULL,
  at         INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX flow_starts_window ON flow_starts (type, grp, at);
CREATE INDEX flow_starts_expires ON flow_starts (expires_at);
`,
  },
  // ---- numbered with PostgreSQL's migration 5, which drops its per-row event triggers ----
  {
    version: 5,
    name: "PostgreSQL only: set-based task-event writes",
    // Migration numbers are the same in both dialects. SQLite keeps its event triggers: they run
    // in-process, with no per-row function call to the server to save.
    sql: `
SELECT 1;
`,
  },
  {
    version: 6,
    name: "PostgreSQL only: claim by type",
    // PostgreSQL's planner chooses a claim's index from statistics, which a drain makes stale; its
    // index on (type) of queued tasks could then be chosen to read the whole queue, so migration 6
    // replaced it (postgres-claim.ts). SQLite takes no statistics here and its claim names its
    // index (INDEXED BY tasks_ready): nothing to change.
    sql: `
SELECT 1;
`,
  },
  {
    version: 7,
    name: "PostgreSQL only: lease renewals and progress as HOT updates",
    // PostgreSQL rewrites every index entry on an update that changes an indexed column; SQLite
    // updates only the indexes whose columns changed, so its lease index costs a renewal one
    // index write, and it has no autovacuum to tune: nothing to change.
    sql: `
SELECT 1;
`,
  },
  {
    version: 8,
    name: "nodes report their isolation runners",
    sql: `
ALTER TABLE nodes ADD COLUMN runners TEXT;
`,
  },
  {
    version: 9,
    name: "paused task types",
    // One row per paused type, read inside each claim's transaction (sqlite-claim.ts).
    sql: `
CREATE TABLE paused_types (
  type      TEXT PRIMARY KEY,
  paused_at INTEGER NOT NULL
) WITHOUT ROWID;
`,
  },
  {
    version: 10,
    name: "a task's last run is recorded in the task row until another run replaces it",
    // See PostgreSQL's migration 10.
    sql: `
ALTER TABLE tasks ADD COLUMN last_outcome TEXT;
`,
  },
];
