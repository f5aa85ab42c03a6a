import { z } from "zod";
import {
  addedTaskSchema,
  deletedScheduleSchema,
  deletedTaskSchema,
  errorSchema,
  healthSchema,
  logLineSchema,
  logPageSchema,
  logStreamEndSchema,
  meSchema,
  nodeListSchema,
  queueListSchema,
  queueSchema,
  runListSchema,
  scheduleDetailSchema,
  scheduleListSchema,
  scheduleSchema,
  serviceIndexSchema,
  statsSchema,
  streamErrorSchema,
  streamReadySchema,
  taskEventSchema,
  taskPageSchema,
  taskSchema,
} from "./responses.js";
import {
  addTaskBodySchema,
  eventsQuerySchema,
  listTasksQuerySchema,
  logsQuerySchema,
  scheduleBodySchema,
  scheduleNameSchema,
  scheduleShowQuerySchema,
  taskIdSchema,
  typeNameSchema,
} from "./schemas.js";

type Json = Record<string, unknown>;

/** Named schemas (`.meta({ id })`), shared as `#/components/schemas/<id>`. */
const components: Record<string, Json> = {};

/** JSON Schema of a zod schema; named parts go to `components` and are referenced. */
function schemaOf(schema: z.ZodType, io: "input" | "output" = "output"): Json {
  const raw = z.toJSONSchema(schema, { io, unrepresentable: "any", target: "draft-2020-12" }) as Json;
  const rewrite = (value: Json): Json => JSON.parse(JSON.stringify(value).replaceAll('"#/$defs/', '"#/components/schemas/')) as Json;
  const { $schema: _ignored, $defs, ...rest } = raw as Json & { $defs?: Record<string, Json> };
  for (const [id, def] of Object.entries($defs ?? {})) {
    // Input and output shapes of one id are the same here except for transforms; keep the first.
    components[id] ??= rewrite(def);
  }
  return rewrite(rest);
}

/** Query parameters of a strict object schema, one OpenAPI parameter per field. */
function queryParams(schema: z.ZodObject): Json[] {
  const json = schemaOf(schema, "input") as { properties?: Record<string, Json>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, s]) => ({
    name,
    in: "query",
    required: json.required?.includes(name) ?? false,
    description: s.description,
    schema: { ...s, description: undefined },
  }));
}

const nameParam = { name: "name", in: "path", required: true, schema: schemaOf(scheduleNameSchema, "input") };
const typeParam = { name: "type", in: "path", required: true, schema: schemaOf(typeNameSchema, "input") };
const lastEventIdParam = {
  name: "Last-Event-ID",
  in: "header",
  required: false,
  description: "resume after this id (overrides after); not an integer: 400",
  schema: { type: "string" },
};
const idParam = { name: "id", in: "path", required: true, schema: schemaOf(taskIdSchema, "input") };
const json = (schema: z.ZodType, description: string) => ({ description, content: { "application/json": { schema: schemaOf(schema) } } });
/** The JSON Schema of each event's `data`, by event name (an OpenAPI extension: 3.1 cannot describe SSE). */
const events = (byName: Record<string, z.ZodType>) => ({ "x-events": Object.fromEntries(Object.entries(byName).map(([name, s]) => [name, schemaOf(s)])) });
const errors = (...codes: number[]) =>
  Object.fromEntries(codes.map((code) => [String(code), json(errorSchema, ERROR_TEXT[code] ?? "error")]));
const ERROR_TEXT: Record<number, string> = {
  400: "invalid input: the field is named in error.details.field",
  401: "missing, unknown or revoked token",
  403: "not allowed for this role",
  404: "no such task (or one the caller may not see), no such schedule, or no such task type",
  409: "not possible in the task's current state",
  413: "body over the size limit",
  415: "body is not JSON",
  429: "queue of the type is full",
};

