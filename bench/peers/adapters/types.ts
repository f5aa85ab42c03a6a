/**
 * The contract every system under test implements. The scenarios only speak this interface, so
 * each system is driven the same way; what differs (settings, batching) is stated in `settings`.
 */

/** The handlers the scenarios need. Each adapter registers all four under these names. */
export type TaskKind = "noop" | "stamp" | "real" | "hold";

/** Payload per kind: `seq` identifies a task in the worker's reports; `ms` is the realistic task's work. */
export interface Payload {
  seq?: number;
  ms?: number;
}

/** One system's own space for one scenario: a fresh database, SQLite file or Redis key prefix. */
export interface Target {
  system: string;
  /** Connection string, SQLite path or Redis prefix: whatever the adapter needs to find it again. */
  location: string;
  /** A name for clean-up (database name, file, prefix). */
  name: string;
}

export interface ProducerOptions {
  /** Failover scenario: use the shortest documented recovery settings (where set at enqueue time). */
  short?: boolean;
}

export interface Producer {
  add(kind: TaskKind, payload: Payload): Promise<void>;
  /** The system's own batched enqueue, one call for all of `payloads`. */
  addBatch(kind: TaskKind, payloads: Payload[]): Promise<void>;
  /** Puts `n` queued tasks in place as fast as possible (backlog set-up; may use SQL directly). */
  bulkFill(kind: TaskKind, n: number): Promise<void>;
  /** Tasks of `kind` finished successfully, as the store sees them (committed). */
  doneCount(kind: TaskKind, total: number): Promise<number>;
  close(): Promise<void>;
}

export interface WorkerOptions {
  concurrency: number;
  /** The one kind this scenario runs (systems that poll per queue only poll this one). */
  kind: TaskKind;
  /** Failover scenario: the shortest documented lease / lock / expiry settings. */
  short?: boolean;
}

/** What a handler reports back to the worker process (which forwards it to the parent). */
export interface WorkerHooks {
  started(kind: TaskKind, payload: Payload): void;
  finished(kind: TaskKind): void;
}

export interface PreparedWorker {
  /** Starts claiming. Everything slow (connect, migrate) happened before, so "go" is comparable. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface Adapter {
  id: string;
  label: string;
  /** Package and version, e.g. "pg-boss 10.4.2". */
  version: string;
  backend: "sqlite" | "postgres" | "redis";
  /** The settings used, in words, for the results page. */
  settings: string;
  /** Why this system cannot run here (a missing optional dependency), or null. */
  unavailable(): Promise<string | null>;
  prepare(tag: string): Promise<Target>;
  dispose(target: Target): Promise<void>;
  openProducer(target: Target, options?: ProducerOptions): Promise<Producer>;
  /** Called in the worker process: connect and get ready, but do not claim until start(). */
  prepareWorker(target: Target, options: WorkerOptions, hooks: WorkerHooks): Promise<PreparedWorker>;
  /**
   * Embedded use (Tasklane on SQLite): one instance that both adds and runs, in this process, so
   * an add wakes its own worker directly. Optional; only the latency scenario uses it.
   */
  openEmbedded?(target: Target, options: WorkerOptions, hooks: WorkerHooks): Promise<{ producer: Producer; worker: PreparedWorker }>;
  /** Failover: what the system does at defaults and at its short settings, when not measurable. */
  failover: {
    defaultNote?: string;
    shortNote?: string;
    shortSettings: string;
    defaultSettings: string;
    /** A few words for the chart where the figure is not measured (e.g. "≥ 4 h"). */
    defaultBrief?: string;
    shortBrief?: string;
  };
  /** How progress is reported in the realistic scenario. */
  progressNote: string;
}
