import { Hono, type Context } from "hono";
import type { Tasklane } from "../client/tasklane.js";
import type { ScheduleSpec } from "../client/schedules.js";
import { ScheduleNotFoundError } from "../model/errors.js";
import type { ScheduleTaskOptions } from "../model/options.js";
import { requireAdmin } from "./auth.js";
import { parseJsonBody, parseQuery, pathParam, type HttpEnv } from "./request.js";
import { emptyQuerySchema, scheduleBodySchema, scheduleNameSchema, scheduleShowQuerySchema } from "./schemas.js";

/**
 * The schedule routes, admins only: a schedule adds tasks with fixed params and options on
 * nobody's request, owned by whoever its options name, and may name any type (`sql` too), so
 * reading or changing one is an administrator's page. Answers are the library's `ScheduleInfo`
 * as JSON (dates as ISO 8601 strings).
 */
export function scheduleRoutes(lane: Tasklane): Hono<HttpEnv> {
  const app = new Hono<HttpEnv>();
  app.use("*", requireAdmin);

  const nameOf = (c: Context<HttpEnv>) => pathParam(c, "name", scheduleNameSchema);

  app.get("/", async (c) => {
    parseQuery(c, emptyQuerySchema);
    return c.json({ schedules: await lane.schedules() });
  });

  // Create or update; 201 when it did not exist. Everything is validated by the library before
  // anything is stored (cron, zone, type, params, options).
  app.post("/", async (c) => {
    parseQuery(c, emptyQuerySchema);
    const { name, ...body } = await parseJsonBody(c, scheduleBodySchema);
    const spec: ScheduleSpec = { ...body, options: body.options as ScheduleTaskOptions | undefined };
    const existed = (await lane.getSchedule(name)) !== null;
    const info = await lane.schedule(name, spec);
    c.header("Location", `/api/schedules/${encodeURIComponent(name)}`);
    return c.json(info, existed ? 200 : 201);
  });

  app.get("/:name", async (c) => {
    const q = parseQuery(c, scheduleShowQuerySchema);
    const name = nameOf(c);
    const info = await lane.getSchedule(name);
    if (!info) throw new ScheduleNotFoundError(name);
    return c.json({ ...info, ticks: await lane.scheduleTicks(name, q.ticks ?? 20) });
  });

  app.delete("/:name", async (c) => {
    parseQuery(c, emptyQuerySchema);
    const name = nameOf(c);
    if (!(await lane.unschedule(name))) throw new ScheduleNotFoundError(name);
    return c.json({ name, deleted: true });
  });

  app.post("/:name/pause", async (c) => {
    parseQuery(c, emptyQuerySchema);
    return c.json(await lane.pauseSchedule(nameOf(c)));
  });

  app.post("/:name/resume", async (c) => {
    parseQuery(c, emptyQuerySchema);
    return c.json(await lane.resumeSchedule(nameOf(c)));
  });

  // One task now, outside the cron (also while paused).
  app.post("/:name/trigger", async (c) => {
    parseQuery(c, emptyQuerySchema);
    const task = await lane.trigger(nameOf(c));
    c.header("Location", `/api/tasks/${encodeURIComponent(task.id)}`);
    return c.json(task, 201);
  });

  return app;
}
