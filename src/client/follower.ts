import type { Store } from "../store/store.js";

/** How to follow one append-only log whose rows carry growing ids (log lines, task events). */
export interface FollowSpec<T extends { id: number }> {
  store: Store;
  /** Start after this id. */
  after: number;
  /** Up to `limit` rows with an id above `after`, oldest first. */
  read(after: number, limit: number): Promise<T[]>;
  /**
   * Asked when a read came back short: true ends the follow once the rows written before the
   * answer are read (a finished task's last lines). Absent: follow until `signal` aborts.
   */
  finished?(): Promise<boolean>;
  /** Subscribes to this process's own changes that may have added rows; returns the unsubscribe. */
  onLocalChange(wake: () => void): () => void;
  /** Floor of the wait while idle, ms: other processes' changes on a store that cannot announce them. */
  pollMs: number;
  signal?: AbortSignal;
}

const BATCH = 500;

/**
 * Yields every row after `after` in id order, then waits for more: woken at once by this
 * process's changes and by the store's change watch (other processes' commits: SQLite's change
 * counter, PostgreSQL notifications), else after `pollMs`. A wake-up that arrives while a read
 * is in flight is not lost: the next read starts at once.
 */
export async function* follow<T extends { id: number }>(spec: FollowSpec<T>): AsyncGenerator<T> {
  const { signal } = spec;
  let after = spec.after;
  let dirty = false;
  let wake: (() => void) | null = null;
  const poke = () => {
    dirty = true;
    wake?.();
  };
  const offLocal = spec.onLocalChange(poke);
  const offStore = watchStore(spec.store, poke);
  signal?.addEventListener("abort", poke);
  try {
    while (!signal?.aborted) {
      dirty = false;
      const rows = await spec.read(after, BATCH);
      for (const row of rows) {
        after = row.id;
        yield row;
        if (signal?.aborted) return;
      }
      if (rows.length === BATCH || dirty) continue;
      if (spec.finished && (await spec.finished())) {
        // Rows are written before the change that finishes the log: read what is left, then stop.
        for (;;) {
          const rest = await spec.read(after, BATCH);
          for (const row of rest) {
            after = row.id;
            yield row;
          }
          if (rest.length < BATCH) return;
        }
      }
      if (dirty) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, spec.pollMs);
        wake = done;
        function done() {
          clearTimeout(timer);
          wake = null;
          resolve();
        }
      });
    }
  } finally {
    offLocal();
    offStore();
    signal?.removeEventListener("abort", poke);
  }
}

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
