/**
 * sleep: waits `ms` milliseconds, reporting progress, and stops at once when cancelled,
 * timed out or shut down.
 *
 *   tasklane add sleep --params '{"ms":5000}'
 */
import { setTimeout as wait } from "node:timers/promises";
import { defineTask } from "tasklane";
import { z } from "zod";

export default defineTask({
  name: "sleep",
  description: "Waits `ms` milliseconds; honours cancel.",
  params: z.strictObject({
    ms: z.number().int().min(0).max(86_400_000).default(1000),
  }),
  async run(ctx) {
    const { ms } = ctx.params;
    const began = Date.now();
    ctx.progress(0, ms, "sleeping");
    for (let slept = 0; slept < ms; slept = Date.now() - began) {
      // Rejects with ctx.signal.reason the moment the task is cancelled.
      await wait(Math.min(250, ms - slept), undefined, { signal: ctx.signal });
      ctx.progress(Math.min(ms, Date.now() - began), ms, "sleeping");
    }
    return { slept: ms };
  },
});
