import type { ScheduleTaskOptions } from "./options.js";
import type { TaskStatus } from "./status.js";
import type { TaskRow } from "./task-row.js";
import type { NewTask } from "../store/store.js";

/** How a schedule treats ticks missed while no node ran: see `MissedTickPolicy`. */
export type StoredMissedPolicy = { policy: "skip" } | { policy: "catchUp"; windowMs: number };

/** The stored columns (`missed`, `catch_up_ms`) of a policy. */
export function missedColumns(m: StoredMissedPolicy): { missed: StoredMissedPolicy["policy"]; catchUpMs: number } {
  return { missed: m.policy, catchUpMs: m.policy === "catchUp" ? m.windowMs : 0 };
}

/** The policy of the stored columns. */
export function missedOfColumns(missed: string, catchUpMs: number): StoredMissedPolicy {
  return missed === "catchUp" ? { policy: "catchUp", windowMs: catchUpMs } : { policy: "skip" };
}

/** A cron schedule as stored. Times by the store clock. */
export interface ScheduleRow {
  name: string;
  type: string;
  params: unknown;
  /** Options of each task it adds (as given; resolved against the type when a tick fires). */
  options: ScheduleTaskOptions;
  cron: string;
  /** IANA time zone the cron expression is read in. */
  tz: string;
  missed: StoredMissedPolicy;
  paused: boolean;
  /** Ticks after this instant may fire (creation, a change of cron/zone/policy, or resume). */
  anchorAt: Date;
  /** The latest tick fired; no tick at or before it ever fires again. */
  lastTickAt: Date | null;
  /** The task of the latest tick (or of `trigger`). */
  lastTaskId: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** What `scheduleUpsert` writes; `paused` undefined keeps the current state (a new schedule starts active). */
export type ScheduleWrite = Pick<ScheduleRow, "name" | "type" | "params" | "options" | "cron" | "tz" | "missed"> & { paused?: boolean };

/** One tick to fire, with the task it adds. */
export interface ScheduleFire {
  schedule: string;
  /** The tick instant, epoch ms. */
  tickAt: number;
  task: NewTask;
}

export interface ScheduleFired {
  schedule: string;
  tickAt: number;
  /** The task added, or null when the tick was fired elsewhere, is not after the last fired tick, or the schedule is paused or gone. */
  task: TaskRow | null;
}

export interface ScheduleTick {
  schedule: string;
  tickAt: Date;
  taskId: string | null;
  firedAt: Date;
}

/** A schedule as the API shows it: the stored row plus the next fire times and the latest task's status. */
export interface ScheduleInfo extends ScheduleRow {
  /** The next three fire times (none while paused). */
  nextFires: Date[];
  lastTaskStatus: TaskStatus | null;
}
