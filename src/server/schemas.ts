/**
 * The zod schemas that validate every request (responses: `responses.ts`). The OpenAPI
 * document (`GET /api/openapi.json`) is generated from these same objects.
 */
import { z } from "zod";
import { parseIsoDate } from "../model/iso-date.js";
import { TASK_STATUSES } from "../model/status.js";

/** Longest accepted string field, characters (ids, keys, types). */
const ID_MAX = 200;

export const userNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/, "expected 1-64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit");

export const taskIdSchema = z
  .string()
  .min(1)
  .max(ID_MAX)
  .regex(/^[\x21-\x7e]+$/, "expected a task id (printable ASCII, no spaces)")
  .describe("task id");

const duration = z
  .union([z.number().int().nonnegative().max(1e13), z.string().min(1).max(40)])
  .describe("milliseconds, or a duration string such as 500ms, 10s, 2m, 1h, 7d");
const instant = z
  .union([z.string().min(1).max(64), z.number().int().nonnegative().max(1e14)])
  .describe("ISO 8601 date-time, or epoch milliseconds");

/** Per-task options shared by an add, a follow-up and a schedule's task. */
const taskOptionShape = {
  priority: z.number().int().min(-1_000_000).max(1_000_000).optional().describe("smaller runs first [0]"),
  attempts: z.number().int().min(1).max(1_000_000).optional(),
  backoff: z
    .union([
      duration,
      z.strictObject({
        type: z.enum(["fixed", "exponential"]).optional(),
        delay: duration.optional(),
        max: duration.optional(),
        jitter: z.number().min(0).max(1).optional(),
      }),
    ])
    .optional(),
  timeout: duration.nullable().optional(),
  cpu: z.number().int().min(0).max(100_000).optional().describe("CPU cost, 100 = one core"),
  executor: z.string().min(1).max(ID_MAX).nullable().optional().describe("only the node of this name may run it"),
  maxRuns: z.number().int().min(1).max(1_000_000).optional(),
  deleteAfter: duration.optional(),
  owner: userNameSchema.optional().describe("admin only: add on behalf of this user [the caller]"),
  name: z.string().max(500).optional(),
  description: z.string().max(5000).optional(),
  group: z.string().min(1).max(ID_MAX).optional().describe("flow-control group: per-group limits and fair dispatch count by it [the type's group(params)]"),
};

/** Most follow-ups in one list; the library also bounds the whole tree (100) and its depth (20). */
const FOLLOW_UPS_MAX = 100;

/** A follow-up as sent: `{ type, params?, options? }`, its options possibly naming further follow-ups. */
export interface FollowUpBody {
  type: string;
  params?: unknown;
  options?: FollowUpOptionsBody;
}
export type FollowUpOptionsBody = Record<string, unknown> & { owner?: string; then?: FollowUpBody[]; onFailure?: FollowUpBody[] };

// Recursive through the getters (zod 4): `then` of a follow-up's options holds follow-ups again.
export const followUpOptionsSchema = z
  .strictObject({
    ...taskOptionShape,
    delay: duration.optional().describe("added this long after the parent ends [0]"),
    get then() {
      return followUpListSchema.optional();
    },
    get onFailure() {
      return followUpListSchema.optional();
    },
  })
  .meta({ id: "FollowUpOptions" });

export const followUpSchema: z.ZodType<FollowUpBody> = z
  .strictObject({
    type: z.string().min(1).max(ID_MAX).describe("registered task type"),
    params: z.unknown().optional().describe("JSON params, validated by the type's schema when the parent is added"),
    get options() {
      return followUpOptionsSchema.optional();
    },
  })
  .meta({ id: "FollowUp" });

const followUpListSchema: z.ZodType<FollowUpBody[]> = z.array(followUpSchema).max(FOLLOW_UPS_MAX).meta({ id: "FollowUpList" });

const thenField = followUpListSchema.optional().describe("follow-ups added when the task succeeds; each receives its result as ctx.parent");
const onFailureField = followUpListSchema.optional().describe("follow-ups added when the task fails for good");

export const addTaskBodySchema = z
  .strictObject({
    type: z.string().min(1).max(ID_MAX).describe("registered task type"),
    params: z.unknown().optional().describe("JSON params, validated by the type's schema"),
    ...taskOptionShape,
    delay: duration.optional(),
    runAt: instant.optional(),
    deadline: instant.optional(),
    key: z.string().min(1).max(255).optional().describe("business key, unique among live tasks"),
    then: thenField,
    onFailure: onFailureField,
  })
  .meta({ id: "AddTask" });
export type AddTaskBody = z.infer<typeof addTaskBodySchema>;

