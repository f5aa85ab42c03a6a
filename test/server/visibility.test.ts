/** Users, tokens and visibility: a user sees only its own tasks (404 otherwise), an admin sees all. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../helpers/lane.js";
import { gateWaiting, openGate, openSse, startHarness, type Harness } from "./helpers.js";

let h: Harness;
let bobTask: string;
let bobFailed: string;
beforeAll(async () => {
  h = await startHarness();
  bobTask = (await h.call(h.bob, "POST", "/api/tasks", { type: "gated", params: { gate: "vis" } })).json.id;
  bobFailed = (await h.call(h.bob, "POST", "/api/tasks", { type: "fails" })).json.id;
  await waitFor(() => gateWaiting("vis"), "bob's task to run");
  await waitFor(async () => (await h.lane.get(bobFailed))?.status === "failed", "bob's failing task to fail");
});
afterAll(async () => {
  if (gateWaiting("vis")) openGate("vis");
  await h.close();
});

describe("auth", () => {
  it("refuses requests without a token, with a malformed one, or an unknown one (401, same answer)", async () => {
    for (const token of [null, "nope", "tl_0123456789abcdef_" + "A".repeat(43)]) {
      const r = await h.call(token, "GET", "/api/tasks");
      expect(r.status).toBe(401);
      expect(r.json.error.code).toBe("UNAUTHENTICATED");
      expect(r.headers.get("www-authenticate")).toMatch(/^Bearer/);
    }
    // A real token id with a wrong secret.
    const wrong = h.alice.slice(0, -4) + "AAAA";
    expect((await h.call(wrong, "GET", "/api/tasks")).status).toBe(401);
    expect((await h.call(h.alice, "GET", "/api/me")).json).toEqual({ name: "alice", role: "user" });
  });

  it("stores tokens only as hashes", async () => {
    const tokens = await h.lane.users.tokens("alice");
    expect(tokens).toHaveLength(1);
    expect(JSON.stringify(tokens)).not.toContain(h.alice.slice(20));
    const row = await h.lane.store.tokenGet!(tokens[0]!.id);
    expect(row!.token.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(h.alice).not.toContain(row!.token.hash);
  });

  it("a revoked token is refused; a removed user's tokens too", async () => {
    const { token, id } = await h.lane.users.issueToken("alice", "temp");
    expect((await h.call(token, "GET", "/api/me")).status).toBe(200);
    expect(await h.lane.users.revokeToken(id)).toBe(true);
    expect((await h.call(token, "GET", "/api/me")).status).toBe(401);
    expect((await h.call(h.alice, "GET", "/api/me")).status).toBe(200); // other tokens unaffected
    const carol = (await h.lane.users.add("carol")).token.token;
    expect((await h.call(carol, "GET", "/api/me")).status).toBe(200);
    await h.lane.users.remove("carol");
    expect((await h.call(carol, "GET", "/api/me")).status).toBe(401);
  });
});

describe("visibility", () => {
  it("user A cannot read, follow, cancel, retry or delete user B's task: 404 exactly like a missing one", async () => {
    const missing = await h.call(h.alice, "GET", "/api/tasks/no-such-task");
    for (const [method, suffix] of [
      ["GET", ""],
      ["GET", "/runs"],
      ["GET", "/logs"],
      ["GET", "/logs?follow=1"],
      ["POST", "/cancel"],
      ["POST", "/retry"],
      ["DELETE", ""],
    ] as const) {
      for (const id of [bobTask, bobFailed]) {
        const r = await h.call(h.alice, method, `/api/tasks/${id}${suffix}`);
        expect(r.status, `${method} ${suffix}`).toBe(404);
        expect(r.json).toEqual({ error: { code: "TASK_NOT_FOUND", message: `task ${id} not found` } });
        expect(Object.keys(r.json.error)).toEqual(Object.keys(missing.json.error));
      }
    }
    // Nothing changed.
    expect((await h.lane.get(bobTask))!.status).toBe("running");
    expect((await h.lane.get(bobTask))!.cancelRequested).toBe(false);
    expect((await h.lane.get(bobFailed))!.status).toBe("failed");
  });

  it("lists and stats show only the caller's tasks; an admin sees all and may add for an owner", async () => {
    const mine = (await h.call(h.alice, "POST", "/api/tasks", { type: "echo", delay: "1h" })).json.id;
    const list = await h.call(h.alice, "GET", "/api/tasks");
    expect(list.json.tasks.map((t: any) => t.id)).toEqual([mine]);
    expect((await h.call(h.alice, "GET", "/api/tasks?owner=bob")).json.tasks).toEqual([]);
    const stats = await h.call(h.alice, "GET", "/api/stats");
    expect(stats.json.total).toBe(1);
    expect(stats.json.byType).toEqual({ echo: { total: 1, byStatus: { scheduled: 1 } } });
    expect(stats.json.window.failed).toBe(0);

    const all = await h.call(h.admin, "GET", "/api/tasks?limit=100");
    expect(all.json.tasks.map((t: any) => t.id)).toEqual(expect.arrayContaining([mine, bobTask, bobFailed]));
    expect((await h.call(h.admin, "GET", "/api/tasks?owner=bob")).json.tasks.map((t: any) => t.id).sort()).toEqual([bobTask, bobFailed].sort());
    const adminStats = await h.call(h.admin, "GET", "/api/stats");
    expect(adminStats.json.total).toBeGreaterThanOrEqual(3);
    expect(adminStats.json.window.failed).toBe(1);
    expect(adminStats.json.window.failureRate).toBeGreaterThan(0);
    expect((await h.call(h.admin, "GET", `/api/tasks/${bobTask}`)).json.owner).toBe("bob");
    expect((await h.call(h.admin, "GET", `/api/tasks/${bobFailed}/runs`)).json.runs[0].outcome).toBe("failed");

    const onBehalf = await h.call(h.admin, "POST", "/api/tasks", { type: "echo", owner: "alice", delay: "1h" });
    expect(onBehalf.status).toBe(201);
    expect(onBehalf.json.owner).toBe("alice");
    expect((await h.call(h.alice, "GET", `/api/tasks/${onBehalf.json.id}`)).status).toBe(200);
    expect((await h.call(h.admin, "POST", `/api/tasks/${onBehalf.json.id}/cancel`)).json.status).toBe("cancelled");
    expect((await h.call(h.admin, "POST", `/api/tasks/${bobFailed}/retry`)).json.status).toBe("queued");
  });

  it("nodes and metrics are admin-only", async () => {
    for (const route of ["/api/nodes", "/metrics"]) {
      const r = await h.call(h.alice, "GET", route);
      expect(r.status).toBe(403);
      expect(r.json.error.code).toBe("FORBIDDEN");
    }
    const nodes = await h.call(h.admin, "GET", "/api/nodes");
    expect(nodes.status).toBe(200);
    expect(nodes.json.nodes).toEqual([expect.objectContaining({ name: h.lane.node, self: true, concurrency: expect.any(Number) })]);
  });

  it("the event stream carries only the caller's tasks", async () => {
    const aliceStream = await openSse(`${h.url}/api/events`, h.alice);
    const adminStream = await openSse(`${h.url}/api/events`, h.admin);
    try {
      expect(aliceStream.status).toBe(200);
      await aliceStream.nextOf("ready");
      await adminStream.nextOf("ready");
      const bobs = (await h.call(h.bob, "POST", "/api/tasks", { type: "echo", delay: "1h" })).json.id;
      const alices = (await h.call(h.alice, "POST", "/api/tasks", { type: "echo", delay: "1h" })).json.id;
      const seenByAdmin: string[] = [];
      // Only these two: changes of tasks from earlier tests (a retried one) may interleave.
      while (seenByAdmin.length < 2) {
        const id = JSON.parse((await adminStream.nextOf("task"))!.data).taskId as string;
        if (id === bobs || id === alices) seenByAdmin.push(id);
      }
      expect(seenByAdmin).toEqual([bobs, alices]);
      const first = JSON.parse((await aliceStream.nextOf("task"))!.data);
      expect(first).toMatchObject({ taskId: alices, owner: "alice", kind: "added", status: "scheduled" });
    } finally {
      aliceStream.close();
      adminStream.close();
    }
  });
});
