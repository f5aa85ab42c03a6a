import type { Context, MiddlewareHandler } from "hono";

/** Most of an oversized body read (and discarded) so that its sender can read the 413. */
const MAX_DISCARD_BYTES = 64 * 1024 * 1024;
/** Longest a sender of an oversized body is waited for. */
const MAX_DISCARD_MS = 30_000;

/**
 * Refuses bodies over `maxSize` bytes with `onTooLarge` (a 413). Unlike hono's `bodyLimit`, the
 * rest of an oversized body is read and thrown away before the answer goes out (up to 64 MiB or
 * 30 s): a server that answers and closes while the client is still sending resets the
 * connection, and the client sees EPIPE instead of the 413.
 */
export function bodyLimit(maxSize: number, onTooLarge: (c: Context) => Response): MiddlewareHandler {
  return async (c, next) => {
    const body = c.req.raw.body;
    if (!body) return next();
    const declared = c.req.raw.headers.has("transfer-encoding") ? null : Number(c.req.raw.headers.get("content-length") ?? NaN);
    if (declared !== null && Number.isFinite(declared)) {
      if (declared <= maxSize) return next();
      // Too big to be worth reading: answer at once and drop the connection.
      if (declared > MAX_DISCARD_BYTES) return closing(onTooLarge(c));
    }
    const reader = body.getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    const deadline = Date.now() + MAX_DISCARD_MS;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size <= maxSize) chunks.push(value);
      else if (size > MAX_DISCARD_BYTES || Date.now() > deadline) {
        await reader.cancel().catch(() => undefined);
        return closing(onTooLarge(c));
      }
    }
    if (size > maxSize) return onTooLarge(c);
    const whole = new Uint8Array(size);
    let offset = 0;
    for (const chunk of chunks) {
      whole.set(chunk, offset);
      offset += chunk.length;
    }
    c.req.raw = new Request(c.req.raw, { body: whole });
    return next();
  };
}

/** The connection cannot be reused when the rest of the body was not read. */
function closing(response: Response): Response {
  response.headers.set("Connection", "close");
  return response;
}
