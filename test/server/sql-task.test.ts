import { describe, expect, it } from "vitest";
import { serveHttp, type HttpServer, type Tasklane } from "../../src/index.js";
import { BACKENDS, useLanes, waitForStatus } from "../helpers/lane.js";
import { documentedJson } from "./openapi-check.js";

/** A real server on an ephemeral port over a lane of the backend, with an admin and a plain user. */
async function serve(lane: Tasklane) {
  const admin = (await lane.users.add("root", { role: "admin" })).token.token;
  const alice = (await lane.users.add("alice")).token.token;
  const server: HttpServer = await serveHttp(lane, { port: 0, eventsPollMs: 100, defaultMetrics: false });
  const post = async (token: string, body: unknown) => {
    const res = await fetch(`${server.url}/api/tasks`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    return { status: res.status, json: await documentedJson("POST", "/api/tasks", res) };
  };
  return { admin, alice, server, post };
}

for (const backend of BACKENDS) {
  describe(`POST /api/tasks with type sql on ${backend}`, () => {
    const useLane = useLanes(backend);

    it("answers 400 SQL_TASKS_DISABLED (not 500) to an admin when the type is not enabled; a user gets 403 first", async () => {
      const lane = await useLane().open();
      const { admin, alice, server, post } = await serve(lane);
      try {
        const refused = await post(admin, { type: "sql", params: { sql: "SELECT 1" } });
        expect(refused.status).toBe(400);
        expect(refused.json.error.code).toBe("SQL_TASKS_DISABLED");
        expect(refused.json.error.message).toMatch(/"sql" task type is disabled/);
        expect(refused.json.error.details).toEqual({ field: "type" });
        const user = await post(alice, { type: "sql", params: { sql: "SELECT 1" } });
        expect(user.status).toBe(403);
        expect((await lane.list()).tasks).toEqual([]);
      } finally {
        await server.close();
      }
    });

    it("lets an admin add it when enabled and runs it; a plain user still gets 403", async () => {
      const lane = await useLane().open({ sqlTasks: true });
      await lane.start();
      const { admin, alice, server, post } = await serve(lane);
      try {
        const user = await post(alice, { type: "sql", params: { sql: "DELETE FROM tasks" } });
        expect(user.status).toBe(403);
        expect(user.json.error).toMatchObject({ code: "FORBIDDEN", details: { field: "type" } });

        const added = await post(admin, { type: "sql", params: { sql: "SELECT $1 AS greeting", params: ["hello"] } });
        expect(added.status).toBe(201);
        expect(added.json).toMatchObject({ type: "sql", owner: "root" });
        const done = await waitForStatus(lane, added.json.id, ["succeeded", "failed"]);
        expect(done.status).toBe("succeeded");
        expect(done.result).toEqual({ rowCount: 1, rows: [{ greeting: "hello" }], truncated: false });
        expect((await lane.list({ type: "sql" })).tasks).toHaveLength(1);
      } finally {
        await server.close();
      }
    });

    it("answers 400 naming the field for bad params", async () => {
      const lane = await useLane().open({ sqlTasks: true });
      const { admin, server, post } = await serve(lane);
      try {
        const missing = await post(admin, { type: "sql", params: {} });
        expect(missing.status).toBe(400);
        expect(missing.json.error).toMatchObject({ code: "VALIDATION_FAILED", details: { field: "params.sql" } });
        const zero = await post(admin, { type: "sql", params: { sql: "SELECT 1", rowLimit: 0 } });
        expect(zero.status).toBe(400);
        expect(zero.json.error.details.field).toBe("params.rowLimit");
        expect((await lane.list()).tasks).toEqual([]);
      } finally {
        await server.close();
      }
    });
  });
}
