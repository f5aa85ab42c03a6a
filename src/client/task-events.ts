import type { Store, TaskEventRow } from "../store/store.js";
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

/** One `watchChanges` subscription per store, shared by all its followers. */
const watchers = new WeakMap<Store, { subs: Set<() => void>; off: () => void }>();

function watchStore(store: Store, fn: () => void): () => void {
  if (!store.watchChanges) return () => {};
  let w = watchers.get(store);
  if (!w) {
    const subs = new Set<() => void>();
    const off = store.watchChanges(() => {
      for (const s of subs) s();
    });
    w = { subs, off };
    watchers.set(store, w);
  }
  const entry = w;
  entry.subs.add(fn);
  return () => {
    entry.subs.delete(fn);
    if (entry.subs.size === 0) {
      entry.off();
      watchers.delete(store);
    }
  };
}

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
  const signal = options.signal;
  let after = options.after ?? (await store.taskEventLastId());
  const batch = 500;
  let dirty = false;
  let wake: (() => void) | null = null;
  const poke = () => {
    dirty = true;
    wake?.();
  };
  const offs = LOCAL_EVENTS.map((e) => lane.on(e, poke));
  const unwatch = watchStore(lane.store, poke);
  signal?.addEventListener("abort", poke);
  try {
    while (!signal?.aborted) {
      dirty = false;
      const rows = await store.taskEventList({ afterId: after, owner: options.owner, limit: batch });
      for (const row of rows) {
        after = row.id;
        yield row;
        if (signal?.aborted) return;
      }
      if (rows.length === batch || dirty) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, options.pollMs ?? 500);
        wake = done;
        function done() {
          clearTimeout(timer);
          wake = null;
          resolve();
        }
      });
    }
  } finally {
    for (const off of offs) off();
    unwatch();
    signal?.removeEventListener("abort", poke);
  }
}
