import { parseDuration } from "../model/duration.js";
import { ValidationError } from "../model/errors.js";
import { refuseUnknownKeys } from "../model/suggest.js";
import type { MissedTickPolicy, ScheduleTaskOptions, TaskDefinition } from "../model/options.js";
import type { ScheduleInfo, ScheduleRow, ScheduleWrite, StoredMissedPolicy } from "../model/schedule.js";
import type { NewTask, Store } from "../store/store.js";
import { nextFires, parseCron } from "../schedule/cron.js";
import { buildNewTask, type TypeLookup } from "./task-options.js";

/** What `lane.schedule(name, spec)` takes. */
export interface ScheduleSpec {
  /** Task type added at each tick. */
  type: string;
  /** 5 fields (minute hour day month weekday) or 6 (seconds first). */
  cron: string;
  /** IANA time zone the expression is read in ["UTC"]. */
  tz?: string;
  /** Params of every task it adds (validated now against the type's schema). */
  params?: unknown;
  /** Options of every task it adds (those of `add`, less runAt, deadline, delay, key). */
  options?: ScheduleTaskOptions;
  /** Ticks missed while no node ran ["skip"]. */
  missed?: MissedTickPolicy;
  /** Create paused; on update, undefined keeps the current state. */
  paused?: boolean;
}

const NAME = /^[A-Za-z0-9][\w.:-]*$/;
const REFUSED_OPTIONS = ["runAt", "deadline", "delay", "key", "tx"];

export function checkScheduleName(name: unknown): asserts name is string {
  if (typeof name !== "string" || name.length === 0 || name.length > 200 || !NAME.test(name)) {
    throw new ValidationError("name", "name: a schedule name is 1 to 200 letters, digits, '_', '-', '.', ':' starting with a letter or digit");
  }
}

function missedPolicy(missed: MissedTickPolicy | undefined): StoredMissedPolicy {
  if (missed === undefined || missed === "skip") return { policy: "skip" };
  if (typeof missed === "object" && missed !== null && "catchUp" in missed) {
    const windowMs = parseDuration(missed.catchUp, "missed.catchUp");
    if (windowMs < 1) throw new ValidationError("missed.catchUp", "missed.catchUp: the window must be at least 1ms");
    return { policy: "catchUp", windowMs };
  }
  throw new ValidationError("missed", `missed: expected "skip" or { catchUp: <duration> }`);
}

const SPEC_NAMES = Object.keys({ type: true, cron: true, tz: true, params: true, options: true, missed: true, paused: true } satisfies Record<keyof ScheduleSpec, true>);

/** Validates a spec completely (cron, zone, type, params, options) before anything is stored. */
export async function toScheduleWrite(name: string, spec: ScheduleSpec, lookup: TypeLookup, now: number): Promise<ScheduleWrite> {
  checkScheduleName(name);
  if (!spec || typeof spec !== "object") throw new ValidationError("schedule", "schedule: expected { cron, type, tz?, params?, options?, missed? }");
  refuseUnknownKeys("schedule", spec, SPEC_NAMES);
  if (typeof spec.type !== "string") throw new ValidationError("type", "type: expected a task type name");
  const tz = spec.tz ?? "UTC";
  if (typeof tz !== "string") throw new ValidationError("tz", "tz: expected an IANA time zone name");
  parseCron(spec.cron, tz);
  const options = (spec.options ?? {}) as Record<string, unknown>;
  if (typeof options !== "object" || Array.isArray(options)) throw new ValidationError("options", "options: expected an object");
  for (const refused of REFUSED_OPTIONS) {
    if (refused in options) throw new ValidationError(`options.${refused}`, `options.${refused}: not allowed on a schedule (each tick adds a task due at the tick)`);
  }
  if (spec.paused !== undefined && typeof spec.paused !== "boolean") throw new ValidationError("paused", "paused: expected true or false");
  const write: ScheduleWrite = {
    name,
    type: spec.type,
    params: spec.params ?? {},
    options: options as ScheduleTaskOptions,
    cron: spec.cron.trim(),
    tz,
    missed: missedPolicy(spec.missed),
  };
  if (spec.paused !== undefined) write.paused = spec.paused;
  // The task a tick would add, built now: a bad param or option is refused at creation.
  await scheduledTask(write, lookup(spec.type), lookup, now);
  return write;
}

/** The task one tick (or `trigger`) adds; named after the schedule unless its options name it. */
export function scheduledTask(schedule: ScheduleWrite | ScheduleRow, def: TaskDefinition, lookup: TypeLookup, now: number): Promise<NewTask> {
  const options = { name: schedule.name, ...schedule.options };
  return buildNewTask(def, schedule.params, options, now, lookup);
}

/** The stored row plus the next three fire times and the latest task's status. */
export async function scheduleInfo(store: Store, row: ScheduleRow, now: number): Promise<ScheduleInfo> {
  let fires: Date[] = [];
  if (!row.paused) {
    try {
      // Never before the last fired tick: no tick at or before it fires again.
      fires = nextFires(parseCron(row.cron, row.tz), Math.max(now, row.lastTickAt?.getTime() ?? now, row.anchorAt.getTime()), 3);
    } catch {
      fires = [];
    }
  }
  const last = row.lastTaskId ? await store.taskGet(row.lastTaskId) : null;
  return { ...row, nextFires: fires, lastTaskStatus: last?.status ?? null };
}
