/** How often the parent is checked, ms. */
const CHECK_MS = 500;

/**
 * Under `npx tasklane start & pid=$!`, `$!` is npm, and npm does not pass SIGTERM on to the
 * command it runs: `kill -TERM $pid` ended npm and left this node running with parent 1. When
 * started by `npm exec`/`npx`, this calls `onGone` (the SIGTERM path) once the launcher is gone.
 * Not otherwise: a node started with `nohup … &` outlives its shell on purpose.
 */
export function watchNpmLauncher(onGone: () => void, env: NodeJS.ProcessEnv = process.env): () => void {
  if (env.npm_command !== "exec" && env.npm_lifecycle_event !== "npx") return () => {};
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    onGone();
  }, CHECK_MS);
  timer.unref();
  return () => clearInterval(timer);
}
