/**
 * The scenario handlers, written once and wrapped by every adapter, so every system runs the
 * same work: a no-op, a start-time stamp, a realistic task (5–20 ms in 10 steps with progress),
 * and a long "hold" task for the failover scenario.
 */
import { sleep } from "../common.js";
import type { Payload, TaskKind, WorkerHooks } from "./types.js";

/** A hold task would run this long; long enough that failover is what restarts it. */
export const HOLD_MS = 30_000;

/**
 * Runs one task of `kind`. `progress(step)` is the system's native progress call (or absent).
 * Counting is done here, at handler end, for every system alike.
 */
export async function runHandler(
  kind: TaskKind,
  payload: Payload,
  hooks: WorkerHooks,
  progress?: (step: number, of: number) => unknown,
  signal?: AbortSignal,
): Promise<void> {
  hooks.started(kind, payload);
  if (kind === "real") {
    const step = (payload.ms ?? 10) / 10;
    for (let i = 1; i <= 10; i++) {
      await sleep(step);
      if (progress) await progress(i, 10);
    }
  } else if (kind === "hold") {
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, HOLD_MS);
      signal?.addEventListener("abort", () => {
        clearTimeout(t);
        resolve();
      });
    });
  }
  hooks.finished(kind);
}

export const KINDS: TaskKind[] = ["noop", "stamp", "real", "hold"];
