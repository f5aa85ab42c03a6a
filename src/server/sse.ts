import type { Context } from "hono";
import { streamSSE } from "hono/streaming";
import type { Logger } from "pino";
import { HttpError } from "./errors.js";

/** What every event stream of the API shares. */
export interface SseOptions {
  /** Interval of the `: keepalive` comment, ms: proxies drop connections that stay silent. */
  keepAliveMs: number;
  /** Where a stream that fails is logged (the client gets a bare `error` event); none: the console. */
  logger?: Logger;
}

/** Writes one event; `data` is sent as JSON. */
export type SseSend = (event: string, data: unknown, extra?: { id?: number; retry?: number }) => Promise<void>;

/**
 * The id a reconnecting client resumes after (`Last-Event-ID`, which browsers send by
 * themselves), or undefined when absent. Anything but an integer is a 400 before the stream
 * opens: resuming from a guess could skip or repeat events.
 */
export function lastEventId(c: Context): number | undefined {
  const raw = c.req.header("last-event-id");
  if (raw === undefined) return undefined;
  if (!/^\d{1,15}$/.test(raw.trim())) {
    throw new HttpError(400, "VALIDATION_FAILED", "last-event-id: expected an event id (an integer)", { field: "last-event-id" });
  }
  return Number(raw.trim());
}

/**
 * Answers with a Server-Sent Events stream that `produce` writes until it returns or the client
 * goes away (then `signal` aborts). A keep-alive comment goes out every `keepAliveMs`; a failure
 * is logged with the request's method and path, and ends the stream with `event: error`
 * `{ code: "INTERNAL" }`, never the cause.
 */
export function sseStream(c: Context, options: SseOptions, produce: (send: SseSend, signal: AbortSignal) => Promise<void>): Response {
  return streamSSE(c, async (stream) => {
    const abort = new AbortController();
    stream.onAbort(() => abort.abort());
    const ping = setInterval(() => void stream.write(": keepalive\n\n").catch(() => abort.abort()), options.keepAliveMs);
    const send: SseSend = (event, data, extra = {}) =>
      stream.writeSSE({ event, data: JSON.stringify(data), id: extra.id === undefined ? undefined : String(extra.id), retry: extra.retry });
    try {
      await produce(send, abort.signal);
    } catch (error) {
      if (!abort.signal.aborted) {
        (options.logger ?? console).error({ err: error, method: c.req.method, path: c.req.path }, "event stream failed");
        await send("error", { code: "INTERNAL", message: "internal error" }).catch(() => {});
      }
    } finally {
      clearInterval(ping);
    }
  });
}
