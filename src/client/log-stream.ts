import { isFinalStatus } from "../model/status.js";
import type { EventRow } from "../model/task-row.js";
import type { Store } from "../store/store.js";
import { follow } from "./follower.js";

export interface LogsOptions {
  /** Keep reading new lines until the task reaches a final status. */
  follow?: boolean;
  /** Start after this line id (a cursor from an earlier read). */
  afterId?: number;
  /**
   * Fallback poll while following, ms [250]. This process's own progress and task ends wake the
   * follow at once, and so do other processes' commits on a store with a change watch (SQLite).
   */
  pollMs?: number;
  /** Stops a follow early. */
  signal?: AbortSignal;
}

const PAGE = 500;

/**
 * Reads a task's log lines in order. Following ends once the task is final *and* every line
 * written before that has been read: runs write their last lines before their finish.
 * `onLocalChange` subscribes to this process's changes of the task.
 */
export async function* readLogs(
  store: Store,
  taskId: string,
  options: LogsOptions,
  onLocalChange: (wake: () => void) => () => void,
): AsyncGenerator<EventRow> {
  const read = (afterId: number, limit: number) => store.eventList(taskId, { afterId, limit });
  if (!options.follow) {
    let after = options.afterId ?? 0;
    for (;;) {
      const batch = await read(after, PAGE);
      for (const line of batch) {
        after = line.id;
        yield line;
      }
      if (batch.length < PAGE) return;
    }
  }
  yield* follow({
    store,
    after: options.afterId ?? 0,
    read,
    finished: async () => {
      const task = await store.taskGet(taskId);
      return !task || isFinalStatus(task.status);
    },
    onLocalChange,
    pollMs: options.pollMs ?? 250,
    signal: options.signal,
  });
}
