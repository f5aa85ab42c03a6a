/**
 * Seeds a database with many tasks fast, through the library's `addMany` (one transaction per
 * batch of 1,000). The tasks are of the type `bulk`, which the test server has no handler for,
 * so they stay queued and the list really holds that many rows.
 *
 *   node test/browser/seed-tasks.mjs sqlite:/tmp/x.db 100000
 * Prints `{ "count", "ms" }`.
 */
import { Tasklane, defineTask } from "../../dist/index.js";

const [db, countArg] = process.argv.slice(2);
const count = Number(countArg ?? 100_000);
const BATCH = 1000;
const OWNERS = ["admin", "alice", "bob", "carol"];

// synchronous "normal": seeding test data needs no fsync per batch (a crash here only fails the test).
const lane = await Tasklane.open({ db, synchronous: "normal", tasks: [defineTask({ name: "bulk", run: async () => null })] });
const t0 = performance.now();
for (let start = 0; start < count; start += BATCH) {
  const items = [];
  for (let i = start; i < Math.min(count, start + BATCH); i++) {
    items.push({ type: "bulk", params: { n: i }, options: { owner: OWNERS[i % OWNERS.length], name: `import order ${i}` } });
  }
  await lane.addMany(items);
}
const ms = Math.round(performance.now() - t0);
await lane.close();
console.log(JSON.stringify({ count, ms }));
