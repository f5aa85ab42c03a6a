import { Hono } from "hono";
import type { Tasklane } from "../client/tasklane.js";
import { requireAdmin } from "./auth.js";
import { parseQuery, type HttpEnv } from "./request.js";
import { emptyQuerySchema } from "./schemas.js";

/** `GET /api/nodes` (admin): the nodes of the cluster. */
export function nodeRoutes(lane: Tasklane): Hono<HttpEnv> {
  const app = new Hono<HttpEnv>();
  app.get("/", requireAdmin, async (c) => {
    parseQuery(c, emptyQuerySchema);
    return c.json({ nodes: await lane.nodes() });
  });
  return app;
}