const csv = <T extends string>(values: readonly [T, ...T[]], what: string) =>
  z
    .string()
    .max(2000)
    .transform((s, ctx) => {
      const items = s
        .split(",")
        .map((x) => x.trim())
        .filter(Boolean);
      for (const item of items) {
        if (!(values as readonly string[]).includes(item)) {
          ctx.addIssue({ code: "custom", message: `"${item}" is not a ${what} (${values.join(", ")})` });
          return z.NEVER;
        }
      }
      return items as T[];
    });

const intString = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, `expected an integer from ${min} to ${max}`)
    .transform(Number)
    .pipe(z.number().int().min(min, `expected an integer from ${min} to ${max}`).max(max, `expected an integer from ${min} to ${max}`));

const instantString = z
  .string()
  .max(64)
  .transform((s, ctx) => {
    if (/^\d+$/.test(s)) {
      if (Number(s) <= 1e14) return Number(s);
      ctx.issues.push({ code: "custom", input: s, message: "expected an ISO 8601 date-time or epoch milliseconds" });
      return z.NEVER;
    }
    // Checked against the calendar: 2024-02-30 is refused, not rolled over to March 1.
    const date = parseIsoDate(s);
    if ("ms" in date) return date.ms;
    ctx.issues.push({ code: "custom", input: s, message: `"${s}" ${date.error}` });
    return z.NEVER;
  });

export const listTasksQuerySchema = z.strictObject({
  status: csv(TASK_STATUSES as unknown as [string, ...string[]], "status").optional().describe("comma-separated statuses"),
  type: z
    .string()
    .max(2000)
    .transform((s) =>
      s
        .split(",")
        .map((x) => x.trim())
        .filter(Boolean),
    )
    .optional()
    .describe("comma-separated task types"),
  owner: userNameSchema.optional().describe("admins: any owner; users: only themselves"),
  key: z.string().min(1).max(255).optional(),
  createdFrom: instantString.optional().describe("created at or after (ISO 8601 or epoch ms)"),
  createdTo: instantString.optional().describe("created before (ISO 8601 or epoch ms)"),
  q: z.string().min(1).max(200).optional().describe("text matched literally, case-insensitive, against id, key and name"),
  cursor: z.string().min(1).max(500).optional().describe("nextCursor of the previous page"),
  limit: intString(1, 1000).optional().describe("page size [50]"),
  order: z.enum(["desc", "asc"]).optional().describe("by creation time: desc = newest first (default)"),
});

export const logsQuerySchema = z.strictObject({
  follow: z.enum(["1", "true", "0", "false"]).optional().describe("1 = Server-Sent Events until the task ends"),
  after: intString(0, Number.MAX_SAFE_INTEGER).optional().describe("only lines with an id greater than this"),
  limit: intString(1, 10_000).optional().describe("most lines in a JSON answer [1000]"),
});

export const eventsQuerySchema = z.strictObject({
  after: intString(0, Number.MAX_SAFE_INTEGER).optional().describe("resume after this event id (or send Last-Event-ID)"),
});

export const emptyQuerySchema = z.strictObject({});

// ------------------------------------------------------------------ schedules

export const typeNameSchema = z
  .string()
  .min(1)
  .max(ID_MAX)
  .regex(/^[A-Za-z0-9][\w.:-]*$/, "expected letters, digits, '_', '-', '.', ':' starting with a letter or digit")
  .describe("task type name");

export const scheduleNameSchema = z
  .string()
  .min(1)
  .max(ID_MAX)
  .regex(/^[A-Za-z0-9][\w.:-]*$/, "expected letters, digits, '_', '-', '.', ':' starting with a letter or digit")
  .describe("schedule name");

/** Options of the task each tick adds: those of an add, less the ones about a fixed time or a key. */
const scheduleTaskOptionsSchema = z
  .strictObject({ ...taskOptionShape, then: thenField, onFailure: onFailureField })
  .meta({ id: "ScheduleTaskOptions" });

const missedSchema = z
  .union([z.literal("skip"), z.strictObject({ catchUp: duration })])
  .describe('ticks missed while no node ran: "skip" (fire the latest once) or { catchUp: window } ["skip"]');

export const scheduleBodySchema = z
  .strictObject({
    name: scheduleNameSchema,
    type: z.string().min(1).max(ID_MAX).describe("task type added at each tick"),
    cron: z.string().min(1).max(200).describe("5 fields (minute hour day month weekday) or 6 (seconds first)"),
    tz: z.string().min(1).max(100).optional().describe('IANA time zone the expression is read in ["UTC"]'),
    params: z.unknown().optional().describe("params of every task it adds, validated now"),
    options: scheduleTaskOptionsSchema.optional(),
    missed: missedSchema.optional(),
    paused: z.boolean().optional().describe("create paused; on update, absent keeps the current state"),
  })
  .meta({ id: "ScheduleInput" });
export type ScheduleBody = z.infer<typeof scheduleBodySchema>;

export const scheduleShowQuerySchema = z.strictObject({
  ticks: intString(1, 1000).optional().describe("how many recent ticks to include [20]"),
});
