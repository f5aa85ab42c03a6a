/**
 * flaky: fails its first `failures` attempts, then succeeds; shows retries with backoff.
 * It has 5 attempts, so `failures` of 5 or more ends `failed`.
 *
 *   tasklane add flaky --params '{"failures":2}'
 */
import { defineTask } from "tasklane";
import { z } from "zod";

export default defineTask({
  name: "flaky",
  description: "Fails the first N attempts, then succeeds.",
  params: z.strictObject({
    failures: z.number().int().min(0).max(1000).default(2),
  }),
  attempts: 5,
  backoff: { type: "fixed", delay: "500ms", jitter: 0 },
  async run(ctx) {
    const { failures } = ctx.params;
    if (ctx.attempt <= failures) {
      ctx.log.warn(`attempt ${ctx.attempt}: failing on purpose`, { failures });
      throw new Error(`planned failure ${ctx.attempt} of ${failures}`);
    }
    ctx.log.info(`attempt ${ctx.attempt}: succeeding`, { failures });
    return { attempts: ctx.attempt };
  },
});
