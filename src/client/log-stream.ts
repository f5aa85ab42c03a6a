import { isFinalStatus } from "../model/status.js";
import type { EventRow } from "../model/task-row.js";
import type { Store } from "../store/store.js";

export interface LogsOptions {
  /** Keep reading new lines until the task reaches a final status. */
  follow?: boolean;
  /** Start after this event id (a cursor from an earlier read). */
  afterId?: number;
  /** Poll interval while following, ms [250]. */
  pollMs?: number;
  /** Stops a follow early. */
  signal?: AbortSignal;
}

/**
 * Reads a task's log lines in order. Following ends once the task is final *and* every line
 * written before that has been read: runs write their last lines before their finish.
 */
export async function* readLogs(
  store: Store,
  taskId: string,
  options: LogsOptions,
  wake: (taskId: string, cb: () => void) => () => void,
): AsyncGenerator<EventRow> {
  let after = options.afterId ?? 0;
  const page = 500;
  for (;;) {
    const batch = await store.eventList(taskId, { afterId: after, limit: page });
    for (const e of batch) {
      after = e.id;
      yield e;
    }
    if (batch.length === page) continue;
    if (!options.follow || options.signal?.aborted) return;
    const task = await store.taskGet(taskId);
    if (!task || isFinalStatus(task.status)) {
      for (;;) {
        const rest = await store.eventList(taskId, { afterId: after, limit: page });
        for (const e of rest) {
          after = e.id;
          yield e;
        }
        if (rest.length < page) return;
      }
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, options.pollMs ?? 250);
      const unwake = wake(taskId, done);
      const onAbort = () => done();
      options.signal?.addEventListener("abort", onAbort, { once: true });
      function done() {
        clearTimeout(timer);
        unwake();
        options.signal?.removeEventListener("abort", onAbort);
        resolve();
      }
    });
  }
}
