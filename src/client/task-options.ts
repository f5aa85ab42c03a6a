import { z } from "zod";
import { parseDuration, type Duration } from "../model/duration.js";
import { ParamsValidationError, ValidationError } from "../model/errors.js";
import { sortableId } from "../model/ids.js";
import { parseIsoDate } from "../model/iso-date.js";
import { ISOLATION_MODES, MAX_KILL_AFTER_MS, MAX_MEMORY_LIMIT_MB, MIN_MEMORY_LIMIT_MB, type Isolation, type AddOptions, type BackoffOption, type TaskDefinition, type TaskOptions } from "../model/options.js";
import { formatIssues } from "../model/standard-schema.js";
import { knownKeysAt, unknownName } from "../model/suggest.js";
import type { BackoffSpec } from "../model/task-row.js";
import type { NewTask } from "../store/store.js";
import { resolveFollowUps } from "./follow-ups.js";

/** Defaults for every task option a type does not set. */
export const DEFAULTS = {
  priority: 0,
  attempts: 3,
  backoff: { type: "exponential", delayMs: 1000, maxMs: 3_600_000, jitter: 0.2 } satisfies BackoffSpec,
  cpu: 0,
  maxRuns: 100,
  deleteAfterMs: 7 * 86_400_000,
} as const;

/** Largest params JSON accepted, bytes. */
export const MAX_PARAMS_BYTES = 1024 * 1024;

const MEMORY_LIMIT_RANGE = `must be a whole number of MB from ${MIN_MEMORY_LIMIT_MB} to ${MAX_MEMORY_LIMIT_MB}`;

const durationSchema = z.union([
  z.number().nonnegative({ error: "must be a duration: a non-negative number of milliseconds or a string like \"10s\"" }),
  z.string().min(1),
]);
const instantSchema = z.union([z.date(), z.string().min(1), z.number().nonnegative()]);
const backoffSchema = z.union([
  durationSchema,
  z.strictObject({
    type: z.enum(["fixed", "exponential"]).optional(),
    delay: durationSchema.optional(),
    max: durationSchema.optional(),
    jitter: z.number().min(0).max(1).optional(),
  }),
]);

const taskOptionShape = {
  priority: z.number().int().min(-1_000_000).max(1_000_000).optional(),
  attempts: z.number().int().min(1).max(1_000_000).optional(),
  backoff: backoffSchema.optional(),
  timeout: durationSchema.nullable().optional(),
  cpu: z.number().int().min(0).max(100_000).optional(),
  executor: z.string().min(1).max(200).nullable().optional(),
  maxRuns: z.number().int().min(1).max(1_000_000).optional(),
  deleteAfter: durationSchema.optional(),
};

const addOptionsSchema = z.strictObject({
  ...taskOptionShape,
  delay: durationSchema.optional(),
  runAt: instantSchema.optional(),
  deadline: instantSchema.optional(),
  key: z.string().min(1).max(255).optional(),
  owner: z.string().min(1).max(200).optional(),
  name: z.string().max(500).optional(),
  description: z.string().max(5000).optional(),
  group: z.string().min(1).max(200).optional(),
  then: z.array(z.unknown()).optional(),
  onFailure: z.array(z.unknown()).optional(),
});

/** The options of a follow-up (checked again with its own path when it is resolved). */
const followUpOptionsSchema = addOptionsSchema.omit({ key: true, runAt: true, deadline: true, then: true, onFailure: true });

const rateLimitSchema = z.strictObject({ limit: z.number().int().min(1).max(1_000_000), interval: durationSchema });
const cronScheduleSchema = z.strictObject({
  cron: z.string().min(1).max(200),
  tz: z.string().min(1).max(100).optional(),
  name: z.string().min(1).max(200).optional(),
  params: z.unknown().optional(),
  options: z.record(z.string(), z.unknown()).optional(),
  missed: z.union([z.literal("skip"), z.strictObject({ catchUp: durationSchema })]).optional(),
});

const fn = (what: string) => z.custom<(...args: unknown[]) => unknown>((v) => typeof v === "function", `must be ${what}`);

