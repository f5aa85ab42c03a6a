import { Hono } from "hono";
import type { Tasklane } from "../client/tasklane.js";
import { isAdmin, parseQuery, type HttpEnv } from "./request.js";
import { eventsQuerySchema } from "./schemas.js";
import { lastEventId, sseStream, type SseOptions } from "./sse.js";

/** `GET /api/events`: the task event log as Server-Sent Events, only the caller's tasks unless admin. */
export function eventRoutes(lane: Tasklane, options: SseOptions & { pollMs?: number }): Hono<HttpEnv> {
  const app = new Hono<HttpEnv>();
  app.get("/", (c) => {
    const user = c.get("user");
    const q = parseQuery(c, eventsQuerySchema);
    const after = lastEventId(c) ?? q.after;
    return sseStream(c, options, async (send, signal) => {
      // An explicit start so a client that has seen nothing yet can resume from here.
      await send("ready", { after: after ?? null }, { retry: 2000 });
      const events = lane.followTaskEvents({ after, owner: isAdmin(user) ? undefined : user.name, signal, pollMs: options.pollMs });
      for await (const event of events) await send("task", event, { id: event.id });
    });
  });
  return app;
}
