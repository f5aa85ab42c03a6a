/**
 * The wire contract of the HTTP API as TypeScript types: the output of the response schemas
 * that also generate the OpenAPI document, so the dashboard (which imports these as types)
 * cannot drift from what the server documents and the tests check it sends. Type-only apart
 * from the status lists, so a browser bundle that imports it pulls in neither zod nor Node.
 */
import type { z } from "zod";
import type * as r from "./responses.js";

export { FINAL_STATUSES, TASK_STATUSES, type LogLevel, type TaskStatus } from "../model/status.js";

export type Me = z.output<typeof r.meSchema>;
export type Task = z.output<typeof r.taskSchema>;
export type AddedTask = z.output<typeof r.addedTaskSchema>;
export type TaskProgress = z.output<typeof r.progressSchema>;
export type TaskErrorInfo = z.output<typeof r.errorInfoSchema>;
export type ParentOutcome = z.output<typeof r.parentOutcomeSchema>;
export type TaskFollowUp = z.output<typeof r.taskFollowUpSchema>;
export type TaskPage = z.output<typeof r.taskPageSchema>;
export type DeletedTask = z.output<typeof r.deletedTaskSchema>;
export type Run = z.output<typeof r.runSchema>;
export type RunList = z.output<typeof r.runListSchema>;
export type LogLine = z.output<typeof r.logLineSchema>;
export type LogPage = z.output<typeof r.logPageSchema>;
export type TaskEvent = z.output<typeof r.taskEventSchema>;
export type TaskEventKind = TaskEvent["kind"];
export type Stats = z.output<typeof r.statsSchema>;
export type StatsBucket = z.output<typeof r.statsBucketSchema>;
export type NodeInfo = z.output<typeof r.nodeSchema>;
export type NodeList = z.output<typeof r.nodeListSchema>;
export type Queue = z.output<typeof r.queueSchema>;
export type QueueList = z.output<typeof r.queueListSchema>;
export type Schedule = z.output<typeof r.scheduleSchema>;
export type MissedPolicy = z.output<typeof r.missedPolicySchema>;
export type ScheduleTick = z.output<typeof r.scheduleTickSchema>;
export type ScheduleDetail = z.output<typeof r.scheduleDetailSchema>;
export type ScheduleList = z.output<typeof r.scheduleListSchema>;
export type DeletedSchedule = z.output<typeof r.deletedScheduleSchema>;
export type ErrorBody = z.output<typeof r.errorSchema>;
export type StreamReady = z.output<typeof r.streamReadySchema>;
export type LogStreamEnd = z.output<typeof r.logStreamEndSchema>;
