/**
 * The zod schemas of every JSON response and stream event: the OpenAPI document is generated
 * from them, the dashboard's types are their `z.output` (`contract.ts`), and the HTTP tests
 * validate every answer against the document. Objects are closed: a field the server sends
 * must be written here first. Dates travel as ISO 8601 strings.
 */
import { z } from "zod";
import { NODE_STATUSES } from "../model/node-row.js";
import { LOG_LEVELS, RUN_OUTCOMES, TASK_STATUSES } from "../model/status.js";

const status = z.enum(TASK_STATUSES);
const int = z.number().int();
const iso = z.string().describe("ISO 8601 date-time");

export const progressSchema = z
  .object({
    current: z.number(),
    total: z.number().nullable(),
    message: z.string().nullable(),
    ratePerSec: z.number().nullable(),
    etaMs: z.number().nullable(),
    updatedAt: iso,
  })
  .meta({ id: "TaskProgress" });

export const errorInfoSchema = z
  .object({ name: z.string(), message: z.string(), code: z.string().optional(), stack: z.string().optional() })
  .meta({ id: "TaskErrorInfo" });

const backoffSchema = z.object({ type: z.enum(["fixed", "exponential"]), delayMs: z.number(), maxMs: z.number(), jitter: z.number() });

export const parentOutcomeSchema = z
  .object({ id: z.string(), type: z.string(), status: z.enum(["succeeded", "failed"]), result: z.unknown(), error: errorInfoSchema.nullable() })
  .meta({ id: "ParentOutcome" });

/** A follow-up as stored on its parent, every option resolved; it becomes the task `id` once the parent ends its way. */
export const taskFollowUpSchema = z
  .object({
    id: z.string(),
    on: z.enum(["success", "failure"]),
    type: z.string(),
    name: z.string().nullable(),
    description: z.string().nullable(),
    params: z.unknown(),
    priority: int,
    maxAttempts: int,
    maxRuns: int,
    backoff: backoffSchema,
    timeoutMs: z.number().nullable(),
    cpu: z.number(),
    executor: z.string().nullable(),
    deleteAfterMs: z.number(),
    owner: z.string().nullable(),
    group: z.string().nullable(),
    delayMs: z.number().describe("added this long after the parent ends"),
    get followUps(): z.ZodArray<typeof taskFollowUpSchema> {
      return z.array(taskFollowUpSchema);
    },
  })
  .meta({ id: "TaskFollowUp" });

export const taskSchema = z
  .object({
    id: z.string(),
    type: z.string(),
    name: z.string().nullable(),
    description: z.string().nullable(),
    params: z.unknown(),
    status,
    priority: int,
    runAt: iso,
    createdAt: iso,
    updatedAt: iso,
    startedAt: iso.nullable(),
    finishedAt: iso.nullable(),
    attempt: int,
    maxAttempts: int,
    runCount: int,
    maxRuns: int,
    backoff: backoffSchema,
    timeoutMs: z.number().nullable(),
    cpu: z.number(),
    executor: z.string().nullable(),
    deadline: iso.nullable(),
    deleteAfterMs: z.number(),
    deleteAt: iso.nullable(),
    key: z.string().nullable(),
    owner: z.string().nullable(),
    node: z.string().nullable(),
    leaseExpiresAt: iso.nullable(),
    cancelRequested: z.boolean(),
    progress: progressSchema.nullable(),
    result: z.unknown(),
    error: errorInfoSchema.nullable(),
    group: z.string().nullable(),
    parent: parentOutcomeSchema.nullable().describe("the task whose end added this follow-up, with its outcome"),
    followUps: z.array(taskFollowUpSchema),
    waitReason: z
      .string()
      .nullable()
      .optional()
      .describe("on a read (get, list) of a queued or scheduled task: why no node will run it as things stand, or null"),
  })
  .meta({ id: "Task" });

/** `POST /api/tasks`: the task, and whether this call created it (false: a live task held the key). */
export const addedTaskSchema = taskSchema.extend({ created: z.boolean() }).meta({ id: "AddedTask" });

export const taskPageSchema = z.object({ tasks: z.array(taskSchema), nextCursor: z.string().nullable() }).meta({ id: "TaskPage" });

export const deletedTaskSchema = z.object({ id: z.string(), deleted: z.literal(true) });

export const runSchema = z
  .object({
    taskId: z.string(),
    runNo: int,
    runId: z.string(),
    attempt: int,
    node: z.string(),
    startedAt: iso,
    endedAt: iso.nullable(),
    outcome: z.enum(RUN_OUTCOMES).nullable(),
    result: z.unknown(),
    error: errorInfoSchema.nullable(),
  })
  .meta({ id: "Run" });

export const runListSchema = z.object({ runs: z.array(runSchema) });

export const logLineSchema = z
  .object({
    id: int.describe("grows in write order across the database: a cursor"),
    taskId: z.string(),
    runNo: int,
    at: iso,
    level: z.enum(LOG_LEVELS),
    message: z.string(),
    data: z.unknown(),
  })
  .meta({ id: "LogLine" });

export const logPageSchema = z.object({ logs: z.array(logLineSchema), nextAfter: int, more: z.boolean() }).meta({ id: "LogPage" });

/** What a task event records (the library's `TaskEventKind`; a test holds the two equal). */
export const TASK_EVENT_KINDS = [
  "added",
  "started",
  "succeeded",
  "failed",
  "retrying",
  "rescued",
  "released",
  "retried",
  "cancelled",
  "cancel-requested",
  "expired",
  "deleted",
] as const;

