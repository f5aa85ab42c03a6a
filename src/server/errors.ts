import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { knownKeysAt, nearest } from "../model/suggest.js";
import type { z } from "zod";
import { ParamsValidationError, TasklaneError } from "../model/errors.js";
import type { ErrorBody } from "./contract.js";


/** An error the HTTP layer answers with its status and a JSON body. */
export class HttpError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = "HttpError";
  }
}

/** Library error codes → HTTP status. */
const STATUS_OF_CODE: Record<string, ContentfulStatusCode> = {
  VALIDATION_FAILED: 400,
  UNKNOWN_TASK_TYPE: 400,
  TASK_NOT_FOUND: 404,
  SCHEDULE_NOT_FOUND: 404,
  TYPE_NOT_FOUND: 404,
  INVALID_STATE: 409,
  KEY_CONFLICT: 409,
  QUEUE_FULL: 429,
  SQL_TASKS_DISABLED: 400,
};

/** Maps any thrown value to status + body; unexpected errors become a bare 500 (logged, never shown). */
export function toErrorResponse(error: unknown): { status: ContentfulStatusCode; body: ErrorBody; unexpected: boolean } {
  if (error instanceof HttpError) {
    const body: ErrorBody = { error: { code: error.code, message: error.message } };
    if (error.details !== undefined) body.error.details = error.details;
    return { status: error.status, body, unexpected: false };
  }
  if (error instanceof ParamsValidationError) {
    // Params refused by the type's schema: name the field inside params, below the follow-up
    // that carries them if any (`then[0].params.n`).
    const issues = error.issues.map((i) => ({
      field: [error.field, ...(i.path ?? []).map((p) => String(typeof p === "object" ? p.key : p))].join("."),
      message: i.message,
    }));
    const first = issues[0] ?? { field: error.field!, message: error.message };
    return {
      status: 400,
      body: { error: { code: error.code, message: `${first.field}: ${first.message} (params of "${error.type}")`, details: { field: first.field, issues } } },
      unexpected: false,
    };
  }
  if (error instanceof TasklaneError && error.code === "UNKNOWN_TASK_TYPE" && error.details === undefined) {
    return { status: 400, body: { error: { code: error.code, message: `type: ${error.message}`, details: { field: "type" } } }, unexpected: false };
  }
  if (error instanceof TasklaneError && STATUS_OF_CODE[error.code] !== undefined) {
    const details = error.details ?? (error.field !== undefined ? { field: error.field } : undefined);
    const body: ErrorBody = { error: { code: error.code, message: error.message } };
    if (details !== undefined) body.error.details = details;
    return { status: STATUS_OF_CODE[error.code]!, body, unexpected: false };
  }
  return { status: 500, body: { error: { code: "INTERNAL", message: "internal error" } }, unexpected: true };
}

export function errorJson(c: Context, status: ContentfulStatusCode, code: string, message: string, details?: unknown): Response {
  const body: ErrorBody = { error: { code, message } };
  if (details !== undefined) body.error.details = details;
  return c.json(body, status);
}

/** A zod failure as a 400 naming each field: `{ code: VALIDATION_FAILED, details: { issues: [{ field, message }] } }`. */
export function validationError(_where: "body" | "query" | "path", error: z.ZodError, schema?: z.ZodType): HttpError {
  const issues = error.issues.flatMap((issue) => {
    const base = issue.path.map(String).join(".");
    if (issue.code === "unrecognized_keys") {
      // A misspelt field gets the nearest one the schema knows at that place.
      const known = schema ? knownKeysAt(schema, issue.path) : [];
      return issue.keys.map((k) => {
        const near = nearest(k, known);
        return { field: base ? `${base}.${k}` : k, message: `unknown field${near ? `; did you mean ${near}?` : ""}` };
      });
    }
    return [{ field: base || "(root)", message: issue.message }];
  });
  const first = issues[0]!;
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : "";
  return new HttpError(400, "VALIDATION_FAILED", `${first.field}: ${first.message}${more}`, {
    field: first.field,
    issues,
  });
}
