import { WAKE_CHANNEL, wakePayloadFor } from "./postgres-notify.js";

/**
 * Wake-ups for committed adds, sent after the add's commit and coalesced: at most one NOTIFY
 * statement of this store in flight; adds committed meanwhile are announced together by the next.
 *
 * Why not `pg_notify` inside the add (as before): a transaction that notifies takes a
 * cluster-wide lock at commit and holds it until its commit record is flushed, so every
 * notifying add in the cluster commits one after another. Measured on this 2-core machine, 16
 * connections each adding one row at a time: 1,387-1,889 adds/s without the notify, 298-380
 * with it; 16 single-add loops over 8 stores: 147-186 adds/s before this sender (see the
 * changelog for after). The NOTIFY here goes through the bookkeeping connections, which commit
 * without waiting for the flush, so the lock is held for microseconds.
 *
 * What it costs: a wake-up arrives one round trip after the add commits, not at its commit; and
 * if this process dies between the two, the task waits for the workers' fallback poll (10 s on
 * PostgreSQL) instead of starting at once. It is never lost: it is committed.
 * Transactional adds (`tx`) still notify inside the caller's transaction, so they wake workers
 * only if the caller commits.
 */
export class WakeSender {
  /** Types with work due now, waiting for the next NOTIFY. */
  private dueNow = new Set<string>();
  /** The earliest due time (database clock, epoch ms) of work added for later, waiting. */
  private dueAt: number | null = null;
  private inFlight: Promise<void> | null = null;

  constructor(
    private readonly schema: string,
    /** Sends the payloads in one statement. */
    private readonly send: (channel: string, payloads: string[]) => Promise<void>,
  ) {}

  /** Announces committed work: `types` due now, or (when `dueAt` is given) all due at `dueAt`. */
  wake(types: Iterable<string>, dueAt: number | null): void {
    if (dueAt === null) for (const type of types) this.dueNow.add(type);
    else this.dueAt = this.dueAt === null ? dueAt : Math.min(this.dueAt, dueAt);
    this.inFlight ??= this.drain();
  }

  /** Resolves once every wake-up asked for so far has been sent (or has failed). */
  async flush(): Promise<void> {
    while (this.inFlight) await this.inFlight;
  }

  private async drain(): Promise<void> {
    // A microtask's delay, so adds resolved in the same turn share the first NOTIFY too.
    await Promise.resolve();
    while (this.dueNow.size > 0 || this.dueAt !== null) {
      const payloads: string[] = [];
      if (this.dueNow.size > 0) payloads.push(wakePayloadFor(this.schema, [...this.dueNow]));
      if (this.dueAt !== null) payloads.push(`${this.schema}:at:${this.dueAt}`);
      this.dueNow = new Set();
      this.dueAt = null;
      // A failed NOTIFY (the database restarting) loses only the wake-up: the work is
      // committed, and the workers' fallback poll finds it.
      await this.send(WAKE_CHANNEL, payloads).catch(() => undefined);
    }
    this.inFlight = null;
  }
}
