/**
 * Conformance cases of issue 4, run on every backend: dispatch policies, cluster-wide flow
 * control, follow-ups added with their parent's end, and cron schedules' tick records.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ClaimRequest, FlowLimits, NewTask, Store } from "../../src/store/store.js";
import type { ScheduleWrite } from "../../src/model/schedule.js";
import { followUp, newTask, type ConformanceTarget } from "./conformance.js";

const noLimits = { maxQueued: new Map<string, number>() };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));


export function runDispatchConformance(target: ConformanceTarget): void {
  describe(`Dispatch, flow control, follow-ups and schedules: ${target.name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await target.open();
    });
    afterEach(async () => {
      await store.close();
    });

    const claim = (over: Partial<ClaimRequest> = {}) =>
      store.taskClaim({ node: "n1", types: [{ type: "t", slots: Infinity }], limit: 10, cpuFree: 400, cpuCapacity: 400, leaseMs: 30_000, ...over });
    const insertMany = async (tasks: NewTask[]) => {
      for (let i = 0; i < tasks.length; i += 1000) await store.taskInsertMany(tasks.slice(i, i + 1000), noLimits);
    };
    const limited = (flow: FlowLimits, over: Partial<ClaimRequest> = {}) => claim({ types: [{ type: "t", slots: Infinity, flow }], ...over });

    describe("dispatch policies", () => {
      it("fair: one owner's long backlog does not starve another owner's few tasks", async () => {
        const t0 = Date.now() - 60_000;
        await insertMany(Array.from({ length: 2000 }, (_, i) => newTask({ owner: "a", runAt: t0 + i })));
        await insertMany(Array.from({ length: 10 }, (_, i) => newTask({ owner: "b", runAt: t0 + 5000 + i })));
        // The priority policy takes A's oldest first...
        const plain = await claim({ limit: 10 });
        expect(plain.every((t) => t.owner === "a")).toBe(true);
        // ...the fair one alternates.
        const fair = await claim({ limit: 10, policy: { order: "fair", agingMs: null } });
        expect(fair.filter((t) => t.owner === "b")).toHaveLength(5);
        expect(fair.filter((t) => t.owner === "a")).toHaveLength(5);
        // Within an owner, claim order still holds.
        const bTimes = fair.filter((t) => t.owner === "b").map((t) => t.runAt.getTime());
        expect(bTimes).toEqual([...bTimes].sort((x, y) => x - y));
      });

      it("fair: takes turns across groups first (a group beats its owner), and rotates across claims", async () => {
        await insertMany([
          ...Array.from({ length: 6 }, () => newTask({ owner: "o", group: "g1" })),
          ...Array.from({ length: 6 }, () => newTask({ owner: "o", group: "g2" })),
          ...Array.from({ length: 6 }, () => newTask({ owner: "o", group: "g3" })),
        ]);
        const policy = { order: "fair" as const, agingMs: null };
        const first = await claim({ limit: 2, policy });
        const second = await claim({ limit: 2, policy });
        const groups = [...first, ...second].map((t) => t.group);
        // Four claims over two batches touch all three groups: the second batch starts after the first's last key.
        expect(new Set(groups)).toEqual(new Set(["g1", "g2", "g3"]));
      });

      it("fair: a key whose tasks are not due yet does not leave the claim short", async () => {
        await insertMany([
          ...Array.from({ length: 20 }, () => newTask({ owner: "later", runAt: Date.now() + 3_600_000 })),
          ...Array.from({ length: 20 }, () => newTask({ owner: "now" })),
        ]);
        const got = await claim({ limit: 10, policy: { order: "fair", agingMs: null } });
        expect(got).toHaveLength(10);
        expect(got.every((t) => t.owner === "now")).toBe(true);
      });

      it("fair: keys with nothing claimable now (other types, not due, blocked) do not stall the keys behind them", async () => {
        const fair = { order: "fair" as const, agingMs: null };
        // Keys a..d hold only a type this node does not run, or only tasks due in an hour.
        await insertMany([
          newTask({ owner: "a", type: "other" }),
          newTask({ owner: "b", type: "other" }),
          newTask({ owner: "c", runAt: Date.now() + 3_600_000 }),
          newTask({ owner: "d", runAt: Date.now() + 3_600_000 }),
          newTask({ id: "e1", owner: "e" }),
          newTask({ id: "f1", owner: "f" }),
          newTask({ id: "g1", owner: "g" }),
        ]);
        expect((await claim({ limit: 1, policy: fair })).map((t) => t.id)).toEqual(["e1"]);
        expect((await claim({ limit: 2, policy: fair })).map((t) => t.id).sort()).toEqual(["f1", "g1"]);
        // Limited claims, with a whole group blocked at its limit, behave the same.
        await insertMany([newTask({ id: "h1", owner: "h", group: "busy" }), newTask({ id: "h2", owner: "h", group: "busy" }), newTask({ id: "z1", owner: "z" })]);
        const first = await limited({ groupConcurrency: 1 }, { limit: 1, policy: fair });
        const rest = await limited({ groupConcurrency: 1 }, { limit: 5, policy: fair });
        expect([...first, ...rest].map((t) => t.id).sort()).toEqual(["h1", "z1"]);
      });

      it("fifo: takes the longest-due task first, whatever its priority", async () => {
        const t0 = Date.now() - 10_000;
        await store.taskInsertMany(
          [
            newTask({ id: "new-urgent", priority: -5, runAt: t0 + 3000 }),
            newTask({ id: "old-low", priority: 9, runAt: t0 }),
            newTask({ id: "mid", priority: 0, runAt: t0 + 1000 }),
          ],
          noLimits,
        );
        const got = await claim({ limit: 3, policy: { order: "fifo", agingMs: null } });
        expect(got.map((t) => t.id)).toEqual(["old-low", "mid", "new-urgent"]);
      });

      it("priority aging: a low-priority task waiting long enough overtakes newer high-priority ones", async () => {
        const now = Date.now();
        await store.taskInsertMany(
          [
            newTask({ id: "fresh-high", priority: 0, runAt: now - 100 }),
            newTask({ id: "stale-low", priority: 10, runAt: now - 60_000 }),
          ],
          noLimits,
        );
        // Aging 1 s: 60 s of waiting improves priority 10 to about -50.
        const aged = await claim({ limit: 1, policy: { order: "priority", agingMs: 1000 } });
        expect(aged[0]!.id).toBe("stale-low");
      });
    });

    describe("flow control", () => {
      it("never runs more than the group's concurrency limit, however many claims race", async () => {
        await insertMany([
          ...Array.from({ length: 20 }, () => newTask({ group: "cust-1" })),
          ...Array.from({ length: 3 }, () => newTask({ group: "cust-2" })),
        ]);
        const results = await Promise.all(Array.from({ length: 8 }, (_, i) => limited({ groupConcurrency: 2 }, { node: `n${i}` })));
        const claimed = results.flat();
        expect(claimed.filter((t) => t.group === "cust-1")).toHaveLength(2);
        expect(claimed.filter((t) => t.group === "cust-2")).toHaveLength(2);
        // A saturated group does not block the claim of others behind it, and a finish frees a slot.
        expect(await limited({ groupConcurrency: 2 })).toHaveLength(0);
        const one = claimed.find((t) => t.group === "cust-1")!;
        await store.taskFinishMany([{ taskId: one.id, runNo: one.runCount, outcome: "succeeded", next: "succeeded" }]);
        const next = await limited({ groupConcurrency: 2 });
        expect(next.map((t) => t.group)).toEqual(["cust-1"]);
      });

      it("caps a whole type's running tasks across the cluster", async () => {
        await insertMany(Array.from({ length: 10 }, () => newTask()));
        const claimed = (await Promise.all([limited({ typeConcurrency: 3 }), limited({ typeConcurrency: 3 }, { node: "n2" })])).flat();
        expect(claimed).toHaveLength(3);
      });

      it("starts at most N per interval (sliding window), per type and per group", async () => {
        await insertMany(Array.from({ length: 10 }, () => newTask({ group: "g" })));
        const flow: FlowLimits = { typeRate: { limit: 3, intervalMs: 800 } };
        const first = await limited(flow);
        expect(first).toHaveLength(3);
        for (const t of first) await store.taskFinishMany([{ taskId: t.id, runNo: t.runCount, outcome: "succeeded", next: "succeeded" }]);
        // Finished or not, the starts still count within the window.
        expect(await limited(flow)).toHaveLength(0);
        await sleep(900);
        expect(await limited(flow)).toHaveLength(3);
        // A group rate counts per group.
        await insertMany(Array.from({ length: 4 }, () => newTask({ group: "h" })));
        const byGroup = await limited({ groupRate: { limit: 1, intervalMs: 60_000 } });
        expect(byGroup.map((t) => t.group).sort()).toEqual(["g", "h"]);
        expect(await store.flowStartPrune()).toBeGreaterThanOrEqual(0);
      });

      it("combines limits with the fair policy", async () => {
        await insertMany([...Array.from({ length: 10 }, () => newTask({ owner: "a", group: "x" })), ...Array.from({ length: 10 }, () => newTask({ owner: "b", group: "y" }))]);
        const got = await limited({ groupConcurrency: 1 }, { policy: { order: "fair", agingMs: null } });
        expect(got.map((t) => t.group).sort()).toEqual(["x", "y"]);
      });
    });

    describe("follow-ups", () => {
      it("adds the success follow-ups with the parent's success, carrying its result", async () => {
        const [parent] = (
          await store.taskInsertMany(
            [newTask({ id: "p1", owner: "alice", followUps: [followUp("p1.1", "success", { followUps: [followUp("p1.1.1", "success")] }), followUp("p1.2", "failure")] })],
            noLimits,
          )
        ).map((o) => o.task);
        expect(parent!.followUps.map((f) => f.id)).toEqual(["p1.1", "p1.2"]);
        const [c] = await claim({ limit: 1 });
        await store.taskFinishMany([{ taskId: c!.id, runNo: c!.runCount, outcome: "succeeded", next: "succeeded", result: { file: "r.csv" } }]);
        const child = await store.taskGet("p1.1");
        expect(child).toMatchObject({
          type: "child",
          status: "queued",
          owner: "alice",
          params: { from: "parent" },
          parent: { id: "p1", type: "t", status: "succeeded", result: { file: "r.csv" }, error: null },
        });
        expect(child!.followUps.map((f) => f.id)).toEqual(["p1.1.1"]);
        expect(await store.taskGet("p1.2")).toBeNull();
        expect(await store.taskGet("p1.1.1")).toBeNull();
      });

      it("adds failure follow-ups only when the parent fails for good; nothing on retry or cancel", async () => {
        await store.taskInsertMany(
          [
            newTask({ id: "f1", maxAttempts: 2, followUps: [followUp("f1.1", "success"), followUp("f1.2", "failure")] }),
            newTask({ id: "c1", followUps: [followUp("c1.1", "success"), followUp("c1.2", "failure")] }),
          ],
          noLimits,
        );
        await store.taskCancel("c1");
        const [run1] = await claim({ limit: 1 });
        const error = { name: "Error", message: "boom" };
        await store.taskFinishMany([{ taskId: run1!.id, runNo: run1!.runCount, outcome: "failed", next: "queued", retryDelayMs: 0, error }]);
        expect(await store.taskGet("f1.2")).toBeNull();
        const [run2] = await claim({ limit: 1 });
        await store.taskFinishMany([{ taskId: run2!.id, runNo: run2!.runCount, outcome: "failed", next: "failed", error }]);
        expect(await store.taskGet("f1.2")).toMatchObject({ parent: { id: "f1", status: "failed", error: { message: "boom" } } });
        expect(await store.taskGet("f1.1")).toBeNull();
        expect(await store.taskGet("c1.1")).toBeNull();
        expect(await store.taskGet("c1.2")).toBeNull();
      });

      it("adds failure follow-ups when a lost run was the task's last attempt", async () => {
        await store.taskInsertMany([newTask({ id: "r1", maxAttempts: 1, followUps: [followUp("r1.1", "failure")] })], noLimits);
        await claim({ limit: 1, node: "dead", leaseMs: 1 });
        await sleep(20);
        const rescued = (await store.taskRescueExpired()).tasks;
        expect(rescued.map((t) => t.status)).toEqual(["failed"]);
        expect(await store.taskGet("r1.1")).toMatchObject({ status: "queued", parent: { id: "r1", status: "failed" } });
      });
    });

    describe("schedules", () => {
      const spec = (over: Partial<ScheduleWrite> = {}): ScheduleWrite => ({
        name: "nightly",
        type: "t",
        params: { report: "sales" },
        options: { priority: 2 },
        cron: "0 3 * * *",
        tz: "Europe/Berlin",
        missed: { policy: "skip" },
        ...over,
      });
      const fire = (tickAt: number, id = `task-${tickAt}`) => ({ schedule: "nightly", tickAt, task: newTask({ id }) });

      it("creates, updates, lists, pauses, resumes and deletes", async () => {
        const created = await store.scheduleUpsert(spec());
        expect(created).toMatchObject({ name: "nightly", type: "t", params: { report: "sales" }, options: { priority: 2 }, cron: "0 3 * * *", tz: "Europe/Berlin", paused: false, lastTickAt: null });
        await sleep(5);
        // Same cron: the anchor stays. New cron: ticks count from now.
        const same = await store.scheduleUpsert(spec({ params: { report: "all" } }));
        expect(same.anchorAt.getTime()).toBe(created.anchorAt.getTime());
        const changed = await store.scheduleUpsert(spec({ cron: "0 4 * * *", missed: { policy: "catchUp", windowMs: 3_600_000 } }));
        expect(changed.anchorAt.getTime()).toBeGreaterThan(created.anchorAt.getTime());
        expect(changed.missed).toEqual({ policy: "catchUp", windowMs: 3_600_000 });
        expect((await store.scheduleList()).map((s) => s.name)).toEqual(["nightly"]);
        expect((await store.schedulePause("nightly", true))!.paused).toBe(true);
        expect((await store.scheduleUpsert(spec({ cron: "0 4 * * *", missed: { policy: "catchUp", windowMs: 3_600_000 } }))).paused).toBe(true);
        await sleep(5);
        const resumed = await store.schedulePause("nightly", false);
        expect(resumed!.paused).toBe(false);
        expect(resumed!.anchorAt.getTime()).toBeGreaterThan(changed.anchorAt.getTime());
        expect(await store.schedulePause("missing", true)).toBeNull();
        expect(await store.scheduleDelete("nightly")).toBe(true);
        expect(await store.scheduleDelete("nightly")).toBe(false);
        expect(await store.scheduleGet("nightly")).toBeNull();
      });

      it("fires a tick exactly once however many nodes race, and never a tick at or before the last", async () => {
        const s = await store.scheduleUpsert(spec());
        const tick = s.anchorAt.getTime() + 60_000;
        const raced = await Promise.all(Array.from({ length: 5 }, (_, i) => store.scheduleFire([fire(tick, `race-${i}`)])));
        const won = raced.flat().filter((f) => f.task !== null);
        expect(won).toHaveLength(1);
        expect(won[0]!.task).toMatchObject({ type: "t", status: "queued" });
        const after = await store.scheduleGet("nightly");
        expect(after!.lastTickAt!.getTime()).toBe(tick);
        expect(after!.lastTaskId).toBe(won[0]!.task!.id);
        // An earlier tick (a node whose clock is behind) never fires.
        expect((await store.scheduleFire([fire(tick - 1000)]))[0]!.task).toBeNull();
        expect((await store.scheduleFire([fire(s.anchorAt.getTime() - 1)]))[0]!.task).toBeNull();
        const ticks = await store.scheduleTicks("nightly", 10);
        expect(ticks.map((t) => t.tickAt.getTime())).toEqual([tick]);
        // Paused: nothing fires.
        await store.schedulePause("nightly", true);
        expect((await store.scheduleFire([fire(tick + 60_000)]))[0]!.task).toBeNull();
      });

      it("fires several ticks in order in one call (catch-up), and keeps the latest tick record when pruning", async () => {
        const s = await store.scheduleUpsert(spec());
        const base = s.anchorAt.getTime();
        const fired = await store.scheduleFire([fire(base + 1000), fire(base + 2000), fire(base + 3000)]);
        expect(fired.filter((f) => f.task)).toHaveLength(3);
        await store.scheduleNoteTask("nightly", "by-hand");
        expect((await store.scheduleGet("nightly"))!.lastTaskId).toBe("by-hand");
        expect(await store.scheduleTickPrune(Date.now() + 60_000)).toBe(2);
        expect((await store.scheduleTicks("nightly", 10)).map((t) => t.tickAt.getTime())).toEqual([base + 3000]);
      });
    });
  });
}
