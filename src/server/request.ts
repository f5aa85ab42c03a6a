import type { Context } from "hono";
import type { z } from "zod";
import type { UserRow } from "../store/store.js";
import { HttpError, validationError } from "./errors.js";

/** Per-request values set by the middleware. */
export type HttpEnv = { Variables: { user: UserRow } };

/** The query string as an object (last value wins), without the `token` auth parameter. */
export function parseQuery<S extends z.ZodType>(c: Context, schema: S): z.infer<S> {
  const raw: Record<string, string> = {};
  const url = new URL(c.req.url);
  for (const [k, v] of url.searchParams) if (k !== "token") raw[k] = v;
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw validationError("query", parsed.error, schema);
  return parsed.data;
}

/** The JSON body, validated; 415 for another or no content type, 400 for malformed JSON or a schema failure. */
export async function parseJsonBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.infer<S>> {
  const type = c.req.header("content-type");
  // Required, not assumed: a form or a text body is a client's mistake to report, not to guess.
  if (type === undefined || !/^application\/([\w.+-]+\+)?json\s*(;|$)/i.test(type)) {
    const got = type === undefined ? "no Content-Type header" : `"${type.slice(0, 100)}"`;
    throw new HttpError(415, "UNSUPPORTED_MEDIA_TYPE", `content-type: expected application/json, got ${got}`, { field: "content-type" });
  }
  const text = await c.req.text();
  if (text.trim() === "") throw new HttpError(400, "INVALID_JSON", "body: expected a JSON object, got an empty body", { field: "body" });
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new HttpError(400, "INVALID_JSON", `body: malformed JSON (${(error as Error).message.slice(0, 200)})`, { field: "body" });
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw validationError("body", parsed.error, schema);
  return parsed.data;
}

export function pathParam<S extends z.ZodType>(c: Context, name: string, schema: S): z.infer<S> {
  const parsed = schema.safeParse(c.req.param(name));
  if (!parsed.success) {
    const message = parsed.error.issues[0]?.message ?? "invalid";
    throw new HttpError(400, "VALIDATION_FAILED", `${name}: ${message}`, { field: name });
  }
  return parsed.data;
}

export function isAdmin(user: UserRow): boolean {
  return user.role === "admin";
}
