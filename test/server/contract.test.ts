/**
 * The wire types the dashboard imports (src/server/contract.ts) are the library's records as
 * JSON carries them (dates as strings). Checked by `npm run typecheck`, which compiles the
 * tests: a field added to a record but not to its response schema, or the reverse, fails it.
 */
import { describe, expectTypeOf, it } from "vitest";
import type { NodeInfo as LibraryNode, StatsBucket as LibraryBucket, TaskStatsReport } from "../../src/client/task-stats.js";
import type { QueueInfo } from "../../src/client/queues.js";
import type { ScheduleInfo, ScheduleTick as LibraryTick } from "../../src/model/schedule.js";
import type { EventRow, RunRow, StoredFollowUp, TaskRow } from "../../src/model/task-row.js";
import type * as Wire from "../../src/server/contract.js";
import type { TaskEventRow } from "../../src/store/store.js";

/** A record as JSON.stringify sends it: dates become ISO strings. */
type Json<T> = T extends Date ? string : T extends readonly (infer U)[] ? Json<U>[] : T extends object ? { [K in keyof T]: Json<T[K]> } : T;

describe("the wire contract", () => {
  it("is the library's records as JSON", () => {
    expectTypeOf<Wire.Task>().toEqualTypeOf<Json<TaskRow>>();
    expectTypeOf<Wire.TaskFollowUp>().toEqualTypeOf<Json<StoredFollowUp>>();
    expectTypeOf<Wire.Run>().toEqualTypeOf<Json<RunRow>>();
    expectTypeOf<Wire.LogLine>().toEqualTypeOf<Json<EventRow>>();
    expectTypeOf<Wire.TaskEvent>().toEqualTypeOf<Json<TaskEventRow>>();
    expectTypeOf<Wire.TaskEventKind>().toEqualTypeOf<TaskEventRow["kind"]>();
    expectTypeOf<Wire.Stats>().toEqualTypeOf<Json<TaskStatsReport>>();
    expectTypeOf<Wire.StatsBucket>().toEqualTypeOf<Json<LibraryBucket>>();
    expectTypeOf<Wire.NodeInfo>().toEqualTypeOf<Json<LibraryNode>>();
    expectTypeOf<Omit<Wire.Schedule, "options">>().toEqualTypeOf<Json<Omit<ScheduleInfo, "options">>>();
    expectTypeOf<Wire.Queue>().toEqualTypeOf<Json<QueueInfo>>();
    expectTypeOf<Wire.ScheduleTick>().toEqualTypeOf<Json<LibraryTick>>();
  });
});
