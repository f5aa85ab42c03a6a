import { describe, expect, it } from "vitest";
import { ValidationError } from "../../src/index.js";
import { chain, record } from "../fixtures/runtime/tasks.js";
import { BACKENDS, runtimeIsolations, useLanes, useProbe, waitFor, waitForStatus } from "../helpers/lane.js";

type Link = { type: string; params: unknown; parent: unknown };
const links = (...names: string[]) => chain.filter((d) => names.includes(d.name));

for (const backend of BACKENDS) {
  for (const isolation of runtimeIsolations(backend)) {
  describe(`follow-up chains on ${backend}, isolation ${isolation}`, () => {
    const useLane = useLanes(backend, isolation);
    const probe = useProbe();

    it("adds and runs tasks and follow-ups whose params are null", async () => {
      const lane = await useLane().open();
      lane.register(...links("alert", "after"));
      await lane.start();
      const plain = await lane.add("alert", null);
      expect(plain.params).toBeNull();
      const parent = await lane.add("after", null, { then: [{ type: "alert", params: null }] });
      expect(await waitForStatus(lane, parent.id, ["succeeded"], 60_000)).toMatchObject({ params: null });
      expect(await waitForStatus(lane, `${parent.id}.1`, ["succeeded"], 60_000)).toMatchObject({ params: null });
      await waitForStatus(lane, plain.id, ["succeeded"], 60_000);
      await waitFor(() => probe().heard("link").length === 3, "three links heard");
      expect(probe().data<Link>("link").map((l) => l.params)).toEqual([null, null, null]);
    });

    it("runs a chain of three in order, each receiving its parent's result (export → mail → delete)", async () => {
      const lane = await useLane().open({ worker: { concurrency: 4 } });
      lane.register(...links("export", "mail", "delete-file"));
      await lane.start();
      const parent = await lane.add("export", { month: "2026-10" }, {
        owner: "alice",
        then: [{ type: "mail", params: { to: "ops@example.com" }, options: { then: [{ type: "delete-file" }] } }],
      });
      expect(parent.followUps).toMatchObject([{ id: `${parent.id}.1`, on: "success", type: "mail", owner: "alice" }]);
      const last = await waitForStatus(lane, `${parent.id}.1.1`, ["succeeded"], 60_000);
      await waitFor(() => probe().heard("link").length === 3, "three links heard");
      const seen = probe().data<Link>("link");
      expect(seen.map((s) => s.type)).toEqual(["export", "mail", "delete-file"]);
      expect(seen[0]!.parent).toBeNull();
      // Dates cross a runner's boundary as dates (structured clone), so the parents compare alike.
      expect(seen[1]!.parent).toMatchObject({ id: parent.id, type: "export", status: "succeeded", result: { file: "/tmp/2026-10.csv" } });
      expect(seen[2]!.parent).toMatchObject({ id: `${parent.id}.1`, result: { mailed: "/tmp/2026-10.csv", to: "ops@example.com" } });
      expect(last).toMatchObject({ owner: "alice", result: { deleted: "/tmp/2026-10.csv" }, parent: { id: `${parent.id}.1` } });
    });

    it("stops when a link fails; an onFailure follow-up runs instead, with the error", async () => {
      const lane = await useLane().open();
      lane.register(...links("export", "broken", "alert"));
      await lane.start();
      const head = await lane.add("export", { month: "1" }, {
        then: [{ type: "broken", options: { then: [{ type: "export", params: { month: "3" } }], onFailure: [{ type: "alert" }] } }],
      });
      await waitForStatus(lane, `${head.id}.1.2`, ["succeeded"], 60_000);
      await waitFor(() => probe().heard("link").length === 3, "three links heard");
      const seen = probe().data<Link>("link");
      expect(seen.map((s) => s.type)).toEqual(["export", "broken", "alert"]);
      expect(await lane.get(`${head.id}.1.1`)).toBeNull();
      expect(seen[2]!.parent).toMatchObject({ id: `${head.id}.1`, status: "failed", error: { message: "disk full" } });
    });

    it("adds nothing after a cancelled task", async () => {
      const lane = await useLane().open();
      lane.register(...links("export", "alert"));
      const t = await lane.add("export", { month: "1" }, { delay: "1h", then: [{ type: "alert" }], onFailure: [{ type: "alert" }] });
      await lane.cancel(t.id);
      await lane.start();
      await new Promise((r) => setTimeout(r, 200));
      expect((await lane.list()).tasks.map((x) => x.id)).toEqual([t.id]);
    });

    it("takes follow-ups from the type's definition, and an add may replace them", async () => {
      const lane = await useLane().open();
      lane.register(...links("after", "other"));
      const main = links("main")[0]!;
      lane.register({ ...main, then: [{ type: "after" }] });
      await lane.start();
      const a = await lane.add("main");
      const b = await lane.add("main", {}, { then: [{ type: "other" }] });
      expect((await waitForStatus(lane, `${a.id}.1`, ["succeeded"], 60_000)).type).toBe("after");
      expect((await waitForStatus(lane, `${b.id}.1`, ["succeeded"], 60_000)).type).toBe("other");
    });

    it("refuses a bad follow-up at add time, naming it, and stores nothing", async () => {
      const lane = await useLane().open();
      const { z } = await import("zod");
      lane.register(record, { ...links("alert")[0]!, params: z.object({ n: z.number() }) });
      await expect(lane.add("record", {}, { then: [{ type: "nope" }] })).rejects.toThrow(/unknown task type "nope"/);
      await expect(lane.add("record", {}, { then: [{ type: "alert", params: { n: "x" } }] })).rejects.toThrow(/then\[0\].*params of "alert" are invalid/);
      await expect(lane.add("record", {}, { then: [{ type: "record", options: { key: "k" } as never }] })).rejects.toThrow(/then\[0\]\.options\.key: not allowed/);
      await expect(lane.add("record", {}, { onFailure: [{ type: "record", options: { priority: 1.5 } }] })).rejects.toBeInstanceOf(ValidationError);
      expect((await lane.list()).tasks).toHaveLength(0);
    });

    it("starts a follow-up at once on the node that finished its parent", async () => {
      const lane = await useLane().open({ worker: { pollIntervalMs: 60_000 } });
      lane.register(record, ...links("alert"));
      await lane.start();
      const t = await lane.add("record", { value: 1 }, { then: [{ type: "alert" }] });
      // With a one-minute poll, only the finish itself can have claimed the follow-up.
      await waitForStatus(lane, t.id, ["succeeded"], 60_000);
      expect((await waitForStatus(lane, `${t.id}.1`, ["succeeded"], 5000)).parent).toMatchObject({ id: t.id, result: 1 });
    });
  });
  }
}
