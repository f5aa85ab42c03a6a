/**
 * steps: the slow task of the browser tests. It reports progress after each step and logs a
 * line per step (with a level by step number), so the page has live progress and a live log to
 * show; it stops between steps when its signal aborts (cancel).
 */
import { setTimeout as sleep } from "node:timers/promises";
import { defineTask } from "tasklane";

/** One line per step, cycling through the levels, so a log shows each of them. */
const LINES = [
  ["info", (i, n) => `step ${i} of ${n} done`],
  ["debug", (i) => `checkpoint ${i} written`],
  ["info", (i, n) => `step ${i} of ${n} done`],
  ["warn", (i) => `step ${i} was slow, continuing`],
];

export default defineTask({
  name: "steps",
  description: "Counts through N steps of stepMs each, reporting progress and logging every step.",
  attempts: 1,
  async run(ctx) {
    const { steps = 20, stepMs = 250, failAt = 0 } = ctx.params ?? {};
    ctx.log.info("started", { steps, stepMs });
    ctx.progress(0, steps, "warming up");
    for (let i = 1; i <= steps; i++) {
      await sleep(stepMs, undefined, { signal: ctx.signal });
      if (i === failAt) throw new Error(`step ${i} failed: the upstream API answered 503`);
      const [level, text] = LINES[i % LINES.length];
      ctx.log[level](text(i, steps), { step: i });
      ctx.progress(i, steps, `step ${i}`);
    }
    ctx.log.info("all steps done");
    return { steps, checksum: steps * (steps + 1) / 2 };
  },
});
