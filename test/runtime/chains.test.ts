import { describe, expect, it } from "vitest";
import { defineTask, NonRetryableError, ValidationError } from "../../src/index.js";
import { BACKENDS, useLanes, waitForStatus } from "../helpers/lane.js";

for (const backend of BACKENDS) {
  describe(`follow-up chains on ${backend}`, () => {
    const useLane = useLanes(backend);

    it("adds and runs tasks and follow-ups whose params are null", async () => {
      const lane = await useLane().open();
      const seen: unknown[] = [];
      lane.register(
        defineTask({ name: "parent", run: () => "done" }),
        defineTask({ name: "child", run: (ctx) => void seen.push(ctx.params) }),
      );
      await lane.start();
      const plain = await lane.add("child", null);
      expect(plain.params).toBeNull();
      const parent = await lane.add("parent", null, { then: [{ type: "child", params: null }] });
      expect(await waitForStatus(lane, parent.id, ["succeeded"])).toMatchObject({ params: null });
      expect(await waitForStatus(lane, `${parent.id}.1`, ["succeeded"])).toMatchObject({ params: null });
      expect(seen).toEqual([null, null]);
    });

    it("runs a chain of three in order, each receiving its parent's result (export → mail → delete)", async () => {
      const lane = await useLane().open({ worker: { concurrency: 4 } });
      const seen: Array<{ step: string; parent: unknown }> = [];
      lane.register(
        defineTask({
          name: "export",
          run: (ctx) => {
            seen.push({ step: "export", parent: ctx.parent });
            return { file: `/tmp/${(ctx.params as { month: string }).month}.csv` };
          },
        }),
        defineTask({
          name: "mail",
          run: (ctx) => {
            seen.push({ step: "mail", parent: ctx.parent });
            return { mailed: (ctx.parent!.result as { file: string }).file, to: (ctx.params as { to: string }).to };
          },
        }),
        defineTask({
          name: "delete-file",
          run: (ctx) => {
            seen.push({ step: "delete", parent: ctx.parent });
            return { deleted: (ctx.parent!.result as { mailed: string }).mailed };
          },
        }),
      );
      await lane.start();
      const parent = await lane.add("export", { month: "2026-10" }, {
        owner: "alice",
        then: [{ type: "mail", params: { to: "ops@example.com" }, options: { then: [{ type: "delete-file" }] } }],
      });
      expect(parent.followUps).toMatchObject([{ id: `${parent.id}.1`, on: "success", type: "mail", owner: "alice" }]);
      const last = await waitForStatus(lane, `${parent.id}.1.1`, ["succeeded"]);
      expect(seen.map((s) => s.step)).toEqual(["export", "mail", "delete"]);
      expect(seen[0]!.parent).toBeNull();
      expect(seen[1]!.parent).toMatchObject({ id: parent.id, type: "export", status: "succeeded", result: { file: "/tmp/2026-10.csv" } });
      expect(seen[2]!.parent).toMatchObject({ id: `${parent.id}.1`, result: { mailed: "/tmp/2026-10.csv", to: "ops@example.com" } });
      expect(last).toMatchObject({ owner: "alice", result: { deleted: "/tmp/2026-10.csv" }, parent: { id: `${parent.id}.1` } });
    });

    it("stops when a link fails; an onFailure follow-up runs instead, with the error", async () => {
      const lane = await useLane().open();
      const ran: string[] = [];
      let failure: unknown = null;
      lane.register(
        defineTask({ name: "step", run: (ctx) => void ran.push((ctx.params as { n: number }).n.toString()) }),
        defineTask({
          name: "broken",
          run: () => {
            ran.push("broken");
            throw new NonRetryableError("disk full");
          },
        }),
        defineTask({ name: "alert", run: (ctx) => void (failure = ctx.parent) }),
      );
      await lane.start();
      const head = await lane.add("step", { n: 1 }, {
        then: [{ type: "broken", options: { then: [{ type: "step", params: { n: 3 } }], onFailure: [{ type: "alert" }] } }],
      });
      await waitForStatus(lane, `${head.id}.1.2`, ["succeeded"]);
      expect(ran).toEqual(["1", "broken"]);
      expect(await lane.get(`${head.id}.1.1`)).toBeNull();
      expect(failure).toMatchObject({ id: `${head.id}.1`, status: "failed", error: { message: "disk full" } });
    });

    it("adds nothing after a cancelled task", async () => {
      const lane = await useLane().open();
      lane.register(defineTask({ name: "a", run: () => 1 }), defineTask({ name: "b", run: () => 2 }));
      const t = await lane.add("a", {}, { delay: "1h", then: [{ type: "b" }], onFailure: [{ type: "b" }] });
      await lane.cancel(t.id);
      await lane.start();
      await new Promise((r) => setTimeout(r, 200));
      expect((await lane.list()).tasks.map((x) => x.id)).toEqual([t.id]);
    });

    it("takes follow-ups from the type's definition, and an add may replace them", async () => {
      const lane = await useLane().open();
      lane.register(defineTask({ name: "after", run: () => "after" }), defineTask({ name: "other", run: () => "other" }));
      lane.register(defineTask({ name: "main", then: [{ type: "after" }], run: () => "main" }));
      await lane.start();
      const a = await lane.add("main");
      const b = await lane.add("main", {}, { then: [{ type: "other" }] });
      expect((await waitForStatus(lane, `${a.id}.1`, ["succeeded"])).type).toBe("after");
      expect((await waitForStatus(lane, `${b.id}.1`, ["succeeded"])).type).toBe("other");
    });

    it("refuses a bad follow-up at add time, naming it, and stores nothing", async () => {
      const lane = await useLane().open();
      const { z } = await import("zod");
      lane.register(defineTask({ name: "a", run: () => 1 }), defineTask({ name: "typed", params: z.object({ n: z.number() }), run: () => 1 }));
      await expect(lane.add("a", {}, { then: [{ type: "nope" }] })).rejects.toThrow(/unknown task type "nope"/);
      await expect(lane.add("a", {}, { then: [{ type: "typed", params: { n: "x" } }] })).rejects.toThrow(/then\[0\].*params of "typed" are invalid/);
      await expect(lane.add("a", {}, { then: [{ type: "a", options: { key: "k" } as never }] })).rejects.toThrow(/then\[0\]\.options\.key: not allowed/);
      await expect(lane.add("a", {}, { onFailure: [{ type: "a", options: { priority: 1.5 } }] })).rejects.toBeInstanceOf(ValidationError);
      expect((await lane.list()).tasks).toHaveLength(0);
    });

    it("starts a follow-up at once on the node that finished its parent", async () => {
      const lane = await useLane().open({ worker: { pollIntervalMs: 60_000 } });
      lane.register(defineTask({ name: "x", run: () => 1 }), defineTask({ name: "y", run: () => 2 }));
      await lane.start();
      const t = await lane.add("x", {}, { then: [{ type: "y" }] });
      // With a one-minute poll, only the finish itself can have claimed the follow-up.
      expect((await waitForStatus(lane, `${t.id}.1`, ["succeeded"], 5000)).parent).toMatchObject({ id: t.id, result: 1 });
    });
  });
}
