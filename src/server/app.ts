import { PACKAGE_VERSION } from "../model/version.js";
import { Hono } from "hono";
import { cors } from "hono/cors";
import { secureHeaders } from "hono/secure-headers";
import type { Logger } from "pino";
import type { Tasklane } from "../client/tasklane.js";
import { requireAdmin, requireUser } from "./auth.js";
import { bodyLimit } from "./body-limit.js";
import { errorJson, toErrorResponse } from "./errors.js";
import { HttpMetrics } from "./metrics.js";
import { buildOpenApi } from "./openapi.js";
import { eventRoutes } from "./event-routes.js";
import { nodeRoutes } from "./node-routes.js";
import { parseQuery, type HttpEnv } from "./request.js";
import { emptyQuerySchema } from "./schemas.js";
import { dashboardMiddleware } from "./static-dashboard.js";
import { scheduleRoutes } from "./schedule-routes.js";
import { statsRoutes } from "./stats-routes.js";
import { taskRoutes } from "./task-routes.js";
import { typeRoutes } from "./type-routes.js";

export interface HttpAppOptions {
  /** Largest request body, bytes; larger ones get 413 [1 MiB]. */
  bodyLimit?: number;
  /** pino logger for one line per request (method, path without query, status, ms, user; never the token) [none]. */
  logger?: Logger;
  /**
   * Origins allowed to call the API from a browser (CORS) [none: only same-origin pages, such as
   * the dashboard served by the same server, and non-browser clients can call it].
   */
  corsOrigins?: string[];
  /** Fallback poll of `/api/events` while idle, ms [500]. */
  eventsPollMs?: number;
  /** Keep-alive comment interval of every event stream (`/api/events`, log follow), ms [15000]. */
  keepAliveMs?: number;
  /** Collect Node.js process metrics on /metrics [true]. */
  defaultMetrics?: boolean;
  /** Folder of the built dashboard served at `/`, or `false` for none [the package's `dist/dashboard/`]. */
  dashboard?: string | false;
}

/** The Hono app, plus `dispose()` to detach its listeners from the Tasklane instance. */
export type TasklaneHttpApp = Hono<HttpEnv> & { dispose(): void };

const MIB = 1024 * 1024;

/**
 * The Tasklane HTTP API as a Fetch handler: `app.fetch(request)` works in any server that
 * speaks the Fetch API (`serveHttp` runs it on Node's http module). It calls the client API
 * only. Routes and auth model: docs/http.md; the OpenAPI document is at /api/openapi.json.
 */
export function createHttpApp(lane: Tasklane, options: HttpAppOptions = {}): TasklaneHttpApp {
  const limit = options.bodyLimit ?? MIB;
  const log = options.logger;
  const metrics = new HttpMetrics(lane, { defaultMetrics: options.defaultMetrics });
  const openapi = buildOpenApi({ bodyLimit: limit, version: PACKAGE_VERSION });
  const app = new Hono<HttpEnv>();

  app.use("*", async (c, next) => {
    const t0 = performance.now();
    await next();
    if (log) {
      const user = c.get("user") as { name: string } | undefined;
      log.info(
        { method: c.req.method, path: c.req.path, status: c.res.status, ms: Math.round((performance.now() - t0) * 10) / 10, user: user?.name },
        "request",
      );
    }
  });
  app.use("*", secureHeaders());
  app.use("*", async (c, next) => {
    await next();
    if (!c.res.headers.has("cache-control")) c.header("Cache-Control", "no-store");
  });
  if (options.corsOrigins?.length) {
    app.use("*", cors({ origin: options.corsOrigins, allowHeaders: ["Authorization", "Content-Type", "Last-Event-ID"], maxAge: 600 }));
  }
  app.use(
    "*",
    bodyLimit(limit, (c) => errorJson(c, 413, "PAYLOAD_TOO_LARGE", `body: larger than the limit of ${limit} bytes`, { field: "body", limit })),
  );

  if (options.dashboard !== false) app.use("*", dashboardMiddleware(options.dashboard));

  app.onError((error, c) => {
    const { status, body, unexpected } = toErrorResponse(error);
    if (unexpected) (log ?? console).error?.({ err: error, method: c.req.method, path: c.req.path }, "request failed");
    return c.json(body, status);
  });
  app.notFound((c) => errorJson(c, 404, "NOT_FOUND", `no route ${c.req.method} ${c.req.path}`));

  // ------------------------------------------------------------ public

  app.get("/", (c) =>
    c.json({ name: "tasklane", api: "/api", openapi: "/api/openapi.json", health: "/healthz", auth: "Authorization: Bearer <token>" }),
  );
  app.get("/healthz", async (c) => {
    try {
      await lane.get("healthz-probe");
    } catch {
      return errorJson(c, 503, "UNAVAILABLE", "database: not reachable");
    }
    return c.json({ status: "ok", node: lane.node, worker: lane.workerState() ? "running" : "stopped" });
  });
  app.get("/api/openapi.json", (c) => c.json(openapi));

  // ------------------------------------------------------------ authenticated

  app.use("/api/*", requireUser(lane));
  app.use("/metrics", requireUser(lane), requireAdmin);

  app.get("/api/me", (c) => {
    parseQuery(c, emptyQuerySchema);
    const user = c.get("user");
    return c.json({ name: user.name, role: user.role });
  });

  const streams = { keepAliveMs: options.keepAliveMs ?? 15_000, logger: log };
  app.route("/api/tasks", taskRoutes(lane, streams));
  app.route("/api/schedules", scheduleRoutes(lane));
  app.route("/api/events", eventRoutes(lane, { ...streams, pollMs: options.eventsPollMs }));
  app.route("/api/stats", statsRoutes(lane));
  app.route("/api/nodes", nodeRoutes(lane));
  app.route("/api/types", typeRoutes(lane));

  app.get("/metrics", async (c) => {
    parseQuery(c, emptyQuerySchema);
    const text = await metrics.text();
    return c.body(text, 200, { "Content-Type": metrics.contentType });
  });

  return Object.assign(app, { dispose: () => metrics.close() });
}
