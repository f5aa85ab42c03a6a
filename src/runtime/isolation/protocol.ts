import { NonRetryableError } from "../../model/errors.js";
import type { LogLevel } from "../../model/status.js";
import type { ParentOutcome, TaskRow } from "../../model/task-row.js";

/**
 * The messages between a node and its runners (worker threads or child processes). Values
 * cross by structured clone (`serialization: "advanced"` for processes), so Dates survive.
 */

/** What a runner needs of `ctx`: everything but the functions, which it builds itself. */
export interface ContextData {
  params: unknown;
  task: TaskRow;
  attempt: number;
  runId: string;
  node: string;
  parent: ParentOutcome | null;
}

export type ToRunner =
  /** First message: the handler modules to import before the runner reports ready. */
  | { t: "init"; modules: string[] }
  | { t: "run"; id: number; module: string; name: string; ctx: ContextData }
  | { t: "abort"; id: number; kind: string; message: string };

export type FromRunner =
  /** `heapBytes`: the runner's used heap, once its modules are loaded. */
  | { t: "ready"; heapBytes: number }
  | { t: "progress"; id: number; current: number; total: number | null | undefined; message: string | null | undefined }
  | { t: "log"; id: number; level: LogLevel; message: string; data: unknown }
  /** `json`: the result, serialised in the runner (it is stored as JSON anyway). */
  /** `heapBytes`: the runner's used heap after the run (for recycling a runner that grows). */
  | { t: "done"; id: number; ok: true; json: string; heapBytes: number }
  | { t: "done"; id: number; ok: false; error: ErrorData; heapBytes: number }
  /** The runner is about to die of this (uncaught exception, unhandled rejection, process.abort()). */
  | { t: "crash"; what: string; error: ErrorData | null };

/** An error as it crosses: enough to rebuild its class name, message, stack and retry rule. */
export interface ErrorData {
  name: string;
  message: string;
  stack?: string;
  code?: string;
  nonRetryable: boolean;
}

export function errorData(error: unknown): ErrorData {
  if (error instanceof Error) {
    const data: ErrorData = {
      name: String(error.name),
      message: String(error.message),
      // The handler may load its own copy of tasklane: its NonRetryableError is another class.
      nonRetryable: error instanceof NonRetryableError || error.name === "NonRetryableError",
    };
    if (error.stack) data.stack = String(error.stack);
    const code = (error as { code?: unknown }).code;
    if (typeof code === "string") data.code = code;
    return data;
  }
  let message: string;
  try {
    message = typeof error === "string" ? error : (JSON.stringify(error) ?? String(error));
  } catch {
    message = String(error);
  }
  return { name: "Error", message, nonRetryable: false };
}

/** The error as the node sees it: same name, message, stack and code; a NonRetryableError stays one. */
export function reviveError(data: ErrorData): Error {
  const error = data.nonRetryable ? new NonRetryableError(data.message) : new Error(data.message);
  error.name = data.name;
  if (data.stack !== undefined) error.stack = data.stack;
  else delete (error as { stack?: string }).stack;
  if (data.code !== undefined) (error as Error & { code?: string }).code = data.code;
  return error;
}

/** An error the node makes up for a run whose runner failed it (crash, exit, memory). */
export function runnerError(name: string, message: string): Error {
  const error = new Error(message);
  error.name = name;
  // The node's own stack says nothing about the handler.
  delete (error as { stack?: string }).stack;
  return error;
}
