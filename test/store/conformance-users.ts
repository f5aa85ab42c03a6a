/**
 * Store conformance for the HTTP API's methods: users, tokens, the task event log, queries and
 * stats. Same target shape as `conformance.ts`, so every backend runs the same cases.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Store } from "../../src/store/store.js";
import type { FlowLimits } from "../../src/store/store.js";
import { followUp, newTask, type ConformanceTarget } from "./conformance.js";

const noLimits = { maxQueued: new Map<string, number>() };


export function runUsersConformance(target: ConformanceTarget): void {
  describe(`Store conformance (users, tokens, task events, stats): ${target.name}`, () => {
    let store: Required<Store>;
    beforeEach(async () => {
      store = (await target.open()) as Required<Store>;
    });
    afterEach(async () => {
      await store.close();
    });

    it("inserts, reads, lists, counts and deletes users; a taken name yields null", async () => {
      expect(await store.userCount()).toBe(0);
      const a = await store.userInsert({ name: "alice", role: "admin" });
      expect(a).toMatchObject({ name: "alice", role: "admin" });
      expect(a!.createdAt).toBeInstanceOf(Date);
      expect(await store.userInsert({ name: "alice", role: "user" })).toBeNull();
      await store.userInsert({ name: "bob", role: "user" });
      expect(await store.userGet("alice")).toEqual(a);
      expect(await store.userGet("nobody")).toBeNull();
      expect((await store.userList()).map((u) => u.name)).toEqual(["alice", "bob"]);
      expect(await store.userCount()).toBe(2);
      expect(await store.userDelete("bob")).toBe(true);
      expect(await store.userDelete("bob")).toBe(false);
      expect(await store.userCount()).toBe(1);
    });

    it("stores tokens for existing users only, finds them with their user, revokes, and drops them with the user", async () => {
      await store.userInsert({ name: "alice", role: "user" });
      expect(await store.tokenInsert({ id: "0000000000000001", userName: "ghost", hash: "ab", label: null })).toBeNull();
      const t = await store.tokenInsert({ id: "0000000000000001", userName: "alice", hash: "a".repeat(64), label: "laptop" });
      expect(t).toMatchObject({ id: "0000000000000001", userName: "alice", hash: "a".repeat(64), label: "laptop", revokedAt: null });
      await store.tokenInsert({ id: "0000000000000002", userName: "alice", hash: "b".repeat(64), label: null });
      const found = await store.tokenGet("0000000000000001");
      expect(found!.token).toEqual(t);
      expect(found!.user).toMatchObject({ name: "alice", role: "user" });
      expect(await store.tokenGet("ffffffffffffffff")).toBeNull();
      expect((await store.tokenList("alice")).map((x) => x.id)).toEqual(["0000000000000001", "0000000000000002"]);
      expect(await store.tokenRevoke({ id: "0000000000000001" })).toBe(1);
      expect(await store.tokenRevoke({ id: "0000000000000001" })).toBe(0);
      expect((await store.tokenGet("0000000000000001"))!.token.revokedAt).toBeInstanceOf(Date);
      expect(await store.tokenRevoke({ userName: "alice" })).toBe(1);
      await store.userDelete("alice");
      expect(await store.tokenGet("0000000000000002")).toBeNull();
      expect(await store.tokenList("alice")).toEqual([]);
    });

    it("logs every task state change in order, filtered by owner, resumable by id", async () => {
      expect(await store.taskEventLastId()).toBe(0);
      await store.taskInsertMany([newTask({ id: "e1", owner: "alice" }), newTask({ id: "e2", owner: "bob", runAt: Date.now() + 3_600_000 })], noLimits);
      await store.taskInsertMany([newTask({ id: "e3", owner: "alice", runAt: Date.now() + 3_600_000 })], noLimits);
      const [claimed] = await store.taskClaim({ node: "n1", types: [{ type: "t", slots: 1 }], limit: 1, cpuFree: 100, cpuCapacity: 100, leaseMs: 30_000 });
      expect(claimed!.id).toBe("e1");
      await store.taskFinishMany([{ taskId: "e1", runNo: 1, outcome: "failed", next: "queued", error: { name: "Error", message: "x" } }]);
      const [again] = await store.taskClaim({ node: "n1", types: [{ type: "t", slots: 1 }], limit: 1, cpuFree: 100, cpuCapacity: 100, leaseMs: 30_000 });
      expect(again!.id).toBe("e1");
      await store.taskCancel("e1"); // running: cancel requested
      await store.taskFinishMany([{ taskId: "e1", runNo: 2, outcome: "cancelled", next: "cancelled" }]);
      await store.taskRetry("e1");
      await store.taskCancel("e3");
      await store.taskDelete("e3");

      const all = await store.taskEventList({ afterId: 0, limit: 100 });
      const ids = all.map((e) => e.id);
      expect([...ids].sort((a, b) => a - b)).toEqual(ids);
      expect(new Set(ids).size).toBe(ids.length);
      expect(all.map((e) => [e.taskId, e.kind, e.status])).toEqual([
        ["e1", "added", "queued"],
        ["e2", "added", "scheduled"],
        ["e3", "added", "scheduled"],
        ["e1", "started", "running"],
        ["e1", "retrying", "queued"],
        ["e1", "started", "running"],
        ["e1", "cancel-requested", "running"],
        ["e1", "cancelled", "cancelled"],
        ["e1", "retried", "queued"],
        ["e3", "cancelled", "cancelled"],
        ["e3", "deleted", "cancelled"],
      ]);
      expect(all[3]).toMatchObject({ type: "t", owner: "alice", attempt: 1, runNo: 1 });
      expect(all[0]!.at).toBeInstanceOf(Date);
      expect(await store.taskEventLastId()).toBe(ids[ids.length - 1]);

      const alice = await store.taskEventList({ afterId: 0, owner: "alice", limit: 100 });
      expect(alice.every((e) => e.owner === "alice")).toBe(true);
      expect(alice).toHaveLength(10);
      const resumed = await store.taskEventList({ afterId: alice[4]!.id, owner: "alice", limit: 2 });
      expect(resumed).toEqual(alice.slice(5, 7));
    });

    it("logs rescued and released runs, succeeded and failed tasks, expiry", async () => {
      await store.taskInsertMany([newTask({ id: "r1" }), newTask({ id: "r2" }), newTask({ id: "r3", maxAttempts: 1 }), newTask({ id: "r4" })], noLimits);
      await store.taskClaim({ node: "n1", types: [{ type: "t", slots: 4 }], limit: 4, cpuFree: 400, cpuCapacity: 400, leaseMs: 30_000 });
      await store.taskFinishMany([
        { taskId: "r1", runNo: 1, outcome: "succeeded", next: "succeeded", result: 1 },
        { taskId: "r2", runNo: 1, outcome: "cancelled", next: "queued", refundAttempt: true },
        { taskId: "r3", runNo: 1, outcome: "failed", next: "failed", error: { name: "Error", message: "x" } },
      ]);
      await store.taskRescueNode("n1");
      await store.taskInsertMany([newTask({ id: "x1", deadline: Date.now() - 1 })], noLimits);
      await store.taskExpireOverdue();
      const kinds = (await store.taskEventList({ afterId: 0, limit: 100 })).filter((e) => e.kind !== "added" && e.kind !== "started");
      expect(kinds.map((e) => [e.taskId, e.kind])).toEqual([
        ["r1", "succeeded"],
        ["r2", "released"],
        ["r3", "failed"],
        ["r4", "rescued"],
        ["x1", "expired"],
      ]);
    });

    it("logs every kind of transition, on every write path, with the task's status, attempt and run", async () => {
      // One task type per task, so each claim takes exactly the task meant; one node per rescue.
      const claim = (type: string, node = "n1", flow?: FlowLimits) =>
        store.taskClaim({ node, types: [{ type, slots: 1, flow }], limit: 1, cpuFree: 100, cpuCapacity: 100, leaseMs: 30_000 });
      const runOf = async (id: string) => (await store.taskGet(id))!.runCount;
      const error = { name: "Error", message: "boom" };

      // Adds: one statement, a scheduled one, the transactional path (a maxQueued type), a schedule's tick.
      await store.taskInsertMany([newTask({ id: "a", type: "a", owner: "alice" })], noLimits);
      await store.taskInsertMany([newTask({ id: "s", type: "s", runAt: Date.now() + 3_600_000 })], noLimits);
      await store.taskInsertMany([newTask({ id: "q", type: "q" })], { maxQueued: new Map([["q", 10]]) });
      const schedule = await store.scheduleUpsert({ name: "nightly", type: "t", params: null, options: {}, cron: "0 3 * * *", tz: "UTC", missed: { policy: "skip" } });
      const [fired] = await store.scheduleFire([{ schedule: "nightly", tickAt: schedule.anchorAt.getTime() + 60_000, task: newTask({ id: "sf" }) }]);
      expect(fired!.task).not.toBeNull();

      // Task a: every way a run ends and comes back.
      await claim("a");
      await store.taskFinishMany([{ taskId: "a", runNo: 1, outcome: "failed", next: "queued", retryDelayMs: 0, error }]);
      await claim("a");
      await store.taskFinishMany([{ taskId: "a", runNo: 2, outcome: "cancelled", next: "queued", refundAttempt: true }]);
      await claim("a");
      await store.taskRescueNode("n1");
      expect(await claim("a", "n1", { typeConcurrency: 5 })).toHaveLength(1); // the flow-limited claim path
      await store.taskCancel("a");
      await store.taskCancel("a"); // requested already: no second event
      await store.taskFinishMany([{ taskId: "a", runNo: 4, outcome: "cancelled", next: "cancelled" }]);
      await store.taskRetry("a");
      await store.taskCancel("a");
      await store.taskDelete("a");

      // Follow-ups added with a finish and with a rescue; a rescue that fails or cancels.
      await store.taskInsertMany([newTask({ id: "b", type: "b", followUps: [followUp("b.1", "success")] })], noLimits);
      await claim("b", "n2");
      await store.taskFinishMany([{ taskId: "b", runNo: 1, outcome: "succeeded", next: "succeeded", result: 1 }]);
      await store.taskInsertMany([newTask({ id: "c", type: "c", maxAttempts: 1, followUps: [followUp("c.1", "failure")] })], noLimits);
      await claim("c", "n3");
      await store.taskRescueNode("n3");
      await store.taskInsertMany([newTask({ id: "d", type: "d" })], noLimits);
      await claim("d", "n4");
      await store.taskCancel("d");
      await store.taskRescueNode("n4");

      // A retry due later reports scheduled; a failure pruned at once; an expiry.
      await store.taskInsertMany([newTask({ id: "e", type: "e" }), newTask({ id: "f", type: "f", maxAttempts: 1, deleteAfterMs: 0 })], noLimits);
      await claim("e", "n5");
      await store.taskFinishMany([{ taskId: "e", runNo: 1, outcome: "failed", next: "queued", retryDelayMs: 60_000, error }]);
      await claim("f", "n5");
      await store.taskFinishMany([{ taskId: "f", runNo: await runOf("f"), outcome: "failed", next: "failed", error }]);
      expect((await store.prune({ batchSize: 100, keepRunsPerTask: 100 })).tasksDeleted).toBe(1);
      await store.taskInsertMany([newTask({ id: "x", type: "x", deadline: Date.now() - 1 })], noLimits);
      await store.taskExpireOverdue();

      const all = await store.taskEventList({ afterId: 0, limit: 1000 });
      expect(all.map((e) => [e.taskId, e.kind, e.status, e.attempt, e.runNo])).toEqual([
        ["a", "added", "queued", 0, 0],
        ["s", "added", "scheduled", 0, 0],
        ["q", "added", "queued", 0, 0],
        ["sf", "added", "queued", 0, 0],
        ["a", "started", "running", 1, 1],
        ["a", "retrying", "queued", 1, 1],
        ["a", "started", "running", 2, 2],
        ["a", "released", "queued", 1, 2],
        ["a", "started", "running", 2, 3],
        ["a", "rescued", "queued", 2, 3],
        ["a", "started", "running", 3, 4],
        ["a", "cancel-requested", "running", 3, 4],
        ["a", "cancelled", "cancelled", 3, 4],
        ["a", "retried", "queued", 0, 4],
        ["a", "cancelled", "cancelled", 0, 4],
        ["a", "deleted", "cancelled", 0, 4],
        ["b", "added", "queued", 0, 0],
        ["b", "started", "running", 1, 1],
        ["b", "succeeded", "succeeded", 1, 1],
        ["b.1", "added", "queued", 0, 0],
        ["c", "added", "queued", 0, 0],
        ["c", "started", "running", 1, 1],
        ["c", "failed", "failed", 1, 1],
        ["c.1", "added", "queued", 0, 0],
        ["d", "added", "queued", 0, 0],
        ["d", "started", "running", 1, 1],
        ["d", "cancel-requested", "running", 1, 1],
        ["d", "cancelled", "cancelled", 1, 1],
        ["e", "added", "queued", 0, 0],
        ["f", "added", "queued", 0, 0],
        ["e", "started", "running", 1, 1],
        ["e", "retrying", "scheduled", 1, 1],
        ["f", "started", "running", 1, 1],
        ["f", "failed", "failed", 1, 1],
        ["f", "deleted", "failed", 1, 1],
        ["x", "added", "queued", 0, 0],
        ["x", "expired", "expired", 0, 0],
      ]);
      // Types and owners are the task's; an add is logged at its creation, a change at its update.
      expect(all[0]).toMatchObject({ type: "a", owner: "alice" });
      expect(all.find((e) => e.taskId === "b.1")).toMatchObject({ type: "child", owner: "alice" });
      const b = (await store.taskGet("b"))!;
      expect(all.find((e) => e.taskId === "b" && e.kind === "added")!.at.getTime()).toBe(b.createdAt.getTime());
      expect(all.find((e) => e.taskId === "b" && e.kind === "succeeded")!.at.getTime()).toBe(b.updatedAt.getTime());
    });

    it("never shows a new event at or below a position a reader has seen, with concurrent writers", async () => {
      // Writers commit in any order; a reader tailing by id must still see every event exactly once.
      let done = false;
      const writers = Promise.all(
        Array.from({ length: 4 }, async () => {
          for (let i = 0; i < 25; i++) await store.taskInsertMany([newTask()], noLimits);
        }),
      ).then(() => {
        done = true;
      });
      const seen: string[] = [];
      let after = 0;
      const read = async () => {
        for (const e of await store.taskEventList({ afterId: after, limit: 1000 })) {
          expect(e.id).toBeGreaterThan(after);
          after = e.id;
          seen.push(e.taskId);
        }
      };
      while (!done) await read();
      await writers;
      await read();
      expect(seen.length).toBe(100);
      expect(new Set(seen).size).toBe(100);
    });

    it("never reuses an event position, even after pruning empties the log", async () => {
      await store.taskInsertMany([newTask({ id: "e1" }), newTask({ id: "e2" })], noLimits);
      const before = await store.taskEventList({ afterId: 0, limit: 10 });
      const seen = before[before.length - 1]!.id;
      await store.taskEventPrune({ before: Date.now() + 60_000, batchSize: 100 });
      await store.taskInsertMany([newTask({ id: "e3" })], noLimits);
      const after = await store.taskEventList({ afterId: seen, limit: 10 });
      expect(after.map((e) => e.taskId)).toEqual(["e3"]);
    });

    it("prunes old task events", async () => {
      await store.taskInsertMany([newTask({ id: "p1" }), newTask({ id: "p2" })], noLimits);
      expect(await store.taskEventPrune({ before: Date.now() - 60_000, batchSize: 1 })).toBe(0);
      expect(await store.taskEventPrune({ before: Date.now() + 60_000, batchSize: 1 })).toBe(2);
      expect(await store.taskEventList({ afterId: 0, limit: 10 })).toEqual([]);
    });

    it("queries by created range and text over id, key and name, with keyset pages", async () => {
      await store.taskInsertMany(
        [
          newTask({ id: "q1", name: "Monthly REPORT", owner: "alice" }),
          newTask({ id: "q2", key: "order-42", owner: "alice" }),
          newTask({ id: "q3", name: "100% done_", owner: "bob" }),
        ],
        noLimits,
      );
      const ids = async (q: Partial<Parameters<Store["taskList"]>[0]> & { createdFrom?: number; createdTo?: number; search?: string }) =>
        (await store.taskQuery({ limit: 10, ...q })).tasks.map((t) => t.id);
      expect(await ids({ search: "report" })).toEqual(["q1"]);
      expect(await ids({ search: "ORDER-4" })).toEqual(["q2"]);
      expect(await ids({ search: "q3" })).toEqual(["q3"]);
      expect(await ids({ search: "0%" })).toEqual(["q3"]); // literal, not a wildcard
      expect(await ids({ search: "_" })).toEqual(["q3"]);
      expect(await ids({ owner: "alice", order: "asc" })).toEqual(["q1", "q2"]);
      const t2 = (await store.taskGet("q2"))!.createdAt.getTime();
      expect(await ids({ createdFrom: t2 + 1 })).not.toContain("q2");
      expect(await ids({ createdTo: t2 })).not.toContain("q2");
      expect(await ids({ createdFrom: t2, createdTo: t2 + 1 })).toContain("q2");
      const p1 = await store.taskQuery({ limit: 2 });
      const p2 = await store.taskQuery({ limit: 2, cursor: p1.nextCursor! });
      expect([...p1.tasks, ...p2.tasks].map((t) => t.id)).toEqual(["q3", "q2", "q1"]);
      expect(p2.nextCursor).toBeNull();
    });

    it("stats: counts per owner, finished per bucket, oldest queued", async () => {
      const since = Date.now() - 60_000;
      await store.taskInsertMany([newTask({ id: "s1", owner: "alice" }), newTask({ id: "s2", owner: "bob" }), newTask({ id: "s3", owner: "alice" })], noLimits);
      await store.taskClaim({ node: "n1", types: [{ type: "t", slots: 2 }], limit: 2, cpuFree: 400, cpuCapacity: 400, leaseMs: 30_000 });
      await store.taskFinishMany([
        { taskId: "s1", runNo: 1, outcome: "succeeded", next: "succeeded" },
        { taskId: "s2", runNo: 1, outcome: "failed", next: "failed", error: { name: "E", message: "m" } },
      ]);
      const all = await store.taskStats({ since, bucketMs: 60_000 });
      expect(all.counts.reduce((n, c) => n + c.count, 0)).toBe(3);
      const sum = (k: "succeeded" | "failed" | "retrying", s = all) => s.buckets.reduce((n, b) => n + b[k], 0);
      expect([sum("succeeded"), sum("failed"), sum("retrying")]).toEqual([1, 1, 0]);
      for (const b of all.buckets) expect((b.start - since) % 60_000).toBe(0);
      expect(all.oldestQueuedAt).toBe((await store.taskGet("s3"))!.runAt.getTime());
      const alice = await store.taskStats({ owner: "alice", since, bucketMs: 60_000 });
      expect(alice.counts.map((c) => [c.status, c.count]).sort()).toEqual([["queued", 1], ["succeeded", 1]]);
      expect([sum("succeeded", alice), sum("failed", alice)]).toEqual([1, 0]);
      const bob = await store.taskStats({ owner: "bob", since, bucketMs: 60_000 });
      expect(bob.oldestQueuedAt).toBeNull();
    });
  });
}
