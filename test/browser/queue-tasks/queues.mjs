/**
 * The task types of the queues page test (test/browser/queues.spec.ts): several types, so the
 * page has several rows. Each waits `ms` and fails when its params say so.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { defineTask } from "tasklane";

const type = (name, description, concurrency) =>
  defineTask({
    name,
    description,
    attempts: 1,
    ...(concurrency ? { concurrency } : {}),
    async run(ctx) {
      const { ms = 20, fail = false } = ctx.params ?? {};
      await sleep(ms, undefined, { signal: ctx.signal });
      if (fail) throw new Error(`${name} failed: the upstream API answered 503`);
      return { ok: true };
    },
  });

export default [
  type("send-email", "Sends one email."),
  type("resize-image", "Resizes an image to its thumbnails.", 2),
  type("export-report", "Builds a report export.", 1),
  type("sync-inventory", "Pulls stock levels from the warehouse."),
];