/** Strict: a misspelt option (`isolaton`) would otherwise be ignored without a word. */
const definitionSchema = z.strictObject({
  ...taskOptionShape,
  name: z
    .string()
    .min(1)
    .max(200)
    .regex(/^[A-Za-z0-9][\w.:-]*$/, "must start with a letter or digit and use only letters, digits, '_', '-', '.', ':'"),
  description: z.string().max(5000).optional(),
  run: z.custom<(...args: unknown[]) => unknown>((v) => typeof v === "function", "must be a function"),
  concurrency: z.number().int().min(1).max(100_000).optional(),
  maxQueued: z.number().int().min(0).optional(),
  group: z.custom<(...args: unknown[]) => unknown>((v) => typeof v === "function", "must be a function of the params").optional(),
  concurrencyLimit: z
    .strictObject({ type: z.number().int().min(1).max(1_000_000).optional(), group: z.number().int().min(1).max(1_000_000).optional() })
    .optional(),
  rateLimit: z.strictObject({ type: rateLimitSchema.optional(), group: rateLimitSchema.optional() }).optional(),
  then: z.array(z.unknown()).optional(),
  onFailure: z.array(z.unknown()).optional(),
  schedule: cronScheduleSchema.optional(),
  isolation: z.enum(ISOLATION_MODES, { error: `must be one of ${ISOLATION_MODES.join(", ")}` }).optional(),
  module: z.string().min(1).max(4096).optional(),
  memoryLimitMb: z
    .number({ error: MEMORY_LIMIT_RANGE })
    .int(MEMORY_LIMIT_RANGE)
    .min(MIN_MEMORY_LIMIT_MB, MEMORY_LIMIT_RANGE)
    .max(MAX_MEMORY_LIMIT_MB, MEMORY_LIMIT_RANGE)
    .optional(),
  killAfter: durationSchema.optional(),
  params: z.unknown().optional(),
  idGenerator: fn("a function returning an id").optional(),
  onAdd: fn("a function (a hook)").optional(),
  onProgress: fn("a function (a hook)").optional(),
  onSuccess: fn("a function (a hook)").optional(),
  onError: fn("a function (a hook)").optional(),
});

/** The field of the first issue, as `zodMessage` names it (an unknown option is its own field). */
function zodField(prefix: string, error: z.ZodError): string {
  const issue = error.issues[0];
  const path = issue ? [...issue.path, ...(issue.code === "unrecognized_keys" ? issue.keys.slice(0, 1) : [])] : [];
  return `${prefix}${path.map(String).join(".") || "(root)"}`;
}

/** One line per issue, naming the field; an unknown option gets the nearest known name of `schema`. */
function zodMessage(prefix: string, error: z.ZodError, schema: z.ZodType): string {
  return error.issues
    .map((i) => {
      const path = i.path.map(String).join(".");
      if (i.code === "unrecognized_keys") {
        const known = knownKeysAt(schema, i.path);
        const where = `${prefix}${path}`.replace(/\.$/, "");
        const lead = where === "" || where.endsWith(": ") ? where : `${where}: `;
        return i.keys.map((k) => `${lead}${unknownName("option", k, known)}`).join("; ");
      }
      return `${prefix}${path || "(root)"}: ${i.message}`;
    })
    .join("; ");
}

/** Checks a task definition when it is registered; throws `ValidationError` naming the field. */
export function validateDefinition(def: TaskDefinition): void {
  if (!def || typeof def !== "object") throw new ValidationError(null, "task definition must be an object from defineTask({...})");
  const parsed = definitionSchema.safeParse(def);
  if (!parsed.success) throw new ValidationError(null, zodMessage(`task "${String(def.name)}": `, parsed.error, definitionSchema));
  if (def.params && typeof def.params["~standard"]?.validate !== "function") {
    throw new ValidationError(null, `task "${def.name}": params must be a Standard Schema (for example a zod schema)`);
  }
  // Surface bad durations now rather than at the first add.
  resolveTaskOptions(def, {});
  if (def.killAfter !== undefined && parseDuration(def.killAfter, `task "${def.name}": killAfter`) > MAX_KILL_AFTER_MS) {
    throw new ValidationError("killAfter", `task "${def.name}": killAfter: must be from 0 to 10m`);
  }
  if (def.memoryLimitMb !== undefined && def.isolation === "none") {
    throw new ValidationError("memoryLimitMb", `task "${def.name}": memoryLimitMb: needs isolation "thread" or "process" (a run on the node's own event loop cannot be limited)`);
  }
  for (const scope of ["type", "group"] as const) {
    const rate = def.rateLimit?.[scope];
    if (rate && parseDuration(rate.interval, `task "${def.name}": rateLimit.${scope}.interval`) < 1) {
      throw new ValidationError(null, `task "${def.name}": rateLimit.${scope}.interval: must be at least 1ms`);
    }
  }
}

