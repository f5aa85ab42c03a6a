import { Hono, type Context } from "hono";
import type { Tasklane } from "../client/tasklane.js";
import { requireAdmin } from "./auth.js";
import { parseQuery, pathParam, type HttpEnv } from "./request.js";
import { emptyQuerySchema, typeNameSchema } from "./schemas.js";

/**
 * The task-type routes, admins only: the figures count every owner's tasks, and a pause stops a
 * type for everyone. Answers are the library's `QueueInfo` as JSON (dates as ISO 8601 strings).
 */
export function typeRoutes(lane: Tasklane): Hono<HttpEnv> {
  const app = new Hono<HttpEnv>();
  app.use("*", requireAdmin);

  const typeOf = (c: Context<HttpEnv>) => pathParam(c, "type", typeNameSchema);

  app.get("/", async (c) => {
    parseQuery(c, emptyQuerySchema);
    return c.json({ types: await lane.queues() });
  });

  app.post("/:type/pause", async (c) => {
    parseQuery(c, emptyQuerySchema);
    return c.json(await lane.pauseType(typeOf(c)));
  });

  app.post("/:type/resume", async (c) => {
    parseQuery(c, emptyQuerySchema);
    return c.json(await lane.resumeType(typeOf(c)));
  });

  return app;
}
