import pg from "pg";
import type { ChangeHint, ChangeWatcher } from "../store.js";

/** The NOTIFY channel for wake-ups; the payload is the schema, so schemas sharing a database stay apart. */
export const WAKE_CHANNEL = "tasklane_wake";

/** NOTIFY payloads are limited to 8,000 bytes; past this, a wake-up names no types (wakes every node). */
const MAX_TYPES_PAYLOAD = 7000;

/**
 * Payloads on the wake channel: `schema` (work due now, of any type), `schema:work:["a","b"]`
 * (work due now of these types: a node that runs none of them stays asleep), `schema:at:MS`
 * (work added that is due at MS by the database clock, none due now), `schema:cancel`,
 * `schema:schedules`, `schema:types` (a type paused or resumed). Other schemas' payloads are
 * ignored.
 */
export function parseWakePayload(schema: string, payload: string): { hint: ChangeHint; dueAt?: number; types?: string[] } | null {
  if (payload === schema) return { hint: "work" };
  if (!payload.startsWith(`${schema}:`)) return null;
  const rest = payload.slice(schema.length + 1);
  if (rest === "cancel") return { hint: "cancel" };
  if (rest === "schedules") return { hint: "schedules" };
  if (rest === "types") return { hint: "types" };
  if (rest.startsWith("at:")) {
    const dueAt = Number(rest.slice(3));
    return Number.isFinite(dueAt) ? { hint: "work", dueAt } : { hint: "work" };
  }
  if (rest.startsWith("work:")) {
    try {
      const types: unknown = JSON.parse(rest.slice(5));
      if (Array.isArray(types) && types.every((t) => typeof t === "string")) return { hint: "work", types };
    } catch {
      // Not ours to judge: wake for any type rather than miss work.
    }
    return { hint: "work" };
  }
  return null;
}

/** The payload announcing work due now of `types` (see parseWakePayload). */
export function wakePayloadFor(schema: string, types: string[]): string {
  const named = `${schema}:work:${JSON.stringify(types)}`;
  return Buffer.byteLength(named) <= MAX_TYPES_PAYLOAD ? named : schema;
}

/**
 * Wake-ups: one LISTEN connection per store, opened with the first watcher, re-established after
 * the database restarts. A connection of its own, apart from the pools.
 */
export class PgWakeups {
  private listener: pg.Client | null = null;
  private readonly watchers = new Set<ChangeWatcher>();
  private listenRetry: NodeJS.Timeout | null = null;
  /** A LISTEN connection exists, is being opened, or will be retried. */
  private listening = false;
  private closed = false;

  constructor(
    private readonly url: string,
    private readonly schema: string,
    /** Told of every `types` notice, and after a reconnect (a notice may have been missed). */
    private readonly onTypesChanged: () => void = () => {},
  ) {}

  watchChanges(onChange: ChangeWatcher): () => void {
    this.watchers.add(onChange);
    // Set before the first await in listen(): two watchers added in one turn share one connection.
    if (!this.listening) {
      this.listening = true;
      void this.listen();
    }
    return () => {
      this.watchers.delete(onChange);
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.listenRetry) clearTimeout(this.listenRetry);
    const listener = this.listener;
    this.listener = null;
    await listener?.end().catch(() => undefined);
  }

  private async listen(): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client({ connectionString: this.url, application_name: "tasklane-listen" });
    const retry = () => {
      if (this.listener === client) this.listener = null;
      client.end().catch(() => undefined);
      if (this.closed || this.listenRetry || this.watchers.size === 0) {
        if (!this.listenRetry) this.listening = false;
        return;
      }
      this.listenRetry = setTimeout(() => {
        this.listenRetry = null;
        void this.listen();
      }, 1000);
    };
    client.on("error", retry);
    client.on("end", retry);
    client.on("notification", (n) => {
      const wake = parseWakePayload(this.schema, n.payload ?? "");
      if (!wake) return;
      if (wake.hint === "types") this.onTypesChanged();
      for (const watcher of this.watchers) watcher(wake.hint, wake.dueAt, wake.types);
    });
    // Known from the start, so close() ends it even while it is still connecting.
    this.listener = client;
    try {
      await client.connect();
      await client.query(`LISTEN ${WAKE_CHANNEL}`);
      if (this.closed) {
        await client.end().catch(() => undefined);
        return;
      }
      // Anything committed while not listening: let the watchers look once.
      this.onTypesChanged();
      for (const watcher of this.watchers) watcher("any");
    } catch {
      retry();
    }
  }
}
