/**
 * Taking SQLite's write lock when another process (or connection) holds it.
 *
 * Why not SQLite's own busy handler (`PRAGMA busy_timeout`): it sleeps whole milliseconds between
 * tries — 1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, then 100 ms each — so a writer that arrives
 * while another process commits a 100 µs transaction sleeps 1 ms at best, and one that has been
 * unlucky a few times sleeps 25–100 ms while the lock sits free. Here the caller sets the busy
 * timeout to 0 around `BEGIN IMMEDIATE` and this loop retries with a short sleep that starts at
 * tens of µs and grows to 1 ms, until the same total budget (`busyTimeoutMs`) is spent; then the
 * last SQLITE_BUSY error ("database is locked") is thrown, the same error as before.
 */

/** The first sleep between tries, ms: about one short transaction of another process. */
const FIRST_SLEEP_MS = 0.02;
/** The longest sleep between tries, ms: a waiter notices a freed lock within about this. */
const MAX_SLEEP_MS = 1;

const sleepCell = new Int32Array(new SharedArrayBuffer(4));

/**
 * Sleeps `ms` (fractional) without leaving the thread: the write path is synchronous (the store's
 * statements run on this thread), and `Atomics.wait` has µs granularity where timers have 1 ms.
 * (On Linux a 20 µs wait takes ~60–90 µs in practice: the kernel's timer slack.)
 */
export function sleepSync(ms: number): void {
  Atomics.wait(sleepCell, 0, 0, ms);
}

export function isBusyError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && (code === "SQLITE_BUSY" || code.startsWith("SQLITE_BUSY_"));
}

/**
 * Runs `attempt` until it does not throw SQLITE_BUSY, or `budgetMs` has passed. `attempt` runs
 * again, so a SQLITE_BUSY it throws after changing something (`retryable` says false) is thrown
 * at once. `sleep` is for tests.
 */
export function retryWhileBusy<T>(
  attempt: () => T,
  budgetMs: number,
  retryable: (error: unknown) => boolean = () => true,
  sleep: (ms: number) => void = sleepSync,
): T {
  let deadline = -1;
  let pause = FIRST_SLEEP_MS;
  for (;;) {
    try {
      return attempt();
    } catch (error) {
      if (!isBusyError(error) || !retryable(error)) throw error;
      const now = performance.now();
      if (deadline < 0) deadline = now + budgetMs;
      const left = deadline - now;
      if (left <= 0) throw error;
      // Jitter, so that two waiters that lost to the same commit do not retry in lockstep.
      sleep(Math.min(left, pause * (0.5 + Math.random())));
      pause = Math.min(MAX_SLEEP_MS, pause * 2);
    }
  }
}
