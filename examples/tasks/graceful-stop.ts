/**
 * graceful-stop: a long loop that checks `ctx.signal` between steps and, when aborted, stops
 * cleanly and logs why (`ctx.signal.reason.kind`: cancelled, timeout, shutdown or lease-lost).
 * Try `tasklane cancel <id>`, or stop the worker with Ctrl-C while it runs.
 *
 *   tasklane add graceful-stop --params '{"seconds":60}'
 */
import { setTimeout as wait } from "node:timers/promises";
import { defineTask, type TaskAbortedError } from "tasklane";
import { z } from "zod";

export default defineTask({
  name: "graceful-stop",
  description: "A long loop that stops cleanly when its signal aborts, logging why.",
  params: z.strictObject({
    seconds: z.number().positive().max(86_400).default(60),
    /** One step of work, ms. */
    stepMs: z.number().int().min(10).max(60_000).default(200),
  }),
  async run(ctx) {
    const { seconds, stepMs } = ctx.params;
    const steps = Math.ceil((seconds * 1000) / stepMs);
    let step = 0;
    for (; step < steps; step++) {
      if (ctx.signal.aborted) {
        const reason = ctx.signal.reason as TaskAbortedError | undefined;
        const kind = reason?.kind ?? "unknown";
        // A real task would flush, close files or roll back here.
        ctx.log.info(`stopping cleanly: ${kind}`, { kind, step, steps, reason: reason?.message });
        throw ctx.signal.reason;
      }
      // Each step is a unit of work that is never interrupted half-way.
      await wait(stepMs);
      ctx.progress(step + 1, steps, "working");
    }
    ctx.log.info("finished all steps", { steps });
    return { steps };
  },
});
