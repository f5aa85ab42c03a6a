import { describe, expect, it } from "vitest";
import { z } from "zod";
import { defineTask, QueueFullError, UnknownTaskTypeError, ValidationError } from "../../src/index.js";
import { BACKENDS, useLanes, sleep, waitFor, waitForStatus } from "../helpers/lane.js";

// In isolation "none" only: admission (params, queue limits, unknown types) happens when a task is
// added, before any handler runs. The suites about handlers run in "thread" too (runtimeIsolations).
for (const backend of BACKENDS) {
describe(`on ${backend}`, () => {
  const useLane = useLanes(backend);

  const report = defineTask({
    name: "report",
    params: z.object({ rows: z.number().int().positive(), format: z.enum(["csv", "json"]).default("csv") }),
    run: (ctx) => ctx.params.rows,
  });

  describe("bad input is refused and nothing is stored", () => {
    it("names the failing field of params", async () => {
      const lane = await useLane().open({ tasks: [report] });
      await expect(lane.add("report", { rows: -5 })).rejects.toThrow(/params of "report" are invalid: rows: .*>0/);
      await expect(lane.add("report", { rows: 1, format: "xml" })).rejects.toThrow(/format/);
      await expect(lane.add("report", {})).rejects.toBeInstanceOf(ValidationError);
      expect((await lane.list()).tasks).toEqual([]);
    });

    it("stores the parsed params (defaults applied)", async () => {
      const lane = await useLane().open({ tasks: [report] });
      const t = await lane.add("report", { rows: 3 });
      expect(t.params).toEqual({ rows: 3, format: "csv" });
    });

    it("refuses an unknown type, listing the registered ones", async () => {
      const lane = await useLane().open({ tasks: [report] });
      const err = await lane.add("nope").catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UnknownTaskTypeError);
      expect((err as Error).message).toBe('unknown task type "nope" (registered: report)');
    });

    it("refuses bad options with the option's name", async () => {
      const lane = await useLane().open({ tasks: [report] });
      const p = { rows: 1 };
      await expect(lane.add("report", p, { priority: 1.5 })).rejects.toThrow(/priority/);
      await expect(lane.add("report", p, { attempts: 0 })).rejects.toThrow(/attempts/);
      await expect(lane.add("report", p, { delay: "soon" })).rejects.toThrow(/delay: "soon" is not a duration/);
      await expect(lane.add("report", p, { runAt: "not a date" })).rejects.toThrow(/runAt/);
      await expect(lane.add("report", p, { delay: "1s", runAt: Date.now() })).rejects.toThrow(/delay and runAt/);
      await expect(lane.add("report", p, { colour: "red" } as never)).rejects.toThrow(/colour|Unrecognized/);
      await expect(lane.add("report", p, { key: "" })).rejects.toThrow(/key/);
      await expect(lane.add("report", p, { delay: "9999999999d" })).rejects.toThrow(/delay: .*longer than 100 years/);
      await expect(lane.add("report", p, { runAt: "-100000-01-01T00:00:00Z" })).rejects.toThrow(/runAt: must be between 1970 and 9999/);
      await expect(lane.add("report", p, { deadline: 1e20 })).rejects.toThrow(/deadline/);
      const crafted = Buffer.from(JSON.stringify([1e20, "a"])).toString("base64url");
      await expect(lane.list({ cursor: crafted })).rejects.toThrow(/cursor/);
      expect((await lane.list()).tasks).toEqual([]);
    });

    it("refuses oversize and non-JSON params", async () => {
      const lane = await useLane().open({ tasks: [defineTask({ name: "any", run: () => 1 })] });
      await expect(lane.add("any", { blob: "x".repeat(1024 * 1024 + 10) })).rejects.toThrow(/over the 1048576-byte limit/);
      await expect(lane.add("any", { n: 10n })).rejects.toThrow(/not JSON-serialisable/);
      expect((await lane.list()).tasks).toEqual([]);
    });

    it("refuses a bad task definition at register time", async () => {
      const lane = await useLane().open();
      expect(() => lane.register({ name: "", run: () => 1 })).toThrow(/name/);
      expect(() => lane.register({ name: "x", run: "no" } as never)).toThrow(/run: must be a function/);
      expect(() => lane.register(defineTask({ name: "x", timeout: "forever", run: () => 1 }))).toThrow(/timeout/);
      expect(() => lane.register(defineTask({ name: "x", concurrency: 0, run: () => 1 }))).toThrow(/concurrency/);
    });

    it("addMany is all or nothing", async () => {
      const lane = await useLane().open({ tasks: [report] });
      await expect(
        lane.addMany([
          { type: "report", params: { rows: 1 } },
          { type: "report", params: { rows: 0 } },
        ]),
      ).rejects.toThrow(/addMany\[1\]/);
      expect((await lane.list()).tasks).toEqual([]);
      const added = await lane.addMany([
        { type: "report", params: { rows: 1 } },
        { type: "report", params: { rows: 2 }, options: { priority: 3 } },
      ]);
      expect(added.map((t) => t.params)).toEqual([{ rows: 1, format: "csv" }, { rows: 2, format: "csv" }]);
      expect((await lane.list()).tasks).toHaveLength(2);
    });
  });

  describe("queue size and business keys", () => {
    it("refuses add with QueueFullError when the type holds maxQueued tasks", async () => {
      const lane = await useLane().open({ tasks: [defineTask({ name: "small", maxQueued: 2, run: () => 1 })] });
      await lane.add("small");
      await lane.add("small");
      const err = await lane.add("small").catch((e: unknown) => e);
      expect(err).toBeInstanceOf(QueueFullError);
      expect((err as QueueFullError).code).toBe("QUEUE_FULL");
      expect((await lane.list()).tasks).toHaveLength(2);
      await lane.start();
      await waitFor(async () => (await lane.list({ status: "succeeded" })).tasks.length === 2, "drain");
      await lane.add("small"); // room again
    });

    it("returns the live task for a repeated key, and frees the key when it finishes", async () => {
      const lane = await useLane().open({ tasks: [defineTask({ name: "sync", run: () => "done" })] });
      const added: string[] = [];
      lane.on("task:added", ({ task }) => added.push(task.id));
      const first = await lane.add("sync", { v: 1 }, { key: "order-42" });
      const second = await lane.add("sync", { v: 2 }, { key: "order-42" });
      expect(second.id).toBe(first.id);
      expect(second.params).toEqual({ v: 1 });
      expect(added).toEqual([first.id]);
      await lane.start();
      await waitForStatus(lane, first.id, ["succeeded"]);
      const third = await lane.add("sync", { v: 3 }, { key: "order-42" });
      expect(third.id).not.toBe(first.id);
      expect((await lane.list({ key: "order-42" })).tasks).toHaveLength(2);
    });

    it("uses the type's idGenerator", async () => {
      let n = 0;
      const lane = await useLane().open({ tasks: [defineTask({ name: "ids", idGenerator: () => `job-${++n}`, run: () => 1 })] });
      expect((await lane.add("ids")).id).toBe("job-1");
      expect((await lane.add("ids")).id).toBe("job-2");
    });
  });

  describe("placement and limits", () => {
    it("never runs more than the per-type concurrency at once", async () => {
      const lane = await useLane().open({ worker: { concurrency: 10 } });
      let now = 0;
      let peak = 0;
      lane.register(
        defineTask({
          name: "limited",
          concurrency: 2,
          run: async () => {
            peak = Math.max(peak, ++now);
            await sleep(20);
            now--;
          },
        }),
      );
      await lane.addMany(Array.from({ length: 10 }, () => ({ type: "limited" })));
      await lane.start();
      await waitFor(async () => (await lane.list({ status: "succeeded", limit: 100 })).tasks.length === 10, "all done");
      expect(peak).toBe(2);
    });

    it("keeps the sum of CPU cost within the node's capacity", async () => {
      const lane = await useLane().open({ worker: { concurrency: 10, cpuCapacity: 200 } });
      let used = 0;
      let peak = 0;
      lane.register(
        defineTask({
          name: "heavy",
          cpu: 100,
          run: async () => {
            used += 100;
            peak = Math.max(peak, used);
            await sleep(20);
            used -= 100;
          },
        }),
      );
      await lane.addMany(Array.from({ length: 6 }, () => ({ type: "heavy" })));
      await lane.start();
      await waitFor(async () => (await lane.list({ status: "succeeded" })).tasks.length === 6, "all done");
      expect(peak).toBe(200);
    });

    it("runs a pinned task only on its executor node", async () => {
      const file = useLane().file();
      const def = defineTask({ name: "where", run: (ctx) => ctx.node });
      const a = await useLane().open({ file, node: "node-a", tasks: [def] });
      const b = await useLane().open({ file, node: "node-b", tasks: [def] });
      await a.start();
      const task = await a.add("where", {}, { executor: "node-b" });
      await sleep(200);
      expect((await a.get(task.id))!.status).toBe("queued");
      await b.start();
      expect(await waitForStatus(a, task.id, ["succeeded"])).toMatchObject({ result: "node-b", node: "node-b" });
    });

    it("claims only the types this node has handlers for", async () => {
      const file = useLane().file();
      const mail = defineTask({ name: "mail", run: () => "mailed" });
      const video = defineTask({ name: "video", run: () => "encoded" });
      const mailer = await useLane().open({ file, node: "mailer", tasks: [mail] });
      const client = await useLane().open({ file, node: "client", tasks: [mail, video] });
      await mailer.start();
      const m = await client.add("mail");
      const v = await client.add("video");
      await waitForStatus(client, m.id, ["succeeded"]);
      await sleep(150);
      expect((await client.get(v.id))!.status).toBe("queued");
    });

    it("stops claiming while the machine is overloaded", async () => {
      // A load threshold below any real load average makes the guard trip at once.
      const lane = await useLane().open({ worker: { overload: { maxLoadPerCore: -1 } } });
      lane.register(defineTask({ name: "x", run: () => 1 }));
      const task = await lane.add("x");
      await lane.start();
      await sleep(300);
      expect((await lane.get(task.id))!.status).toBe("queued");
    });
  });
});
}