/**
 * Refuses a type that would run isolated (its own `isolation`, else the node's `nodeDefault`) but
 * has no module a runner could import its handler from: found now, not at its first run.
 */
export function checkIsolatable(def: TaskDefinition, nodeDefault: Isolation): void {
  const mode = def.isolation ?? nodeDefault;
  if (mode === "none" || def.module) return;
  throw new ValidationError(
    `task "${def.name}": isolation "${mode}" loads the handler in a runner by module path, and this definition has none: ` +
      `add module: import.meta.url to its defineTask({...}) in the module that exports it (or put it in a task folder), ` +
      `or set isolation: "none" on it`,
  );
}

/** Validates params against the type's schema (if any) and the size limit; returns the parsed value. */
export async function validateParams(def: TaskDefinition, params: unknown): Promise<unknown> {
  let value = params === undefined ? {} : params;
  if (def.params) {
    const result = await def.params["~standard"].validate(value);
    if (result.issues) throw new ParamsValidationError(def.name, `params of "${def.name}" are invalid: ${formatIssues(result.issues)}`, result.issues);
    value = result.value;
  }
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (err) {
    throw new ValidationError("params", `params of "${def.name}" are not JSON-serialisable: ${(err as Error).message}`);
  }
  if (json === undefined) throw new ValidationError("params", `params of "${def.name}" are not JSON-serialisable`);
  // PostgreSQL cannot store it, and a task must be storable on every backend alike.
  if (json.includes("\\u0000")) throw new ValidationError("params", `params of "${def.name}" contain the NUL character (\\u0000), which cannot be stored`);
  const bytes = Buffer.byteLength(json);
  if (bytes > MAX_PARAMS_BYTES) throw new ValidationError("params", `params of "${def.name}" are ${bytes} bytes, over the ${MAX_PARAMS_BYTES}-byte limit`);
  return JSON.parse(json);
}

function backoffSpec(option: BackoffOption | undefined, field: string): BackoffSpec {
  if (option === undefined) return { ...DEFAULTS.backoff };
  if (typeof option === "number" || typeof option === "string") {
    return { ...DEFAULTS.backoff, delayMs: parseDuration(option, field) };
  }
  return {
    type: option.type ?? DEFAULTS.backoff.type,
    delayMs: option.delay === undefined ? DEFAULTS.backoff.delayMs : parseDuration(option.delay, `${field}.delay`),
    maxMs: option.max === undefined ? DEFAULTS.backoff.maxMs : parseDuration(option.max, `${field}.max`),
    jitter: option.jitter ?? DEFAULTS.backoff.jitter,
  };
}

/** Earliest and latest instants accepted (1970 to 9999): every backend can store them. */
const MIN_INSTANT = 0;
const MAX_INSTANT = Date.UTC(9999, 11, 31);

function instant(value: Date | string | number, field: string, now: number): number {
  const t = parseInstant(value, field, now);
  if (!Number.isSafeInteger(Math.round(t)) || t < MIN_INSTANT || t > MAX_INSTANT) {
    throw new ValidationError(field, `${field}: must be between 1970 and 9999`);
  }
  return Math.round(t);
}

function parseInstant(value: Date | string | number, field: string, now: number): number {
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new ValidationError(field, `${field}: invalid date`);
    return value.getTime();
  }
  if (typeof value === "number") return value;
  // A duration string ("10m") means that long from now; anything else must be an ISO date.
  if (/^\s*\d+(\.\d+)?\s*(ms|s|m|h|d|w)\s*$/.test(value)) return now + parseDuration(value, field);
  if (!/^\s*([+-]\d{6}|\d{4})-/.test(value)) throw new ValidationError(field, `${field}: "${value}" is neither an ISO date nor a duration`);
  const date = parseIsoDate(value);
  if ("error" in date) throw new ValidationError(field, `${field}: "${value}" ${date.error}`);
  return date.ms;
}

/** A run given no time at all fails at once on every attempt: refuse it rather than store it. */
function timeoutMs(value: Duration): number {
  const ms = parseDuration(value, "timeout");
  if (ms < 1) throw new ValidationError("timeout", `timeout: ${JSON.stringify(value)} is not allowed; use 1ms to 100 years, or null for no timeout`);
  return ms;
}

export interface ResolvedOptions {
  priority: number;
  maxAttempts: number;
  backoff: BackoffSpec;
  timeoutMs: number | null;
  cpu: number;
  executor: string | null;
  maxRuns: number;
  deleteAfterMs: number;
}

