import { Hono } from "hono";
import type { Tasklane } from "../client/tasklane.js";
import { isAdmin, parseQuery, type HttpEnv } from "./request.js";
import { emptyQuerySchema } from "./schemas.js";

/** `GET /api/stats`: figures of the caller's tasks (an admin's: all). */
export function statsRoutes(lane: Tasklane): Hono<HttpEnv> {
  const app = new Hono<HttpEnv>();
  app.get("/", async (c) => {
    parseQuery(c, emptyQuerySchema);
    const user = c.get("user");
    return c.json(await lane.stats({ owner: isAdmin(user) ? undefined : user.name }));
  });
  return app;
}