/** The OpenAPI 3.1 document, built from the schemas that validate the requests. */
export function buildOpenApi(options: { bodyLimit: number; version: string }): Json {
  const secured = { security: [{ bearer: [] }] };
  const task = (summary: string, extra: Json = {}) => ({ summary, ...secured, parameters: [idParam], ...extra });
  const schedule = (summary: string, extra: Json = {}) => ({ summary: `${summary} (admin)`, ...secured, parameters: [nameParam], ...extra });
  return {
    openapi: "3.1.0",
    info: {
      title: "Tasklane HTTP API",
      version: options.version,
      description: `Durable background tasks. Errors are JSON { error: { code, message, details } }. Bodies over ${options.bodyLimit} bytes are refused with 413.`,
    },
    components: { schemas: components, securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "tl_… token from `tasklane user add`" } } },
    paths: {
      "/api/tasks": {
        post: {
          summary: "Add a task (owned by the caller; admins may set owner)",
          ...secured,
          requestBody: { required: true, content: { "application/json": { schema: schemaOf(addTaskBodySchema, "input") } } },
          responses: {
            "201": json(addedTaskSchema, "created (created: true)"),
            "200": json(addedTaskSchema, "a live task with the same key already existed and is returned (created: false)"),
            ...errors(400, 401, 403, 409, 413, 415, 429),
          },
        },
        get: {
          summary: "List tasks, newest first, keyset-paginated",
          ...secured,
          parameters: queryParams(listTasksQuerySchema),
          responses: { "200": json(taskPageSchema, "one page"), ...errors(400, 401) },
        },
      },
      "/api/tasks/{id}": {
        get: task("A task with progress, result, error, attempt and node", { responses: { "200": json(taskSchema, "the task"), ...errors(400, 401, 404) } }),
        delete: task("Delete a task that is not running, with its runs and logs", {
          responses: { "200": json(deletedTaskSchema, "deleted"), ...errors(400, 401, 404, 409) },
        }),
      },
      "/api/tasks/{id}/cancel": {
        post: task("Cancel: queued at once, running via its abort signal", { responses: { "200": json(taskSchema, "the task"), ...errors(400, 401, 404, 409) } }),
      },
      "/api/tasks/{id}/retry": {
        post: task("Queue a failed, cancelled or expired task again", { responses: { "200": json(taskSchema, "the task"), ...errors(400, 401, 404, 409) } }),
      },
      "/api/tasks/{id}/runs": {
        get: task("The runs (attempts) of a task", { responses: { "200": json(runListSchema, "runs, oldest first"), ...errors(400, 401, 404) } }),
      },
      "/api/tasks/{id}/logs": {
        get: task("Log lines; with follow=1 Server-Sent Events (event log, id = line id) ending with event end", {
          parameters: [idParam, ...queryParams(logsQuerySchema), lastEventIdParam],
          ...events({ log: logLineSchema, end: logStreamEndSchema, error: streamErrorSchema }),
          responses: {
            "200": {
              description: "JSON page, or an event stream with follow=1",
              content: {
                "application/json": { schema: schemaOf(logPageSchema) },
                "text/event-stream": { schema: { type: "string" } },
              },
            },
            ...errors(400, 401, 404),
          },
        }),
      },
      "/api/schedules": {
        get: {
          summary: "Every schedule with its next three fire times (admin)",
          ...secured,
          responses: { "200": json(scheduleListSchema, "schedules, by name"), ...errors(400, 401, 403) },
        },
        post: {
          summary: "Create or update a schedule; cron, zone, type, params and options are validated before anything is stored (admin)",
          ...secured,
          requestBody: { required: true, content: { "application/json": { schema: schemaOf(scheduleBodySchema, "input") } } },
          responses: {
            "201": json(scheduleSchema, "created"),
            "200": json(scheduleSchema, "updated"),
            ...errors(400, 401, 403, 413, 415),
          },
        },
      },
      "/api/schedules/{name}": {
        get: schedule("A schedule with its latest ticks", {
          parameters: [nameParam, ...queryParams(scheduleShowQuerySchema)],
          responses: { "200": json(scheduleDetailSchema, "the schedule, ticks newest first"), ...errors(400, 401, 403, 404) },
        }),
        delete: schedule("Delete a schedule (the tasks it added stay)", {
          responses: { "200": json(deletedScheduleSchema, "deleted"), ...errors(400, 401, 403, 404) },
        }),
      },
      "/api/schedules/{name}/pause": {
        post: schedule("Stop a schedule firing until it is resumed", { responses: { "200": json(scheduleSchema, "the schedule"), ...errors(400, 401, 403, 404) } }),
      },
      "/api/schedules/{name}/resume": {
        post: schedule("Resume a paused schedule; ticks that passed while paused do not fire", {
          responses: { "200": json(scheduleSchema, "the schedule"), ...errors(400, 401, 403, 404) },
        }),
      },
      "/api/schedules/{name}/trigger": {
        post: schedule("Add the schedule's task now, outside the cron (also while paused)", {
          responses: { "201": json(taskSchema, "the task added"), ...errors(400, 401, 403, 404, 429) },
        }),
      },
      "/api/events": {
        get: {
          summary: "Server-Sent Events of the task changes the caller may see (event task, id = event id); resume with Last-Event-ID",
          ...secured,
          parameters: [...queryParams(eventsQuerySchema), lastEventIdParam],
          ...events({ ready: streamReadySchema, task: taskEventSchema, error: streamErrorSchema }),
          responses: { "200": { description: "event stream", content: { "text/event-stream": { schema: { type: "string" } } } }, ...errors(400, 401) },
        },
      },
      "/api/stats": {
        get: { summary: "Counts, throughput and failures per minute over the last hour, oldest queued age", ...secured, responses: { "200": json(statsSchema, "stats"), ...errors(400, 401) } },
      },
      "/api/types": {
        get: {
          summary: "One row per task type: counts by status, throughput, oldest queued age, running against the limit, paused (admin)",
          ...secured,
          responses: { "200": json(queueListSchema, "task types, by name"), ...errors(400, 401, 403) },
        },
      },
      "/api/types/{type}/pause": {
        post: {
          summary: "Pause a task type on every node: its tasks stay queued until it is resumed; running ones finish, adds are accepted (admin)",
          ...secured,
          parameters: [typeParam],
          responses: { "200": json(queueSchema, "the type's queue"), ...errors(400, 401, 403, 404) },
        },
      },
      "/api/types/{type}/resume": {
        post: {
          summary: "Resume a paused task type: every node claims its tasks again (admin)",
          ...secured,
          parameters: [typeParam],
          responses: { "200": json(queueSchema, "the type's queue"), ...errors(400, 401, 403, 404) },
        },
      },
      "/api/nodes": {
        get: { summary: "Nodes of the cluster (admin)", ...secured, responses: { "200": json(nodeListSchema, "nodes"), ...errors(400, 401, 403) } },
      },
      "/api/me": {
        get: { summary: "The caller", ...secured, responses: { "200": json(meSchema, "the authenticated user"), ...errors(400, 401) } },
      },
      "/": { get: { summary: "Where the API, its document and the health check are (no auth)", responses: { "200": json(serviceIndexSchema, "service index") } } },
      "/api/openapi.json": {
        get: { summary: "This document (no auth)", responses: { "200": { description: "OpenAPI 3.1 document", content: { "application/json": { schema: { type: "object" } } } } } },
      },
      "/healthz": {
        get: { summary: "Liveness and database check (no auth)", responses: { "200": json(healthSchema, "healthy"), "503": json(errorSchema, "database unavailable") } },
      },
      "/metrics": {
        get: { summary: "Prometheus metrics (admin)", ...secured, responses: { "200": { description: "Prometheus text format", content: { "text/plain": { schema: { type: "string" } } } }, ...errors(400, 401, 403) } },
      },
    },
  };
}
