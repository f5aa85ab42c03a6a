import type { TaskEventRow } from "../store/store.js";
import { follow } from "./follower.js";
import type { TasklaneEventName } from "./events.js";
import type { Tasklane } from "./tasklane.js";

export type { TaskEventKind, TaskEventRow } from "../store/store.js";

export interface TaskEventsOptions {
  /** Events with an id greater than this [0]. */
  after?: number;
  /** Only events of this owner's tasks. */
  owner?: string;
  /** Most events returned, 1..10000 [500]. */
  limit?: number;
}

export interface FollowTaskEventsOptions {
  /** Start after this event id; default: the newest event now (only what happens from here on). */
  after?: number;
  owner?: string;
  /** Ends the follow. */
  signal?: AbortSignal;
  /**
   * Fallback poll while idle, ms [500]. Changes made by this process wake the follower at once,
   * other processes' commits within ~10 ms on SQLite (its change counter); the poll is the floor.
   */
  pollMs?: number;
}

/** Library events that mean the task event log grew (this process's own changes). */
const LOCAL_EVENTS: TasklaneEventName[] = [
  "task:added",
  "task:started",
  "task:succeeded",
  "task:failed",
  "task:retrying",
  "task:cancelled",
  "task:expired",
  "task:rescued",
  "task:released",
  "task:cancel-requested",
  "task:retried",
  "task:deleted",
];

/** One page of the task event log, oldest first. */
export async function listTaskEvents(lane: Tasklane, options: TaskEventsOptions = {}): Promise<TaskEventRow[]> {
  const limit = options.limit ?? 500;
  return lane.store.taskEventList({ afterId: options.after ?? 0, owner: options.owner, limit });
}

/**
 * Follows the task event log: yields every event after `after` in order, then waits for more,
 * until `signal` aborts. Resuming with the id of the last event seen loses nothing, across
 * restarts and processes: the log is durable and its ids grow in commit order.
 */
export async function* followTaskEvents(lane: Tasklane, options: FollowTaskEventsOptions = {}): AsyncGenerator<TaskEventRow> {
  const store = lane.store;
  yield* follow({
    store,
    after: options.after ?? (await store.taskEventLastId()),
    read: (afterId, limit) => store.taskEventList({ afterId, owner: options.owner, limit }),
    onLocalChange: (wake) => {
      const offs = LOCAL_EVENTS.map((e) => lane.on(e, wake));
      return () => offs.forEach((off) => off());
    },
    pollMs: options.pollMs ?? 500,
    signal: options.signal,
  });
}
