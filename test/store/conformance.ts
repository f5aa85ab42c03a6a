/**
 * The Store conformance suite: one set of cases every backend must pass. A backend that cannot
 * support a case declares it through a capability flag; cases skip by capability, never by name.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { KeyConflictError, QueueFullError, ValidationError } from "../../src/model/errors.js";
import { sortableId } from "../../src/model/ids.js";
import type { ClaimType, NewTask, RunFinish, Store } from "../../src/store/store.js";
import type { NodeHeartbeat } from "../../src/model/node-row.js";
import { openStoreFromThreadConfig } from "../../src/store/open-store.js";
import type { StoredFollowUp } from "../../src/model/task-row.js";

export interface ConformanceTarget {
  name: string;
  /** A fresh, migrated, empty store. */
  open(): Promise<Store>;
}

let counter = 0;
export function newTask(overrides: Partial<NewTask> = {}): NewTask {
  counter += 1;
  return {
    id: overrides.id ?? sortableId(),
    type: "t",
    name: null,
    description: null,
    params: { n: counter },
    priority: 0,
    runAt: null,
    maxAttempts: 3,
    maxRuns: 100,
    backoff: { type: "fixed", delayMs: 10, maxMs: 1000, jitter: 0 },
    timeoutMs: null,
    cpu: 0,
    executor: null,
    deadline: null,
    deleteAfterMs: 86_400_000,
    key: null,
    owner: null,
    group: null,
    followUps: null,
    ...overrides,
  };
}

/** A stored follow-up of a parent task, as `add` would store it. */
export function followUp(id: string, on: "success" | "failure", over: Partial<StoredFollowUp> = {}): StoredFollowUp {
  return {
    id,
    on,
    type: "child",
    name: null,
    description: null,
    params: { from: "parent" },
    priority: 0,
    maxAttempts: 3,
    maxRuns: 100,
    backoff: { type: "fixed", delayMs: 10, maxMs: 1000, jitter: 0 },
    timeoutMs: null,
    cpu: 0,
    executor: null,
    deleteAfterMs: 86_400_000,
    owner: "alice",
    group: null,
    delayMs: 0,
    followUps: [],
    ...over,
  };
}

