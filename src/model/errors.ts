/**
 * Errors with stable codes. Callers branch on `code` (or `instanceof`); the CLI prints
 * `message` as one line and the HTTP API maps `code` to a status.
 */
export class TasklaneError extends Error {
  readonly code: string;
  readonly details?: unknown;
  /**
   * The input at fault, as a path into what the caller gave (`delay`, `params.rows`,
   * `then[0].type`), when one input is; the HTTP API returns it as `error.details.field`.
   */
  readonly field?: string;
  constructor(code: string, message: string, details?: unknown, field?: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    if (details !== undefined) this.details = details;
    if (field !== undefined) this.field = field;
  }
}

/**
 * Input that can never be accepted (bad option, bad params, bad id). Nothing was stored. The
 * message starts with the field it names (`"delay: …"`), so it reads on its own in a CLI line.
 */
export class ValidationError extends TasklaneError {
  /** `field`: the input at fault (see {@link TasklaneError.field}); null when no single input is. */
  constructor(field: string | null, message: string, details?: unknown);
  /**
   * @deprecated Name the field: `new ValidationError(field, message)`. This form reads it from a
   * message written `field: problem`, for the call sites in `src/store/` and `src/runtime/`
   * that still pass one string.
   */
  constructor(message: string);
  constructor(fieldOrMessage: string | null, message?: string, details?: unknown) {
    if (message === undefined) super("VALIDATION_FAILED", fieldOrMessage!, undefined, leadingField(fieldOrMessage!));
    else super("VALIDATION_FAILED", message, details, fieldOrMessage ?? undefined);
  }

  /** The same error about an input nested at `path` (a follow-up's, an item of a batch): field and message prefixed. */
  under(path: string, label = path): ValidationError {
    const field = this.field === undefined ? path : `${path}.${this.field}`;
    if (this instanceof ParamsValidationError) return new ParamsValidationError(this.type, `${label}: ${this.message}`, this.issues, field);
    return new ValidationError(field, `${label}: ${this.message}`, this.details);
  }
}

/** One problem a params schema reported: `path` inside the params (Standard Schema issue). */
export interface ParamsIssue {
  message: string;
  path?: ReadonlyArray<PropertyKey | { key: PropertyKey }>;
}

/** Params refused by their task type's schema; `issues` say where inside the params. */
export class ParamsValidationError extends ValidationError {
  constructor(
    /** The task type whose schema refused them. */
    readonly type: string,
    message: string,
    readonly issues: readonly ParamsIssue[],
    field = "params",
  ) {
    super(field, message, issues);
  }
}

/** `"delay: …"` → `delay`; `"addMany[0] (report): …"` → `addMany[0] (report)`. */
function leadingField(message: string): string | undefined {
  return /^([A-Za-z_][\w.[\]-]*(?: \([^)]*\))?):\s/.exec(message)?.[1];
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

/** A user name is taken. */
export class UserExistsError extends TasklaneError {
  constructor(name: string) {
    super("USER_EXISTS", `user "${name}" already exists`);
  }
}

export class UserNotFoundError extends TasklaneError {
  constructor(name: string) {
    super("USER_NOT_FOUND", `user "${name}" not found`);
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

/** Pausing or resuming a type nothing knows of: no task, node, definition or pause names it. */
export class TypeNotFoundError extends TasklaneError {
  constructor(type: string, known: string[]) {
    super(
      "TYPE_NOT_FOUND",
      `task type "${type}" not found: no task, node or definition has it` + (known.length ? ` (known types: ${known.join(", ")})` : " (no task types are known yet)"),
    );
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
      undefined,
      "type",
    );
  }
}
