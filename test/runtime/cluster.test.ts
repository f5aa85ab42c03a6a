import pg from "pg";
import { describe, expect, it } from "vitest";
import { defineTask } from "../../src/index.js";
import { BACKENDS, sleep, useLanes, waitFor, waitForStatus } from "../helpers/lane.js";
import { TEST_PG_URL } from "../helpers/postgres.js";

// In isolation "none" only: nodes, their heartbeats, wait reasons, event follows, wake-ups and
// transactional adds are the node's and the store's, whatever runs the handlers (a cancel reaching a
// runner across nodes is in lifecycle.test.ts, which runs in "thread" too).
for (const backend of BACKENDS) {
  describe(`on ${backend}`, () => {
    const useLane = useLanes(backend);
    const job = defineTask({ name: "job", run: (ctx) => ctx.node });

    it("lists nodes with their heartbeat, types and load, and shows a stopped node offline", async () => {
      const file = useLane().file();
      const a = await useLane().open({ file, node: "node-a", tasks: [job], worker: { concurrency: 3 } });
      const observer = await useLane().open({ file, node: "observer" });
      await a.start();
      const listed = await waitFor(async () => (await observer.nodes()).find((n) => n.name === "node-a"), "node-a to heartbeat");
      expect(listed).toMatchObject({ status: "online", types: ["job"], concurrency: 3, pid: process.pid });
      await a.stop({ graceMs: 0 });
      const after = (await observer.nodes()).find((n) => n.name === "node-a");
      expect(after?.status).toBe("offline");
    });

    it("marks a node that stopped heartbeating offline and says so", async () => {
      const file = useLane().file();
      // A "dead" node: it heartbeated once, then went silent.
      const dead = await useLane().open({ file, node: "dead" });
      await dead.store.nodeHeartbeat({
        name: "dead", host: "h", pid: 1, version: "0", startedAt: new Date(), status: "online", types: ["job"],
        concurrency: 1, running: 0, cpuCapacity: 100, cpuUsed: 0, loadPerCore: 0, memoryBytes: 0, runners: null,
      });
      const live = await useLane().open({ file, node: "live", tasks: [job], worker: { nodeHeartbeatMs: 50, nodeStaleMs: 300 } });
      const offline: string[] = [];
      live.on("node:offline", ({ node }) => offline.push(node.name));
      await live.start();
      await waitFor(() => offline.includes("dead"), "the silent node to be marked offline");
      expect((await live.nodes()).find((n) => n.name === "dead")?.status).toBe("offline");
    });

    it("explains why a task waits: pinned to an offline node, or no node runs its type", async () => {
      const file = useLane().file();
      const video = defineTask({ name: "video", run: () => 1 });
      const a = await useLane().open({ file, node: "node-a", tasks: [job, video], worker: { types: ["job"] } });
      await a.start();
      await waitFor(async () => (await a.nodes()).some((n) => n.name === "node-a" && n.status === "online"), "node-a online");
      const pinned = await a.add("job", {}, { executor: "node-gone" });
      const orphan = await a.add("video");
      expect((await a.get(pinned.id))!.waitReason).toBe('pinned to node "node-gone", which has never been seen');
      expect((await a.get(orphan.id))!.waitReason).toBe('no online node can run type "video"');
      const page = await a.list({ status: "queued" });
      expect(page.tasks.map((t) => t.waitReason).sort()).toEqual([
        'no online node can run type "video"',
        'pinned to node "node-gone", which has never been seen',
      ]);
      const normal = await a.add("job");
      expect((await waitForStatus(a, normal.id, ["succeeded"])).waitReason).toBeUndefined();
      // Pinned to a node that was seen and is now offline.
      const b = await useLane().open({ file, node: "node-b", tasks: [job] });
      await b.start();
      await b.stop({ graceMs: 0 });
      const toB = await a.add("job", {}, { executor: "node-b" });
      expect((await a.get(toB.id))!.waitReason).toMatch(/^pinned to node "node-b", which is offline/);
      await sleep(100);
      expect((await a.get(toB.id))!.status).toBe("queued");
    });

    it("lets node A follow the events of a task that node B runs", async () => {
      const file = useLane().file();
      const a = await useLane().open({ file, node: "node-a", tasks: [job] });
      const b = await useLane().open({ file, node: "node-b", tasks: [job] });
      const stop = new AbortController();
      const seen: string[] = [];
      const after = await a.store.taskEventLastId();
      const following = (async () => {
        for await (const e of a.followTaskEvents({ after, signal: stop.signal, pollMs: 50 })) {
          seen.push(e.kind);
          if (e.kind === "succeeded") stop.abort();
        }
      })();
      await b.start();
      const task = await b.add("job");
      await following;
      expect(seen).toEqual(["added", "started", "succeeded"]);
      expect((await a.get(task.id))!.result).toBe("node-b");
    });

    it("delivers a cancel to the node running the task at once where the store notifies cancels", async (ctx) => {
      const file = useLane().file();
      let aborted = false;
      const long = defineTask({
        name: "long",
        run: async (ctx) => {
          await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
          aborted = true;
        },
      });
      // A 10 s heartbeat: only the notification can deliver the cancel within the wait below.
      const runner = await useLane().open({ file, node: "runner", tasks: [long], worker: { heartbeatMs: 10_000, leaseMs: 60_000 } });
      const client = await useLane().open({ file, node: "client", tasks: [long] });
      // Stores without it deliver cancels on the lease heartbeat (tested in lifecycle.test.ts).
      if (!runner.store.capabilities.cancelNotification) ctx.skip();
      await runner.start();
      const task = await client.add("long");
      await waitForStatus(client, task.id, ["running"]);
      await client.cancel(task.id);
      await waitForStatus(client, task.id, ["cancelled"], 3000);
      expect(aborted).toBe(true);
    });

    it("starts a task another node added for later when it is due, not at the next poll, where wake-ups carry due times", async (ctx) => {
      const file = useLane().file();
      // The store's own fallback poll (10 s on such stores): only the wake-up's due time can
      // start the task within the wait below.
      const runner = await useLane().open({ file, node: "runner", tasks: [job], worker: { pollIntervalMs: undefined } });
      const client = await useLane().open({ file, node: "client", tasks: [job] });
      if (!runner.store.capabilities.dueTimeNotification) ctx.skip();
      await runner.start();
      await sleep(300); // the runner's first claims (and its LISTEN) are done: it is idle
      const task = await client.add("job", {}, { delay: "500ms" });
      const done = await waitForStatus(client, task.id, ["succeeded"], 4000);
      expect(done.startedAt!.getTime()).toBeGreaterThanOrEqual(task.runAt.getTime());
      expect(done.result).toBe("runner");
    });

    it("refuses a transactional add where the store cannot do one, storing nothing", async (ctx) => {
      const lane = await useLane().open({ tasks: [job] });
      if (lane.store.capabilities.transactionalAdd) ctx.skip();
      await expect(lane.add("job", {}, { tx: {} })).rejects.toThrow(/tx: transactional add needs/);
      expect((await lane.list()).tasks).toEqual([]);
    });

    it("adds inside the application's own transaction: the task exists only if it commits", async (ctx) => {
      const lane = await useLane().open({ tasks: [job] });
      if (!lane.store.capabilities.transactionalAdd) ctx.skip();
      const client = new pg.Client({ connectionString: TEST_PG_URL });
      await client.connect();
      try {
        await client.query("BEGIN");
        const rolledBack = await lane.add("job", {}, { tx: client });
        await client.query("ROLLBACK");
        expect(await lane.get(rolledBack.id)).toBeNull();
        await lane.start();
        await client.query("BEGIN");
        const committed = await lane.add("job", {}, { tx: client });
        expect(await lane.get(committed.id)).toBeNull(); // invisible until the commit
        await client.query("COMMIT");
        expect(await waitForStatus(lane, committed.id, ["succeeded"])).toMatchObject({ result: lane.node });
      } finally {
        await client.end();
      }
    });
  });
}