const noLimits = { maxQueued: new Map<string, number>() };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function runStoreConformance(target: ConformanceTarget): void {
  describe(`Store conformance: ${target.name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await target.open();
    });
    afterEach(async () => {
      await store.close();
    });

    const claim = (over: Partial<Parameters<Store["taskClaim"]>[0]> = {}) =>
      store.taskClaim({ node: "n1", types: [{ type: "t", slots: Infinity }], limit: 10, cpuFree: 400, cpuCapacity: 400, leaseMs: 30_000, ...over });
    const insert = async (...tasks: NewTask[]) => (await store.taskInsertMany(tasks, noLimits)).map((o) => o.task);
    const succeed = (taskId: string, runNo: number, extra: Partial<RunFinish> = {}) =>
      store.taskFinishMany([{ taskId, runNo, outcome: "succeeded", next: "succeeded", result: { ok: true }, ...extra }]);

    describe("migrations", () => {
      it("applies every migration once and reports them", async () => {
        expect(await store.migrate()).toEqual([]);
        const status = await store.migrationStatus();
        expect(status.length).toBeGreaterThan(0);
        expect(status.every((m) => m.appliedAt instanceof Date)).toBe(true);
      });
    });

    describe("insert and read", () => {
      it("round-trips every field of a task", async () => {
        const deadline = Date.now() + 60_000;
        const [t] = await insert(
          newTask({ id: "a1", type: "t", name: "N", description: "D", params: { x: [1, "two"] }, priority: 5, maxAttempts: 4, maxRuns: 9, timeoutMs: 1500, cpu: 50, executor: "n9", deadline, deleteAfterMs: 1000, key: "k", owner: "alice" }),
        );
        const got = await store.taskGet("a1");
        expect(got).toEqual(t);
        expect(got).toMatchObject({
          id: "a1", type: "t", name: "N", description: "D", params: { x: [1, "two"] }, status: "queued", priority: 5,
          attempt: 0, maxAttempts: 4, runCount: 0, maxRuns: 9, timeoutMs: 1500, cpu: 50, executor: "n9", key: "k", owner: "alice",
          deleteAfterMs: 1000, result: null, error: null, progress: null, cancelRequested: false,
        });
        expect(got!.deadline!.getTime()).toBe(deadline);
        expect(got!.backoff).toEqual({ type: "fixed", delayMs: 10, maxMs: 1000, jitter: 0 });
        expect(await store.taskGet("missing")).toBeNull();
      });

      it("reports a task due later as scheduled", async () => {
        const [t] = await insert(newTask({ runAt: Date.now() + 60_000 }));
        expect(t!.status).toBe("scheduled");
        expect((await store.taskGet(t!.id))!.status).toBe("scheduled");
      });

      it("inserts a batch all or nothing", async () => {
        await insert(newTask({ id: "dup" }));
        await expect(store.taskInsertMany([newTask({ id: "fresh" }), newTask({ id: "dup" })], noLimits)).rejects.toBeInstanceOf(ValidationError);
        expect(await store.taskGet("fresh")).toBeNull();
      });

      it("returns the live task holding a key instead of inserting", async () => {
        const [a] = await insert(newTask({ key: "order-42" }));
        const out = await store.taskInsertMany([newTask({ key: "order-42" }), newTask({ key: "order-43" })], noLimits);
        expect(out[0]).toMatchObject({ existing: true, task: { id: a!.id } });
        expect(out[1]!.existing).toBe(false);
        // Once the holder is finished the key is free again.
        const [c] = await claim({ limit: 1 });
        expect(c!.id).toBe(a!.id);
        await succeed(c!.id, c!.runCount);
        const again = await store.taskInsertMany([newTask({ key: "order-42" })], noLimits);
        expect(again[0]!.existing).toBe(false);
        expect(again[0]!.task.id).not.toBe(a!.id);
      });

      it("within one batch: a second task with a taken key gets the first, a repeated id fails the batch", async () => {
        const out = await store.taskInsertMany([newTask({ id: "k1", key: "same" }), newTask({ id: "k2", key: "same" }), newTask({ id: "k3" })], noLimits);
        expect(out.map((o) => [o.task.id, o.existing])).toEqual([["k1", false], ["k1", true], ["k3", false]]);
        await expect(store.taskInsertMany([newTask({ id: "twice" }), newTask({ id: "twice" })], noLimits)).rejects.toBeInstanceOf(ValidationError);
        expect(await store.taskGet("twice")).toBeNull();
        // Params round-trip exactly, whatever their JSON shape.
        const params = { big: 2 ** 53 + 2, float: 0.1, exp: 1e21, text: "ü \" \\ end", list: [null, true, -0.5] };
        const [kept] = await insert(newTask({ id: "p", params }));
        expect(kept!.params).toEqual(params);
        expect((await store.taskGet("p"))!.params).toEqual(params);
      });

      it("refuses a batch that overfills a type's maxQueued, storing nothing", async () => {
        const limits = { maxQueued: new Map([["t", 2]]) };
        await store.taskInsertMany([newTask()], limits);
        await expect(store.taskInsertMany([newTask({ id: "x1" }), newTask({ id: "x2" })], limits)).rejects.toBeInstanceOf(QueueFullError);
        expect(await store.taskGet("x1")).toBeNull();
        await store.taskInsertMany([newTask({ id: "x3" })], limits);
        await expect(store.taskInsertMany([newTask()], limits)).rejects.toBeInstanceOf(QueueFullError);
      });
    });

    describe("claim", () => {
      it("claims in priority, then due time, then id order, only due tasks", async () => {
        const now = Date.now();
        await insert(
          newTask({ id: "c", priority: 1, runAt: now - 1000 }),
          newTask({ id: "b", priority: 0, runAt: now - 500 }),
          newTask({ id: "a", priority: 0, runAt: now - 900 }),
          newTask({ id: "later", priority: -5, runAt: now + 60_000 }),
          newTask({ id: "d", priority: -1, runAt: now - 10 }),
        );
        const claimed = await claim();
        expect(claimed.map((t) => t.id)).toEqual(["d", "a", "b", "c"]);
        expect(claimed.every((t) => t.status === "running" && t.attempt === 1 && t.runCount === 1 && t.node === "n1")).toBe(true);
        expect(claimed[0]!.leaseExpiresAt!.getTime()).toBeGreaterThan(Date.now() + 20_000);
      });

      it("respects the limit and never hands one task out twice", async () => {
        await insert(...Array.from({ length: 25 }, () => newTask()));
        const [a, b, c] = await Promise.all([claim({ limit: 10 }), claim({ limit: 10, node: "n2" }), claim({ limit: 10, node: "n3" })]);
        const ids = [...a, ...b, ...c].map((t) => t.id);
        expect(ids.length).toBe(25);
        expect(new Set(ids).size).toBe(25);
      });

      it("opens a run per claim", async () => {
        const [t] = await insert(newTask());
        await claim();
        const runs = await store.runList(t!.id);
        expect(runs).toHaveLength(1);
        expect(runs[0]).toMatchObject({ taskId: t!.id, runNo: 1, attempt: 1, node: "n1", outcome: null, runId: `${t!.id}#1` });
      });

      it("claims only the types asked for, and honours per-type slots", async () => {
        await insert(newTask({ type: "a" }), newTask({ type: "a" }), newTask({ type: "a" }), newTask({ type: "b" }), newTask({ type: "c" }));
        const claimed = await claim({ types: [{ type: "a", slots: 2 }, { type: "b", slots: Infinity }] });
        expect(claimed.map((t) => t.type).sort()).toEqual(["a", "a", "b"]);
      });

      it("lets only the pinned executor claim a pinned task", async () => {
        await insert(newTask({ id: "pinned", executor: "n2" }), newTask({ id: "free" }));
        expect((await claim()).map((t) => t.id)).toEqual(["free"]);
        expect((await claim({ node: "n2" })).map((t) => t.id)).toEqual(["pinned"]);
      });

      it("fits CPU cost into the free capacity, in order", async () => {
        await insert(newTask({ id: "a", cpu: 100, priority: 1 }), newTask({ id: "b", cpu: 100, priority: 2 }), newTask({ id: "c", cpu: 100, priority: 3 }), newTask({ id: "z", cpu: 0, priority: 4 }));
        expect((await claim({ cpuFree: 250, cpuCapacity: 400 })).map((t) => t.id)).toEqual(["a", "b"]);
        expect((await claim({ cpuFree: 50, cpuCapacity: 400 })).map((t) => t.id)).toEqual([]);
        expect((await claim({ cpuFree: 100, cpuCapacity: 400 })).map((t) => t.id)).toEqual(["c", "z"]);
      });

      it("caps a task's cost at the node capacity so it can still run on an idle node", async () => {
        await insert(newTask({ id: "huge", cpu: 5000 }));
        expect((await claim({ cpuFree: 200, cpuCapacity: 200 })).map((t) => t.id)).toEqual(["huge"]);
      });

      it("does not claim tasks past their deadline", async () => {
        await insert(newTask({ id: "late", deadline: Date.now() - 1 }), newTask({ id: "ok", deadline: Date.now() + 60_000 }));
        expect((await claim()).map((t) => t.id)).toEqual(["ok"]);
      });

      it("fails a lost run that was the last one allowed (maxRuns), attempts left or not", async () => {
        await insert(newTask({ id: "spent", maxRuns: 2, maxAttempts: 5 }));
        const [first] = await claim();
        await store.taskFinishMany([{ taskId: "spent", runNo: first!.runCount, outcome: "failed", next: "queued", retryDelayMs: 0 }]);
        const [second] = await claim();
        expect(second!.runCount).toBe(2);
        const [rescued] = await store.taskRescueNode("n1");
        expect(rescued).toMatchObject({ id: "spent", status: "failed" });
        expect(await claim()).toEqual([]);
      });
    });

    describe("leases and fencing", () => {
      it("renews held leases and reports cancel requests", async () => {
        const [a, b] = await insert(newTask({ id: "a" }), newTask({ id: "b" }));
        await claim();
        await store.taskCancel("b");
        const held = await store.leaseRenewMany([{ taskId: "a", runNo: 1 }, { taskId: "b", runNo: 1 }, { taskId: "a", runNo: 7 }], 60_000);
        expect(held.sort((x, y) => x.taskId.localeCompare(y.taskId))).toEqual([
          { taskId: "a", runNo: 1, cancelRequested: false },
          { taskId: "b", runNo: 1, cancelRequested: true },
        ]);
        expect((await store.taskGet(a!.id))!.leaseExpiresAt!.getTime()).toBeGreaterThan(Date.now() + 50_000);
        void b;
      });

      it("refuses every write of a run whose lease was taken over", async () => {
        const [t] = await insert(newTask({ id: "f" }));
        await claim({ leaseMs: 1 });
        await sleep(5);
        const rescued = (await store.taskRescueExpired()).tasks;
        expect(rescued.map((r) => r.id)).toEqual(["f"]);
        const [again] = await claim({ node: "n2" });
        expect(again!.runCount).toBe(2);
        // The first run comes back late: every write of it is refused.
        expect(await store.leaseRenewMany([{ taskId: "f", runNo: 1 }], 60_000)).toEqual([]);
        await store.progressWriteMany([{ taskId: "f", runNo: 1, current: 99, total: 100, message: "stale", ratePerSec: 1, at: Date.now() }]);
        expect(await succeed("f", 1)).toEqual([]);
        const now = await store.taskGet("f");
        expect(now).toMatchObject({ status: "running", node: "n2", runCount: 2, progress: null, result: null });
        expect((await succeed("f", 2)).map((r) => r.status)).toEqual(["succeeded"]);
        const runs = await store.runList(t!.id);
        expect(runs.map((r) => [r.runNo, r.node, r.outcome])).toEqual([[1, "n1", "offline"], [2, "n2", "succeeded"]]);
      });

      it("stores progress of the current run", async () => {
        await insert(newTask({ id: "p" }));
        await claim();
        await store.progressWriteMany([{ taskId: "p", runNo: 1, current: 40, total: 100, message: "working", ratePerSec: 20, at: Date.now() }]);
        const t = await store.taskGet("p");
        expect(t!.progress).toMatchObject({ current: 40, total: 100, message: "working", ratePerSec: 20 });
        expect(t!.progress!.etaMs).toBeCloseTo(3000, -1);
      });
    });

    describe("finishing runs", () => {
      it("succeeds: stores the result, the final progress, and when to delete", async () => {
        await insert(newTask({ id: "s", deleteAfterMs: 5000 }));
        await claim();
        const [applied] = await succeed("s", 1, { progress: { taskId: "s", runNo: 1, current: 10, total: 10, message: "done", ratePerSec: 5, at: Date.now() } });
        expect(applied).toMatchObject({ taskId: "s", runNo: 1, status: "succeeded", attempt: 1 });
        const row = await store.taskGet("s");
        expect(row).toMatchObject({ status: "succeeded", result: { ok: true }, progress: { current: 10, total: 10, message: "done", etaMs: null } });
        expect(row!.finishedAt).toEqual(applied!.finishedAt);
        expect(row!.deleteAt!.getTime() - row!.finishedAt!.getTime()).toBe(5000);
        expect(row!.leaseExpiresAt).toBeNull();
        const [run] = await store.runList("s");
        expect(run).toMatchObject({ outcome: "succeeded", result: { ok: true } });
        expect(run!.endedAt).toBeInstanceOf(Date);
      });

      it("keeps the record of a run that ended its task through a manual retry and the runs after it", async () => {
        await insert(newTask({ id: "fr", maxAttempts: 1 }));
        await claim();
        await store.taskFinishMany([{ taskId: "fr", runNo: 1, outcome: "timed_out", next: "failed", error: { name: "TimeoutError", message: "too slow" } }]);
        const [first] = await store.runList("fr");
        expect(first).toMatchObject({ runNo: 1, attempt: 1, node: "n1", outcome: "timed_out", error: { name: "TimeoutError", message: "too slow" } });
        expect(first!.endedAt).toBeInstanceOf(Date);
        expect((await store.taskRetry("fr"))?.applied).toBe(true);
        expect(await store.runList("fr")).toEqual([first]);
        const [again] = await claim({ node: "n2" });
        expect(again!.runCount).toBe(2);
        expect(await store.runList("fr")).toEqual([first, expect.objectContaining({ runNo: 2, node: "n2", outcome: null, endedAt: null })]);
        await succeed("fr", 2);
        expect((await store.runList("fr")).map((r) => [r.runNo, r.node, r.outcome])).toEqual([[1, "n1", "timed_out"], [2, "n2", "succeeded"]]);
        expect((await store.runList("fr"))[0]).toEqual(first);
      });

      it("re-queues a retry for later and keeps the last error", async () => {
        await insert(newTask({ id: "r" }));
        await claim();
        const [applied] = await store.taskFinishMany([{ taskId: "r", runNo: 1, outcome: "failed", next: "queued", retryDelayMs: 60_000, error: { name: "Error", message: "boom" } }]);
        expect(applied).toMatchObject({ status: "scheduled", attempt: 1, finishedAt: null, deleteAt: null });
        expect(await store.taskGet("r")).toMatchObject({ status: "scheduled", attempt: 1, error: { message: "boom" }, finishedAt: null, deleteAt: null });
        expect(await claim()).toEqual([]);
      });

      it("gives the attempt back on release", async () => {
        await insert(newTask({ id: "rel" }));
        await claim();
        const [applied] = await store.taskFinishMany([{ taskId: "rel", runNo: 1, outcome: "offline", next: "queued", refundAttempt: true }]);
        expect(applied).toMatchObject({ status: "queued", attempt: 0, runNo: 1 });
        expect(await store.taskGet("rel")).toMatchObject({ status: "queued", attempt: 0, runCount: 1 });
        const [again] = await claim();
        expect(again).toMatchObject({ attempt: 1, runCount: 2 });
      });

      it("puts a released task back in its old place in the claim order", async () => {
        const t0 = Date.now() - 60_000;
        await insert(newTask({ id: "first", runAt: t0 }), newTask({ id: "second", runAt: t0 + 1000 }));
        const [taken] = await claim({ limit: 1 });
        expect(taken!.id).toBe("first");
        await insert(newTask({ id: "later" }));
        await store.taskFinishMany([{ taskId: "first", runNo: 1, outcome: "offline", next: "queued", retryDelayMs: 0, refundAttempt: true }]);
        expect((await store.taskGet("first"))!.runAt.getTime()).toBe(t0);
        expect((await claim()).map((t) => t.id)).toEqual(["first", "second", "later"]);
      });

      it("fails a re-queue that has no run left instead of leaving it queued forever", async () => {
        await insert(newTask({ id: "last", maxRuns: 1, maxAttempts: 3 }));
        await claim();
        const [applied] = await store.taskFinishMany([{ taskId: "last", runNo: 1, outcome: "offline", next: "queued", refundAttempt: true }]);
        expect(applied!.status).toBe("failed");
        const task = await store.taskGet("last");
        expect(task).toMatchObject({ status: "failed" });
        expect(task!.finishedAt).toBeInstanceOf(Date);
      });

      it("ends a retry as cancelled when a cancel was requested", async () => {
        await insert(newTask({ id: "cr" }));
        await claim();
        await store.taskCancel("cr");
        const [applied] = await store.taskFinishMany([{ taskId: "cr", runNo: 1, outcome: "failed", next: "queued", retryDelayMs: 0 }]);
        expect(applied!.status).toBe("cancelled");
      });

      it("applies a batch of finishes and skips the fenced ones", async () => {
        await insert(newTask({ id: "b1" }), newTask({ id: "b2" }), newTask({ id: "b3" }));
        await claim();
        const rows = await store.taskFinishMany([
          { taskId: "b1", runNo: 1, outcome: "succeeded", next: "succeeded", result: 1 },
          { taskId: "b2", runNo: 9, outcome: "succeeded", next: "succeeded", result: 2 },
          { taskId: "b3", runNo: 1, outcome: "failed", next: "failed", error: { name: "E", message: "x" } },
        ]);
        expect(rows.map((r) => [r.taskId, r.status]).sort()).toEqual([["b1", "succeeded"], ["b3", "failed"]]);
        expect((await store.taskGet("b2"))!.status).toBe("running");
      });
    });

    describe("events", () => {
      it("refuses log lines of a run that no longer holds its task", async () => {
        await insert(newTask({ id: "fz" }));
        await claim({ leaseMs: 1 });
        await sleep(5);
        await store.taskRescueExpired();
        await store.eventInsertMany([{ taskId: "fz", runNo: 1, seq: 1, at: Date.now(), level: "info", message: "late", data: null }], []);
        expect(await store.eventList("fz", {})).toEqual([]);
      });

      it("appends and pages log lines by id", async () => {
        await insert(newTask({ id: "e" }));
        await claim();
        const at = Date.now();
        await store.eventInsertMany(
          [1, 2, 3].map((seq) => ({ taskId: "e", runNo: 1, seq, at, level: "info" as const, message: `line ${seq}`, data: seq === 2 ? { a: 1 } : undefined })),
          [],
        );
        const all = await store.eventList("e", {});
        expect(all.map((e) => [e.message, e.data])).toEqual([["line 1", null], ["line 2", { a: 1 }], ["line 3", null]]);
        const after = await store.eventList("e", { afterId: all[0]!.id, limit: 1 });
        expect(after.map((e) => e.message)).toEqual(["line 2"]);
      });

      it("trims a run's oldest lines beyond the cap and leaves a marker", async () => {
        await insert(newTask({ id: "cap" }));
        await claim();
        const lines = Array.from({ length: 10 }, (_, i) => ({ taskId: "cap", runNo: 1, seq: i + 1, at: Date.now(), level: "debug" as const, message: `l${i + 1}`, data: undefined }));
        await store.eventInsertMany(lines, [{ taskId: "cap", runNo: 1, dropBelowSeq: 7, droppedTotal: 6 }]);
        const kept = await store.eventList("cap", {});
        expect(kept.map((e) => e.message)).toEqual([expect.stringContaining("6 earlier log line(s)"), "l7", "l8", "l9", "l10"]);
        // A second trim updates the same marker, still ahead of the kept lines.
        await store.eventInsertMany([{ taskId: "cap", runNo: 1, seq: 11, at: Date.now(), level: "info", message: "l11", data: null }], [{ taskId: "cap", runNo: 1, dropBelowSeq: 8, droppedTotal: 7 }]);
        const after = await store.eventList("cap", {});
        expect(after.map((e) => e.message)).toEqual([expect.stringContaining("7 earlier log line(s)"), "l8", "l9", "l10", "l11"]);
        expect(after[0]!.level).toBe("warn");
      });
    });

    describe("control", () => {
      it("cancels a queued task at once and flags a running one", async () => {
        await insert(newTask({ id: "q" }), newTask({ id: "r", priority: -1 }));
        await claim({ limit: 1 });
        const q = await store.taskCancel("q");
        expect(q).toMatchObject({ applied: true, task: { status: "cancelled" } });
        const r = await store.taskCancel("r");
        expect(r).toMatchObject({ applied: true, task: { status: "running", cancelRequested: true } });
        expect(await store.taskCancel("q")).toMatchObject({ applied: false });
        expect(await store.taskCancel("nope")).toBeNull();
      });

      it("retries a failed task with attempts reset", async () => {
        await insert(newTask({ id: "rt", maxAttempts: 1 }));
        await claim();
        await store.taskFinishMany([{ taskId: "rt", runNo: 1, outcome: "failed", next: "failed", error: { name: "E", message: "x" } }]);
        const t = await store.taskRetry("rt");
        expect(t).toMatchObject({ applied: true, task: { status: "queued", attempt: 0, runCount: 1, finishedAt: null } });
        const [again] = await claim();
        expect(again).toMatchObject({ attempt: 1, runCount: 2 });
        // Not retryable while running.
        expect(await store.taskRetry("rt")).toMatchObject({ applied: false, task: { status: "running" } });
      });

      it("refuses a retry that would give a live key a second holder", async () => {
        await insert(newTask({ id: "k1", key: "K" }));
        await store.taskCancel("k1");
        await insert(newTask({ id: "k2", key: "K" }));
        await expect(store.taskRetry("k1")).rejects.toBeInstanceOf(KeyConflictError);
        expect((await store.taskGet("k1"))!.status).toBe("cancelled");
      });

      it("does not retry a task that used all its runs", async () => {
        await insert(newTask({ id: "mr", maxRuns: 1 }));
        await claim();
        await store.taskFinishMany([{ taskId: "mr", runNo: 1, outcome: "failed", next: "failed" }]);
        expect(await store.taskRetry("mr")).toMatchObject({ applied: false, task: { status: "failed" } });
      });

      it("deletes a task with its runs and events, never a running one", async () => {
        await insert(newTask({ id: "d1" }), newTask({ id: "d2" }));
        await claim({ limit: 1 });
        await store.eventInsertMany([{ taskId: "d1", runNo: 1, seq: 1, at: Date.now(), level: "info", message: "x", data: null }], []);
        expect(await store.taskDelete("d1")).toBe("running");
        await succeed("d1", 1);
        expect(await store.taskDelete("d1")).toBe("deleted");
        expect(await store.runList("d1")).toEqual([]);
        expect(await store.eventList("d1", {})).toEqual([]);
        expect(await store.taskDelete("d2")).toBe("deleted");
        expect(await store.taskDelete("d2")).toBe("not-found");
      });
    });

    describe("recovery and retention", () => {
      it("re-queues expired leases with outcome offline, and fails tasks out of attempts", async () => {
        await insert(newTask({ id: "again", maxAttempts: 3 }), newTask({ id: "spent", maxAttempts: 1 }));
        await claim({ leaseMs: 1 });
        await sleep(5);
        const rescued = (await store.taskRescueExpired()).tasks;
        const byId = Object.fromEntries(rescued.map((t) => [t.id, t]));
        expect(byId.again).toMatchObject({ status: "queued", attempt: 1, error: { name: "NodeLostError" } });
        expect(byId.spent).toMatchObject({ status: "failed" });
        expect((await store.runList("again"))[0]!.outcome).toBe("offline");
        expect((await store.taskRescueExpired()).tasks).toEqual([]);
      });

      it("tells when the next lease still held expires, or null when nothing runs", async () => {
        expect((await store.taskRescueExpired()).nextExpiryAt).toBeNull();
        await insert(newTask({ id: "short", runAt: Date.now() - 2000 }), newTask({ id: "long", runAt: Date.now() - 1000 }));
        await claim({ limit: 1, leaseMs: 1 });
        const before = await store.now();
        await claim({ limit: 1, leaseMs: 60_000 });
        await sleep(5);
        const out = await store.taskRescueExpired();
        expect(out.tasks.map((t) => t.id)).toEqual(["short"]);
        // The expired one is rescued, so the next expiry is the long lease's.
        expect(out.nextExpiryAt).toBeGreaterThanOrEqual(before + 59_000);
        expect(out.nextExpiryAt).toBeLessThanOrEqual((await store.now()) + 61_000);
      });

      it("puts a rescued task back in its old place in the claim order", async () => {
        const t0 = Date.now() - 60_000;
        await insert(newTask({ id: "lost", runAt: t0 }), newTask({ id: "next", runAt: t0 + 1000 }));
        await claim({ limit: 1, leaseMs: 1 });
        await insert(newTask({ id: "meanwhile" }));
        await sleep(5);
        expect((await store.taskRescueExpired()).tasks.map((t) => t.id)).toEqual(["lost"]);
        expect((await store.taskGet("lost"))!.runAt.getTime()).toBe(t0);
        expect((await claim()).map((t) => t.id)).toEqual(["lost", "next", "meanwhile"]);
      });

      it("re-queues one node's leftovers at once, leaving other nodes alone", async () => {
        await insert(newTask({ id: "mine" }), newTask({ id: "theirs" }));
        await claim({ limit: 1 });
        await claim({ node: "n2" });
        const rescued = await store.taskRescueNode("n1");
        expect(rescued.map((t) => [t.id, t.status])).toEqual([["mine", "queued"]]);
        expect((await store.taskGet("theirs"))!.status).toBe("running");
      });

      it("expires queued tasks past their deadline", async () => {
        await insert(newTask({ id: "old", deadline: Date.now() - 1 }), newTask({ id: "young", deadline: Date.now() + 60_000 }));
        const expired = await store.taskExpireOverdue();
        expect(expired.map((t) => [t.id, t.status])).toEqual([["old", "expired"]]);
        expect((await store.taskGet("old"))!.finishedAt).toBeInstanceOf(Date);
      });

      it("prunes finished tasks past deleteAt and runs beyond the cap", async () => {
        await insert(newTask({ id: "gone", deleteAfterMs: 0 }), newTask({ id: "kept" }), newTask({ id: "many", maxAttempts: 100 }));
        await claim({ types: [{ type: "t", slots: Infinity }], limit: 2 });
        await succeed("gone", 1);
        await succeed("kept", 1);
        for (let i = 1; i <= 5; i++) {
          const [t] = await claim();
          await store.eventInsertMany([{ taskId: "many", runNo: t!.runCount, seq: 1, at: Date.now(), level: "info", message: `run ${i}`, data: null }], []);
          await store.taskFinishMany([{ taskId: "many", runNo: t!.runCount, outcome: "failed", next: "queued", retryDelayMs: 0 }]);
        }
        await sleep(2);
        const report = await store.prune({ keepRunsPerTask: 2, batchSize: 2 });
        expect(report.tasksDeleted).toBe(1);
        expect(await store.taskGet("gone")).toBeNull();
        expect(await store.taskGet("kept")).not.toBeNull();
        expect((await store.runList("many")).map((r) => r.runNo)).toEqual([4, 5]);
        expect((await store.eventList("many", {})).map((e) => e.message)).toEqual(["run 4", "run 5"]);
      });
    });

    describe("paused types", () => {
      const both = [{ type: "a", slots: Infinity }, { type: "b", slots: Infinity }];

      it("leaves a paused type's tasks queued, accepts adds, and claims them again once resumed", async () => {
        // The paused type's tasks come first in claim order: a claim must not stall behind them.
        await insert(...Array.from({ length: 20 }, (_, i) => newTask({ id: `a${i}`, type: "a", priority: -10 })), newTask({ id: "b1", type: "b" }));
        expect(await store.typePause("a", true)).toBe(true);
        expect(await store.typePause("a", true)).toBe(false);
        expect((await store.typePausedList()).map((p) => p.type)).toEqual(["a"]);
        expect((await store.typePausedList())[0]!.pausedAt.getTime()).toBeGreaterThan(Date.now() - 10_000);
        expect((await claim({ types: both, limit: 5 })).map((t) => t.id)).toEqual(["b1"]);
        await insert(newTask({ id: "a-late", type: "a" }));
        expect((await store.taskGet("a-late"))!.status).toBe("queued");
        expect(await claim({ types: both })).toEqual([]);
        // Every claim path: with cluster-wide limits (chosen under a lock), and after finishes.
        expect(await claim({ types: [{ type: "a", slots: Infinity, flow: { typeConcurrency: 100 } }] })).toEqual([]);
        expect((await store.taskFinishAndClaim([], { node: "n1", types: both, limit: 10, cpuFree: 400, cpuCapacity: 400, leaseMs: 30_000 })).claimed).toEqual([]);
        expect(await store.typePause("a", false)).toBe(true);
        expect(await store.typePause("a", false)).toBe(false);
        expect(await store.typePausedList()).toEqual([]);
        expect((await claim({ types: both, limit: 100 })).map((t) => t.id).sort()).toEqual([...Array.from({ length: 20 }, (_, i) => `a${i}`), "a-late"].sort());
      });

      it("lets a running task of a paused type finish", async () => {
        await insert(newTask({ id: "r", type: "a" }));
        const [run] = await claim({ types: both });
        await store.typePause("a", true);
        expect((await store.leaseRenewMany([{ taskId: "r", runNo: run!.runCount }], 30_000)).map((l) => l.taskId)).toEqual(["r"]);
        await succeed("r", run!.runCount);
        expect((await store.taskGet("r"))!.status).toBe("succeeded");
      });

      it("holds on every node: a pause made through another connection is honoured at once, and so is its resume", async (ctx) => {
        const config = store.threadConfig();
        if (!config) return ctx.skip(); // one connection only (SQLite :memory:)
        const peer = await openStoreFromThreadConfig(config);
        try {
          const peerClaim = (types: ClaimType[] = both) => peer.taskClaim({ node: "n2", types, limit: 10, cpuFree: 400, cpuCapacity: 400, leaseMs: 30_000 });
          // The peer has claimed (and so read the paused set) before the pause.
          expect(await peerClaim()).toEqual([]);
          await insert(newTask({ id: "x", type: "a" }), newTask({ id: "y", type: "a" }));
          await store.typePause("a", true);
          expect(await peerClaim()).toEqual([]);
          expect(await peerClaim([{ type: "a", slots: Infinity, flow: { typeConcurrency: 100 } }])).toEqual([]);
          expect((await peer.typePausedList()).map((p) => p.type)).toEqual(["a"]);
          await peer.typePause("a", false);
          expect((await claim({ types: both })).map((t) => t.id)).toEqual(["x", "y"]);
        } finally {
          await peer.close();
        }
      });

      it("reports each type's finishes in the last minute and hour and its oldest due queued task", async () => {
        const now = Date.now();
        await insert(newTask({ id: "s1", type: "a" }), newTask({ id: "s2", type: "a" }), newTask({ id: "f1", type: "b", maxAttempts: 1 }));
        const runs = await claim({ types: both });
        await succeed("s1", 1);
        await succeed("s2", 1);
        await store.taskFinishMany([{ taskId: "f1", runNo: runs.find((t) => t.id === "f1")!.runCount, outcome: "failed", next: "failed", error: { name: "Error", message: "boom" } }]);
        await insert(newTask({ id: "q-old", type: "c", runAt: now - 5000 }), newTask({ id: "q-new", type: "c" }), newTask({ id: "later", type: "d", runAt: now + 60_000 }));
        const activity = await store.typeActivity();
        expect(activity.now).toBeGreaterThanOrEqual(now - 1000);
        const of = (type: string) => activity.types.find((t) => t.type === type);
        expect(of("a")).toMatchObject({ succeededLastMinute: 2, succeededLastHour: 2, failedLastMinute: 0, failedLastHour: 0, oldestQueuedAt: null });
        expect(of("b")).toMatchObject({ succeededLastMinute: 0, failedLastMinute: 1, failedLastHour: 1 });
        expect(Math.abs(of("c")!.oldestQueuedAt! - (now - 5000))).toBeLessThan(1000);
        expect(of("d")).toBeUndefined();
      });
    });

    describe("nodes", () => {
      const beat = (name: string, over: Partial<NodeHeartbeat> = {}): NodeHeartbeat => ({
        name, host: "h", pid: 1, version: "0", startedAt: new Date(Date.now() - 1000), status: "online", types: ["t"],
        concurrency: 10, running: 2, cpuCapacity: 200, cpuUsed: 50, loadPerCore: 0.5, memoryBytes: 1234, runners: null, ...over,
      });

      it("records heartbeats, updating a node in place", async () => {
        await store.nodeHeartbeat(beat("n1"));
        await store.nodeHeartbeat(beat("n2", { types: ["a", "b"] }));
        await store.nodeHeartbeat(beat("n1", { running: 7, status: "draining" }));
        const nodes = await store.nodeList();
        expect(nodes.map((n) => n.name).sort()).toEqual(["n1", "n2"]);
        const n1 = nodes.find((n) => n.name === "n1")!;
        expect(n1).toMatchObject({ running: 7, status: "draining", types: ["t"], cpuCapacity: 200, memoryBytes: 1234 });
        expect(n1.heartbeatAt.getTime()).toBeGreaterThan(Date.now() - 5000);
        expect(nodes.find((n) => n.name === "n2")!.types).toEqual(["a", "b"]);
        expect(n1.runners).toBeNull();
        // A node whose handlers run isolated reports its runners; they go when it has none.
        await store.nodeHeartbeat(beat("n2", { runners: { size: 4, busy: 3, recycled: 1, replaced: 2 } }));
        expect((await store.nodeList()).find((n) => n.name === "n2")!.runners).toEqual({ size: 4, busy: 3, recycled: 1, replaced: 2 });
        await store.nodeHeartbeat(beat("n2"));
        expect((await store.nodeList()).find((n) => n.name === "n2")!.runners).toBeNull();
      });

      it("marks silent nodes offline once, and prunes long-offline ones", async () => {
        await store.nodeHeartbeat(beat("quiet"));
        await sleep(300);
        await store.nodeHeartbeat(beat("fresh"));
        const marked = await store.nodeMarkStale(200);
        expect(marked.map((n) => [n.name, n.status])).toEqual([["quiet", "offline"]]);
        expect(await store.nodeMarkStale(200)).toEqual([]);
        await sleep(5);
        expect(await store.nodePrune(1)).toBe(1);
        expect((await store.nodeList()).map((n) => n.name)).toEqual(["fresh"]);
      });
    });

    describe("listing", () => {
      it("filters by status (scheduled vs queued), type, owner and key", async () => {
        await insert(
          newTask({ id: "l1", type: "a", owner: "alice" }),
          newTask({ id: "l2", type: "b", owner: "bob", key: "kb" }),
          newTask({ id: "l3", type: "a", runAt: Date.now() + 60_000 }),
        );
        const ids = async (f: Partial<Parameters<Store["taskList"]>[0]>) => (await store.taskList({ limit: 50, ...f })).tasks.map((t) => t.id).sort();
        expect(await ids({ status: ["scheduled"] })).toEqual(["l3"]);
        expect(await ids({ status: ["queued"] })).toEqual(["l1", "l2"]);
        expect(await ids({ type: ["a"] })).toEqual(["l1", "l3"]);
        expect(await ids({ owner: "bob" })).toEqual(["l2"]);
        expect(await ids({ key: "kb" })).toEqual(["l2"]);
        const counts = await store.taskCount();
        expect(counts.find((c) => c.status === "scheduled")).toMatchObject({ type: "a", count: 1 });
      });

      it("pages newest first with a keyset cursor, without gaps or repeats", async () => {
        const made: string[] = [];
        for (let i = 0; i < 23; i++) {
          const [t] = await insert(newTask());
          made.push(t!.id);
          if (i % 5 === 0) await sleep(2);
        }
        const seen: string[] = [];
        let cursor: string | undefined;
        do {
          const page = await store.taskList({ limit: 5, cursor });
          seen.push(...page.tasks.map((t) => t.id));
          cursor = page.nextCursor ?? undefined;
        } while (cursor);
        expect(seen).toEqual([...made].reverse());
        const asc = await store.taskList({ limit: 100, order: "asc" });
        expect(asc.tasks.map((t) => t.id)).toEqual(made);
        await expect(store.taskList({ limit: 5, cursor: "garbage!" })).rejects.toBeInstanceOf(ValidationError);
      });
    });
  });
}
