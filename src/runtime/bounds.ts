import type { TaskErrorInfo } from "../model/task-row.js";

/**
 * Limits on what a run stores. A handler that throws a 10 MB message, or returns a 100 MB
 * object, would otherwise have it written whole on every attempt (and read back by every list).
 */

/** Longest error message and stack stored, characters each; the rest is cut, with a marker. */
export const MAX_ERROR_TEXT = 64 * 1024;
/** Longest error name and code stored, characters. */
const MAX_ERROR_LABEL = 200;
/** Default largest result stored, bytes of JSON (like the HTTP body limit). */
export const DEFAULT_MAX_RESULT_BYTES = 1024 * 1024;
/** Bounds of the `maxResultBytes` worker option. */
export const MIN_RESULT_LIMIT = 1024;
export const MAX_RESULT_LIMIT = 256 * 1024 * 1024;

/** `text` cut to `max` characters; a cut is marked with how much was dropped. */
export function capText(text: string, max: number = MAX_ERROR_TEXT): string {
  if (text.length <= max) return text;
  const marker = `… [cut: ${text.length - max} more characters]`;
  return text.slice(0, max - marker.length) + marker;
}

/** The error as stored: message and stack at most {@link MAX_ERROR_TEXT} characters each. */
export function boundError(info: TaskErrorInfo): TaskErrorInfo {
  const out: TaskErrorInfo = { name: capText(String(info.name), MAX_ERROR_LABEL), message: capText(String(info.message)) };
  if (info.code !== undefined) out.code = capText(String(info.code), MAX_ERROR_LABEL);
  if (info.stack !== undefined) out.stack = capText(String(info.stack));
  return out;
}

/** Why a result cannot be stored, or null when it can: not JSON, or larger than `limitBytes`. */
export function resultProblem(json: string | undefined, limitBytes: number): TaskErrorInfo | null {
  if (json === undefined) return null;
  // Cheap pre-check: a string of n UTF-16 units is at least n and at most 3n bytes of UTF-8.
  if (json.length <= limitBytes / 3) return null;
  const bytes = Buffer.byteLength(json);
  if (bytes <= limitBytes) return null;
  return {
    name: "ResultTooLargeError",
    message: `result is ${bytes} bytes of JSON, over the ${limitBytes}-byte limit (worker option maxResultBytes); store large output elsewhere and return a reference`,
  };
}