export const taskEventSchema = z
  .object({
    id: int,
    at: iso,
    taskId: z.string(),
    type: z.string(),
    owner: z.string().nullable(),
    kind: z.enum(TASK_EVENT_KINDS),
    status: status.describe("the task's status after the change"),
    attempt: int,
    runNo: int,
  })
  .meta({ id: "TaskEvent" });

export const statsBucketSchema = z
  .object({ start: iso, succeeded: int, failed: int, retrying: int })
  .meta({ id: "StatsBucket" });

export const statsSchema = z
  .object({
    at: iso,
    total: int,
    byStatus: z.record(status, int).describe("every status, zeros included"),
    byType: z.record(z.string(), z.object({ total: int, byStatus: z.partialRecord(status, int) })),
    window: z.object({
      from: iso,
      bucketMs: int,
      buckets: z.array(statsBucketSchema).describe("every bucket of the window, oldest first, zeros included"),
      succeeded: int,
      failed: int,
      retrying: int,
      throughputPerMinute: z.number().describe("succeeded tasks per minute, averaged over the window"),
      failureRate: z.number().nullable().describe("failed / (succeeded + failed) over the window; null when nothing finished"),
    }),
    oldestQueuedAgeMs: z.number().nullable(),
  })
  .meta({ id: "Stats" });

export const nodeSchema = z
  .object({
    name: z.string(),
    host: z.string(),
    pid: int,
    version: z.string(),
    startedAt: iso,
    heartbeatAt: iso,
    status: z.enum(NODE_STATUSES),
    types: z.array(z.string()).describe("task types it has handlers for"),
    concurrency: int,
    running: int,
    cpuCapacity: z.number().describe("100 = one core"),
    cpuUsed: z.number(),
    loadPerCore: z.number(),
    memoryBytes: z.number(),
    runners: z
      .object({
        size: int.describe("runners started"),
        busy: int.describe("running a task now"),
        recycled: int.describe("replaced after recycleRunnersAfter runs or heap growth"),
        replaced: int.describe("replaced after a crash, exit, memory limit or kill"),
      })
      .nullable()
      .describe("its isolation runners (threads or processes); null while it has none"),
    self: z.boolean().describe("the node answering this request"),
  })
  .meta({ id: "Node" });

export const nodeListSchema = z.object({ nodes: z.array(nodeSchema) });

export const queueSchema = z
  .object({
    type: z.string(),
    paused: z.boolean().describe("no node claims its tasks (runs already claimed go on; adds are accepted)"),
    pausedAt: iso.nullable(),
    counts: z.record(status, int).describe("tasks of the type by status, zeros included"),
    throughput: z.object({
      lastMinute: z.object({ succeeded: int, failed: int }),
      lastHour: z.object({ succeeded: int, failed: int }),
    }).describe("tasks that succeeded and failed for good"),
    oldestQueuedAgeMs: z.number().nullable().describe("how long its oldest due queued task has waited; null when none waits"),
    running: int,
    limit: z.number().describe("most of its tasks that can run at once now over the online nodes that run it (0: none does)"),
    nodes: int.describe("online nodes that run the type"),
  })
  .meta({ id: "Queue" });

export const queueListSchema = z.object({ types: z.array(queueSchema).describe("one row per task type, by name") });

export const missedPolicySchema = z
  .union([z.object({ policy: z.literal("skip") }), z.object({ policy: z.literal("catchUp"), windowMs: z.number() })])
  .meta({ id: "MissedPolicy" });

export const scheduleSchema = z
  .object({
    name: z.string(),
    type: z.string(),
    params: z.unknown(),
    options: z.record(z.string(), z.unknown()).describe("options of each task it adds, as given"),
    cron: z.string(),
    tz: z.string(),
    missed: missedPolicySchema,
    paused: z.boolean(),
    anchorAt: iso,
    lastTickAt: iso.nullable(),
    lastTaskId: z.string().nullable(),
    lastTaskStatus: status.nullable(),
    createdAt: iso,
    updatedAt: iso,
    nextFires: z.array(iso).describe("the next three fire times (none while paused)"),
  })
  .meta({ id: "Schedule" });

export const scheduleTickSchema = z.object({ schedule: z.string(), tickAt: iso, taskId: z.string().nullable(), firedAt: iso }).meta({ id: "ScheduleTick" });

export const scheduleDetailSchema = scheduleSchema.extend({ ticks: z.array(scheduleTickSchema) }).meta({ id: "ScheduleDetail" });

export const scheduleListSchema = z.object({ schedules: z.array(scheduleSchema) });

export const deletedScheduleSchema = z.object({ name: z.string(), deleted: z.literal(true) });

export const errorSchema = z
  .object({
    error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
  })
  .meta({ id: "Error" });

export const meSchema = z.object({ name: z.string(), role: z.enum(["admin", "user"]) }).meta({ id: "Me" });

export const healthSchema = z.object({ status: z.literal("ok"), node: z.string(), worker: z.enum(["running", "stopped"]) });

/** `GET /`: where things are, for a client that knows only the address. */
export const serviceIndexSchema = z.object({ name: z.literal("tasklane"), api: z.string(), openapi: z.string(), health: z.string(), auth: z.string() });

// ------------------------------------------------------------------ stream events

/** `ready` opens `/api/events`: the id it resumes after (null: from now on). */
export const streamReadySchema = z.object({ after: int.nullable() });

/** `end` closes a log stream once the task is final and every line was sent. */
export const logStreamEndSchema = z.object({ id: z.string(), status: z.union([status, z.literal("deleted")]) });

/** `error` ends a stream that failed on the server (the cause is logged there, never sent). */
export const streamErrorSchema = z.object({ code: z.literal("INTERNAL"), message: z.string() });