/** Merges type defaults with per-add overrides; field names in errors are the option names. */
export function resolveTaskOptions(def: TaskOptions, add: TaskOptions): ResolvedOptions {
  const pick = <K extends keyof TaskOptions>(k: K): TaskOptions[K] => (add[k] !== undefined ? add[k] : def[k]);
  const timeout = pick("timeout");
  const deleteAfter = pick("deleteAfter") as Duration | undefined;
  return {
    priority: pick("priority") ?? DEFAULTS.priority,
    maxAttempts: pick("attempts") ?? DEFAULTS.attempts,
    backoff: backoffSpec(pick("backoff"), "backoff"),
    timeoutMs: timeout === undefined || timeout === null ? null : timeoutMs(timeout),
    cpu: pick("cpu") ?? DEFAULTS.cpu,
    executor: pick("executor") ?? null,
    maxRuns: pick("maxRuns") ?? DEFAULTS.maxRuns,
    deleteAfterMs: deleteAfter === undefined ? DEFAULTS.deleteAfterMs : parseDuration(deleteAfter, "deleteAfter"),
  };
}

/** Looks up registered types for follow-ups. */
export type TypeLookup = (type: string) => TaskDefinition;

/** Builds the store record of one `add`: validated options, params, id, group and follow-ups. */
export async function buildNewTask(
  def: TaskDefinition,
  params: unknown,
  options: AddOptions | undefined,
  now: number,
  lookup?: TypeLookup,
): Promise<NewTask> {
  const parsed = addOptionsSchema.safeParse(options ?? {});
  if (!parsed.success) throw new ValidationError(zodField("", parsed.error), zodMessage("", parsed.error, addOptionsSchema), parsed.error.issues);
  const opts = parsed.data as AddOptions;
  if (opts.delay !== undefined && opts.runAt !== undefined) throw new ValidationError(null, "delay and runAt: give one or the other, not both");
  const body = await buildTaskBody(def, params, opts);
  const runAt =
    opts.delay !== undefined ? now + parseDuration(opts.delay, "delay") : opts.runAt !== undefined ? instant(opts.runAt, "runAt", now) : null;
  const id = def.idGenerator ? def.idGenerator() : sortableId(now);
  if (typeof id !== "string" || id.length === 0 || id.length > 200) {
    throw new ValidationError(null, `idGenerator of "${def.name}" must return a non-empty string of at most 200 characters`);
  }
  const then = opts.then ?? def.then;
  const onFailure = opts.onFailure ?? def.onFailure;
  let followUps = null;
  if (then?.length || onFailure?.length) {
    if (!lookup) throw new ValidationError("then", "then: follow-ups need the task types they name to be registered");
    followUps = await resolveFollowUps(id, then, onFailure, body.owner, {
      definition: lookup,
      build: async (childDef, childParams, childOptions) => {
        const checked = followUpOptionsSchema.safeParse(childOptions);
        if (!checked.success) throw new ValidationError(zodField("options.", checked.error), zodMessage("options.", checked.error, followUpOptionsSchema), checked.error.issues);
        return buildTaskBody(childDef, childParams, checked.data as AddOptions);
      },
    });
  }
  return {
    id,
    ...body,
    runAt,
    deadline: opts.deadline === undefined ? null : instant(opts.deadline, "deadline", now),
    key: opts.key ?? null,
    followUps,
  };
}

/** The parts of a task that do not depend on when it is added: type, params, resolved options, owner, group. */
async function buildTaskBody(def: TaskDefinition, params: unknown, opts: AddOptions) {
  const resolved = resolveTaskOptions(def, opts);
  const value = await validateParams(def, params);
  return {
    type: def.name,
    name: opts.name ?? null,
    description: opts.description ?? null,
    params: value,
    priority: resolved.priority,
    maxAttempts: resolved.maxAttempts,
    maxRuns: resolved.maxRuns,
    backoff: resolved.backoff,
    timeoutMs: resolved.timeoutMs,
    cpu: resolved.cpu,
    executor: resolved.executor,
    deleteAfterMs: resolved.deleteAfterMs,
    owner: opts.owner ?? null,
    group: opts.group ?? groupOf(def, value),
  };
}

function groupOf(def: TaskDefinition, params: unknown): string | null {
  if (!def.group) return null;
  const group = def.group(params);
  if (group === null || group === undefined) return null;
  if (typeof group !== "string" || group.length === 0 || group.length > 200) {
    throw new ValidationError(null, `group of "${def.name}": group(params) must return a string of 1 to 200 characters, or null`);
  }
  return group;
}
