/**
 * Task statuses as the API reports them. `scheduled` is a queued task whose due time is still
 * in the future; the store keeps one stored status `queued` and derives `scheduled` on read,
 * so no background job has to flip rows when they become due.
 */
export const TASK_STATUSES = ["scheduled", "queued", "running", "succeeded", "failed", "cancelled", "expired"] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

/** Statuses from which a task never moves again on its own (retry moves it back explicitly). */
export const FINAL_STATUSES: readonly TaskStatus[] = ["succeeded", "failed", "cancelled", "expired"];

/** Statuses a task may be retried from. */
export const RETRYABLE_STATUSES: readonly TaskStatus[] = ["failed", "cancelled", "expired"];

/** How one run (attempt) of a task ended. */
export const RUN_OUTCOMES = ["succeeded", "failed", "cancelled", "timed_out", "offline"] as const;
export type RunOutcome = (typeof RUN_OUTCOMES)[number];

export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function isFinalStatus(status: TaskStatus): boolean {
  return FINAL_STATUSES.includes(status);
}
