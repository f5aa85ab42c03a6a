import { reportError } from "./errors.js";
import { buildProgram } from "./program.js";

/**
 * Entry point of the `tasklane` bin. Resolves to the exit code; every error a user can cause
 * is printed as one `tasklane: <message>` line.
 */
export async function main(argv: string[] = process.argv): Promise<number> {
  // `tasklane ls | head` closes the pipe early: that is not an error.
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(0);
    throw error;
  });
  try {
    await buildProgram().parseAsync(argv);
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (error) {
    return reportError(error);
  }
}
