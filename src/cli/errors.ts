import { TasklaneError } from "../model/errors.js";

/**
 * An error the user caused (bad flag, bad config, unknown file): printed as one line
 * `tasklane: <message>` with exit code 1 and no stack trace.
 */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = "CliError";
    this.exitCode = exitCode;
  }
}

interface CommanderLikeError {
  code: string;
  exitCode: number;
  message: string;
}

function codeOf(error: unknown): string | undefined {
  const code = error instanceof Error ? (error as Error & { code?: unknown }).code : undefined;
  return typeof code === "string" ? code : undefined;
}

function isCommanderError(error: unknown): error is CommanderLikeError {
  return codeOf(error)?.startsWith("commander.") === true && typeof (error as { exitCode?: unknown }).exitCode === "number";
}

/** True for errors of Tasklane itself (`TasklaneError` subclasses), even from another copy of the package. */
function isTasklaneError(error: unknown): error is TasklaneError {
  if (error instanceof TasklaneError) return true;
  if (codeOf(error) === undefined) return false;
  for (let proto = Object.getPrototypeOf(error); proto; proto = Object.getPrototypeOf(proto)) {
    if ((proto as { constructor?: { name?: string } }).constructor?.name === "TasklaneError") return true;
  }
  return false;
}

/** One line: newlines folded, commander's `error: ` prefix removed. */
export function oneLine(message: string): string {
  return message
    .replace(/^error:\s*/i, "")
    .replace(/\s*\n\s*/g, " ")
    .trim();
}

/**
 * Reports an error the way the CLI promises and returns the exit code: one `tasklane:` line
 * for anything a user can cause; the stack only for unexpected errors and only with
 * `TASKLANE_DEBUG=1`.
 */
export function reportError(error: unknown, write: (line: string) => void = (l) => process.stderr.write(l)): number {
  const debug = process.env.TASKLANE_DEBUG === "1";
  if (isCommanderError(error)) {
    // --help and --version end through here too, with exit code 0 and their output written.
    if (error.code === "commander.helpDisplayed" || error.code === "commander.version" || error.code === "commander.help") {
      return error.exitCode;
    }
    write(`tasklane: ${oneLine(error.message)}\n`);
    return 1;
  }
  if (error instanceof CliError) {
    write(`tasklane: ${oneLine(error.message)}\n`);
    return error.exitCode;
  }
  if (isTasklaneError(error)) {
    write(`tasklane: ${oneLine(error.message)}\n`);
    if (debug && error.stack) write(error.stack + "\n");
    return 1;
  }
  const message = error instanceof Error ? error.message : String(error);
  write(`tasklane: unexpected error: ${oneLine(message)}${debug ? "" : " (set TASKLANE_DEBUG=1 for details)"}\n`);
  if (debug && error instanceof Error && error.stack) write(error.stack + "\n");
  return 1;
}
