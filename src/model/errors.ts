/**
 * Errors with stable codes. Callers branch on `code` (or `instanceof`); the CLI prints
 * `message` as one line and the HTTP API maps `code` to a status.
 */
export class TasklaneError extends Error {
  readonly code: string;
  readonly details?: unknown;
  constructor(code: string, message: string, details?: unknown) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    if (details !== undefined) this.details = details;
  }
}

/** Input that can never be accepted (bad option, bad params, bad id). Nothing was stored. */
export class ValidationError extends TasklaneError {
  constructor(message: string, details?: unknown) {
    super("VALIDATION_FAILED", message, details);
  }
}

export class UnknownTaskTypeError extends TasklaneError {
  constructor(type: string, known: string[]) {
    super(
      "UNKNOWN_TASK_TYPE",
      `unknown task type "${type}"` + (known.length ? ` (registered: ${known.join(", ")})` : " (no task types are registered)"),
    );
  }
}

export class TaskNotFoundError extends TasklaneError {
  constructor(id: string) {
    super("TASK_NOT_FOUND", `task ${id} not found`);
  }
}

/** `add` refused because the type already has `maxQueued` tasks waiting. */
export class QueueFullError extends TasklaneError {
  constructor(type: string, maxQueued: number) {
    super("QUEUE_FULL", `queue of "${type}" is full: it already holds ${maxQueued} queued task(s) (maxQueued=${maxQueued})`);
  }
}

/** The operation does not apply to the task in its current status. */
export class InvalidStateError extends TasklaneError {
  constructor(message: string) {
    super("INVALID_STATE", message);
  }
}

/** A task with the same business key is live and the operation would create a second one. */
export class KeyConflictError extends TasklaneError {
  constructor(key: string) {
    super("KEY_CONFLICT", `another live task already holds key "${key}"`);
  }
}

export class ConfigError extends TasklaneError {
  constructor(message: string) {
    super("CONFIG_INVALID", message);
  }
}

/** Thrown by a handler to fail the task at once, without using its remaining attempts. */
export class NonRetryableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "NonRetryableError";
  }
}

/** The reason `ctx.signal` carries, so a handler can tell why it was aborted. */
export type AbortCause = "cancelled" | "timeout" | "shutdown" | "lease-lost";

export class TaskAbortedError extends Error {
  /** Why the run was aborted. */
  readonly kind: AbortCause;
  constructor(kind: AbortCause, message: string) {
    super(message);
    this.name = "TaskAbortedError";
    this.kind = kind;
  }
}

export class ScheduleNotFoundError extends TasklaneError {
  constructor(name: string) {
    super("SCHEDULE_NOT_FOUND", `schedule "${name}" not found`);
  }
}

/** `add("sql", …)` on an instance where the built-in `sql` type is not enabled (it is off by default). */
export class SqlTasksDisabledError extends TasklaneError {
  constructor() {
    super(
      "SQL_TASKS_DISABLED",
      'type: the built-in "sql" task type is disabled; enable it with Tasklane.open({ sqlTasks: true }), ' +
        '"sqlTasks": true in tasklane.config.json, TASKLANE_SQL_TASKS=1, or `tasklane start --sql-tasks`',
    );
  }
}
