import { Hono, type Context } from "hono";
import type { Tasklane } from "../client/tasklane.js";
import type { AddOptions } from "../model/options.js";
import type { TaskRow } from "../model/task-row.js";
import { HttpError } from "./errors.js";
import { isAdmin, parseJsonBody, parseQuery, pathParam, type HttpEnv } from "./request.js";
import { assertMaySubmit } from "./submission-guard.js";
import { addTaskBodySchema, listTasksQuerySchema, logsQuerySchema, taskIdSchema } from "./schemas.js";
import { lastEventId, sseStream, type SseOptions } from "./sse.js";

/**
 * The task routes. Visibility: a `user` sees only tasks it owns; any other id answers the same
 * 404 as a missing one. An `admin` sees everything.
 */
export function taskRoutes(lane: Tasklane, streams: SseOptions): Hono<HttpEnv> {
  const app = new Hono<HttpEnv>();

  /** The task if the caller may see it; the same 404 as a missing task otherwise. */
  async function visibleTask(c: Context<HttpEnv>): Promise<TaskRow> {
    const id = pathParam(c, "id", taskIdSchema);
    const task = await lane.get(id);
    const user = c.get("user");
    if (!task || (!isAdmin(user) && task.owner !== user.name)) throw new HttpError(404, "TASK_NOT_FOUND", `task ${id} not found`);
    return task;
  }

  app.post("/", async (c) => {
    const user = c.get("user");
    const body = await parseJsonBody(c, addTaskBodySchema);
    assertMaySubmit(user, body);
    const { type, params, ...rest } = body;
    const owner = body.owner ?? user.name;
    const options: AddOptions = { ...(rest as AddOptions), owner };
    // A live task holding the key is returned instead of a new one (created: false).
    const { task, created } = await lane.addWithOutcome(type, params, options);
    if (task.owner !== owner) {
      // Never reveal another owner's task: only that the key is taken.
      throw new HttpError(409, "KEY_CONFLICT", `key: another live task already holds key "${body.key}"`, { field: "key" });
    }
    c.header("Location", `/api/tasks/${encodeURIComponent(task.id)}`);
    return c.json({ ...task, created }, created ? 201 : 200);
  });

  app.get("/", async (c) => {
    const user = c.get("user");
    const q = parseQuery(c, listTasksQuerySchema);
    if (!isAdmin(user) && q.owner !== undefined && q.owner !== user.name) return c.json({ tasks: [], nextCursor: null });
    const page = await lane.query({
      status: q.status as TaskRow["status"][] | undefined,
      type: q.type,
      owner: isAdmin(user) ? q.owner : user.name,
      key: q.key,
      createdFrom: q.createdFrom,
      createdTo: q.createdTo,
      search: q.q,
      cursor: q.cursor,
      limit: q.limit,
      order: q.order,
    });
    return c.json(page);
  });

  app.get("/:id", async (c) => c.json(await visibleTask(c)));

  app.post("/:id/cancel", async (c) => {
    const task = await visibleTask(c);
    const after = await lane.cancel(task.id);
    return c.json(after);
  });

  app.post("/:id/retry", async (c) => {
    const task = await visibleTask(c);
    const after = await lane.retry(task.id);
    return c.json(after);
  });

  app.delete("/:id", async (c) => {
    const task = await visibleTask(c);
    await lane.delete(task.id);
    return c.json({ id: task.id, deleted: true });
  });

  app.get("/:id/runs", async (c) => {
    const task = await visibleTask(c);
    return c.json({ runs: await lane.runs(task.id) });
  });

  app.get("/:id/logs", async (c) => {
    const q = parseQuery(c, logsQuerySchema);
    const task = await visibleTask(c);
    const follow = q.follow === "1" || q.follow === "true";
    if (!follow) {
      const limit = q.limit ?? 1000;
      const logs = [];
      for await (const line of lane.logs(task.id, { afterId: q.after })) {
        logs.push(line);
        if (logs.length === limit) break;
      }
      const last = logs[logs.length - 1];
      return c.json({ logs, nextAfter: last ? last.id : (q.after ?? 0), more: logs.length === limit });
    }
    const afterId = lastEventId(c) ?? q.after;
    return sseStream(c, streams, async (send, signal) => {
      for await (const line of lane.logs(task.id, { follow: true, afterId, signal })) await send("log", line, { id: line.id });
      if (!signal.aborted) {
        const final = await lane.get(task.id);
        await send("end", { id: task.id, status: final?.status ?? "deleted" });
      }
    });
  });

  return app;
}
