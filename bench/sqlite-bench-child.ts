/**
 * The other process of bench/sqlite-bench.ts's cross-process phases (not run by hand).
 *
 *   tsx bench/sqlite-bench-child.ts worker <db>
 *       A Tasklane worker (concurrency 10) for task type `xlat`; prints "ready" once started,
 *       then "s <seq> <epoch ms>" as each handler starts. Stops at "stop" on stdin.
 *   tsx bench/sqlite-bench-child.ts holder <db> <holdMs> <gapMs> <forMs>
 *       Takes the write lock (BEGIN IMMEDIATE, retried every ~50 µs), holds it <holdMs>, writes a
 *       row, commits, waits <gapMs>, again, for <forMs>; prints "ready" first and "done <commits>"
 *       at the end.
 */
import readline from "node:readline";
import Database from "better-sqlite3";
import { Tasklane, defineTask } from "../src/index.js";

const [role, db, ...rest] = process.argv.slice(2);
const epochNow = () => performance.timeOrigin + performance.now();

if (role === "worker") {
  const xlat = defineTask<{ seq: number }>({
    name: "xlat",
    run(ctx) {
      process.stdout.write(`s ${ctx.params.seq} ${epochNow()}\n`);
      return null;
    },
  });
  const lane = await Tasklane.open({ db: "sqlite:" + db, tasks: [xlat], worker: { concurrency: 10, overload: false }, node: "bench-child" });
  await lane.start();
  console.log("ready");
  for await (const line of readline.createInterface({ input: process.stdin })) if (line.trim() === "stop") break;
  await lane.close({ graceMs: 1000 });
  process.stdin.destroy(); // readline leaves stdin open, which would keep this process alive
} else if (role === "holder") {
  const [holdMs, gapMs, forMs] = rest.map(Number) as [number, number, number];
  const conn = new Database(db!, { timeout: 15_000 });
  conn.pragma("journal_mode = WAL");
  conn.exec("CREATE TABLE IF NOT EXISTS bench_holder (at REAL NOT NULL)");
  const insert = conn.prepare("INSERT INTO bench_holder (at) VALUES (?)");
  const cell = new Int32Array(new SharedArrayBuffer(4));
  console.log("ready");
  const end = performance.now() + forMs;
  let commits = 0;
  // Its own lock waits are short spins, so that it keeps its duty (e.g. 0.5 ms held of every 2) whatever
  // the other side does: the figure is how the other side waits, not how this one does.
  conn.pragma("busy_timeout = 0");
  const begin = () => {
    for (;;) {
      try {
        return conn.exec("BEGIN IMMEDIATE");
      } catch {
        Atomics.wait(cell, 0, 0, 0.05);
      }
    }
  };
  while (performance.now() < end) {
    begin();
    Atomics.wait(cell, 0, 0, holdMs);
    insert.run(epochNow());
    conn.exec("COMMIT");
    commits += 1;
    Atomics.wait(cell, 0, 0, gapMs);
  }
  conn.close();
  console.log(`done ${commits}`);
} else {
  console.error(`unknown role ${role}`);
  process.exit(2);
}
