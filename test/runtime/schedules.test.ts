import { describe, expect, it } from "vitest";
import { defineTask, ValidationError, type Tasklane } from "../../src/index.js";
import { BACKENDS, sleep, useLanes, waitFor } from "../helpers/lane.js";

const at = (iso: string) => Date.parse(iso);
const ticksOf = async (lane: Tasklane, name: string) => (await lane.scheduleTicks(name, 100)).map((t) => t.tickAt.toISOString()).reverse();

// In isolation "none" only: these tests are about the ticker and the schedule rows (which tick adds
// which task, once), not where the added task's handler runs.
for (const backend of BACKENDS) {
  describe(`schedules on ${backend}`, () => {
    const useLane = useLanes(backend);
    const report = defineTask({ name: "report", run: (ctx) => ctx.params });

    it("fires a fixed-time tick in the skipped hour once, at the first valid time (Europe/Berlin, spring forward)", async () => {
      const lane = await useLane().open({ tasks: [report] });
      await lane.schedule("berlin-0230", { type: "report", cron: "30 2 * * *", tz: "Europe/Berlin", params: { kind: "daily" } });
      // 2027-03-28: 02:00 CET jumps to 03:00 CEST, so 02:30 does not exist that day.
      await lane.fireDueSchedules(at("2027-03-27T12:00:00Z")); // the latest missed tick: 27 March 02:30 CET
      await lane.fireDueSchedules(at("2027-03-28T00:59:59Z"));
      await lane.fireDueSchedules(at("2027-03-28T01:00:00Z")); // 03:00 CEST: the first valid time after the gap
      await lane.fireDueSchedules(at("2027-03-28T05:00:00Z"));
      await lane.fireDueSchedules(at("2027-03-29T00:30:00Z")); // 02:30 CEST the next day
      expect(await ticksOf(lane, "berlin-0230")).toEqual(["2027-03-27T01:30:00.000Z", "2027-03-28T01:00:00.000Z", "2027-03-29T00:30:00.000Z"]);
      const tasks = (await lane.list({ type: "report" })).tasks;
      expect(tasks).toHaveLength(3);
      expect(tasks.every((t) => t.name === "berlin-0230" && (t.params as { kind: string }).kind === "daily")).toBe(true);
    });

    it("fires a fixed-time tick in the repeated hour once (Europe/Berlin, fall back)", async () => {
      const lane = await useLane().open({ tasks: [report] });
      await lane.schedule("berlin-fall", { type: "report", cron: "30 2 * * *", tz: "Europe/Berlin" });
      // 2027-10-31: 03:00 CEST goes back to 02:00 CET, so 02:30 happens twice.
      await lane.fireDueSchedules(at("2027-10-30T12:00:00Z"));
      await lane.fireDueSchedules(at("2027-10-31T00:30:00Z")); // 02:30 CEST, the first
      await lane.fireDueSchedules(at("2027-10-31T01:30:00Z")); // 02:30 CET, the second: not again
      await lane.fireDueSchedules(at("2027-10-31T12:00:00Z"));
      await lane.fireDueSchedules(at("2027-11-01T01:30:00Z")); // 02:30 CET the next day
      expect(await ticksOf(lane, "berlin-fall")).toEqual(["2027-10-30T00:30:00.000Z", "2027-10-31T00:30:00.000Z", "2027-11-01T01:30:00.000Z"]);
    });

    it("missed ticks: skip fires once for the latest; catchUp fires each within the window; a clock going back fires nothing twice", async () => {
      const lane = await useLane().open({ tasks: [report] });
      const skip = await lane.schedule("every-10m-skip", { type: "report", cron: "*/10 * * * *" });
      const catchUp = await lane.schedule("every-10m-catchup", { type: "report", cron: "*/10 * * * *", missed: { catchUp: "30m" } });
      const down = skip.anchorAt.getTime() + 65 * 60_000; // every node was down for 65 minutes
      await lane.fireDueSchedules(down);
      const skipped = await ticksOf(lane, "every-10m-skip");
      expect(skipped).toHaveLength(1);
      expect(Date.parse(skipped[0]!)).toBe(Math.floor(down / 600_000) * 600_000);
      const caught = (await ticksOf(lane, "every-10m-catchup")).map(Date.parse);
      expect(caught).toHaveLength(3);
      expect(caught.every((t) => t > down - 30 * 60_000 && t <= down && t % 600_000 === 0)).toBe(true);
      expect(catchUp.missed).toEqual({ policy: "catchUp", windowMs: 1_800_000 });
      // The clock jumps back an hour, then returns: no tick fires a second time.
      await lane.fireDueSchedules(down - 3_600_000);
      await lane.fireDueSchedules(down);
      expect(await ticksOf(lane, "every-10m-skip")).toHaveLength(1);
      expect(await ticksOf(lane, "every-10m-catchup")).toHaveLength(3);
      expect((await lane.list({ type: "report" })).tasks).toHaveLength(4);
    });

    it("fires each tick once with three runtimes racing", async () => {
      const f = useLane();
      const file = f.file();
      const lanes = await Promise.all([0, 1, 2].map((i) => f.open({ file, node: `n${i}`, tasks: [report] })));
      const s = await lanes[0]!.schedule("race", { type: "report", cron: "* * * * *", missed: { catchUp: "1h" } });
      const base = Math.ceil(s.anchorAt.getTime() / 60_000) * 60_000;
      for (let minute = 0; minute < 5; minute++) {
        await Promise.all(lanes.map((lane) => lane.fireDueSchedules(base + minute * 60_000 + 500)));
      }
      const ticks = await ticksOf(lanes[0]!, "race");
      expect(ticks.map(Date.parse)).toEqual([0, 1, 2, 3, 4].map((m) => base + m * 60_000));
      expect((await lanes[0]!.list({ type: "report" })).tasks).toHaveLength(5);
    });

    it("fires each second's tick once while three started runtimes race in real time", async () => {
      const f = useLane();
      const file = f.file();
      const ran: string[] = [];
      const recorder = defineTask({ name: "tick", run: (ctx) => void ran.push(ctx.task.id) });
      const lanes = await Promise.all([0, 1, 2].map((i) => f.open({ file, node: `rt${i}`, tasks: [recorder] })));
      await lanes[0]!.schedule("each-second", { type: "tick", cron: "* * * * * *" });
      await Promise.all(lanes.map((lane) => lane.start()));
      await waitFor(async () => (await lanes[0]!.scheduleTicks("each-second", 10)).length >= 4, "four ticks", 10_000);
      await Promise.all(lanes.map((lane) => lane.stop({ graceMs: 1000 })));
      const ticks = (await lanes[0]!.scheduleTicks("each-second", 100)).map((t) => t.tickAt.getTime()).reverse();
      // Consecutive seconds, none twice, each with its own task.
      ticks.forEach((t, i) => i > 0 && expect(t - ticks[i - 1]!).toBe(1000));
      const tasks = (await lanes[0]!.list({ type: "tick", limit: 1000 })).tasks;
      expect(tasks).toHaveLength(ticks.length);
      expect(new Set(ran).size).toBe(ran.length);
    });

    it("trigger adds exactly one task now; pause stops ticks and resume does not fire the paused ones", async () => {
      const lane = await useLane().open({ tasks: [report] });
      const s = await lane.schedule("hourly", { type: "report", cron: "0 * * * *", params: { h: 1 } });
      const task = await lane.trigger("hourly");
      expect(task).toMatchObject({ type: "report", name: "hourly", params: { h: 1 } });
      expect((await lane.list({ type: "report" })).tasks).toHaveLength(1);
      expect((await lane.getSchedule("hourly"))!.lastTaskId).toBe(task.id);
      expect((await lane.pauseSchedule("hourly")).paused).toBe(true);
      expect((await lane.getSchedule("hourly"))!.nextFires).toEqual([]);
      await lane.fireDueSchedules(s.anchorAt.getTime() + 3 * 3_600_000);
      expect(await ticksOf(lane, "hourly")).toEqual([]);
      await sleep(5);
      const resumed = await lane.resumeSchedule("hourly");
      expect(resumed.nextFires).toHaveLength(3);
      // Hours that passed while paused never fire: the next tick counts from the resume.
      await lane.fireDueSchedules(resumed.anchorAt.getTime() + 10);
      expect(await ticksOf(lane, "hourly")).toEqual([]);
      await lane.fireDueSchedules(resumed.anchorAt.getTime() + 3_600_000);
      expect(await ticksOf(lane, "hourly")).toHaveLength(1);
      await expect(lane.trigger("missing")).rejects.toMatchObject({ code: "SCHEDULE_NOT_FOUND" });
      expect(await lane.unschedule("hourly")).toBe(true);
      expect(await lane.schedules()).toEqual([]);
    });

    it("refuses an invalid cron, an unknown zone, an unknown type or bad params, naming the problem, storing nothing", async () => {
      const { z } = await import("zod");
      const lane = await useLane().open({ tasks: [defineTask({ name: "typed", params: z.object({ n: z.number() }), run: () => 1 })] });
      await expect(lane.schedule("a", { type: "typed", cron: "61 * * * *", params: { n: 1 } })).rejects.toThrow(/cron: "61 \* \* \* \*" is invalid/);
      await expect(lane.schedule("a", { type: "typed", cron: "* * *", params: { n: 1 } })).rejects.toThrow(/has 3 field\(s\)/);
      await expect(lane.schedule("a", { type: "typed", cron: "0 3 * * *", tz: "Mars/Olympus", params: { n: 1 } })).rejects.toThrow(/tz: "Mars\/Olympus" is not an IANA time zone/);
      await expect(lane.schedule("a", { type: "nope", cron: "0 3 * * *" })).rejects.toThrow(/unknown task type "nope"/);
      await expect(lane.schedule("a", { type: "typed", cron: "0 3 * * *", params: { n: "x" } })).rejects.toBeInstanceOf(ValidationError);
      await expect(lane.schedule("a", { type: "typed", cron: "0 3 * * *", params: { n: 1 }, options: { delay: "1m" } as never })).rejects.toThrow(/options.delay: not allowed/);
      await expect(lane.schedule("bad name!", { type: "typed", cron: "0 3 * * *", params: { n: 1 } })).rejects.toThrow(/name:/);
      expect(await lane.schedules()).toEqual([]);
    });

    it("upserts schedules declared with their task types when the worker starts, shown with next fire times in the zone", async () => {
      const lane = await useLane().open({
        tasks: [defineTask({ name: "nightly-export", schedule: { cron: "0 3 * * *", tz: "America/New_York", params: { all: true } }, run: () => 1 })],
      });
      await lane.start();
      const [s] = await lane.schedules();
      expect(s).toMatchObject({ name: "nightly-export", type: "nightly-export", cron: "0 3 * * *", tz: "America/New_York", params: { all: true }, paused: false });
      expect(s!.nextFires).toHaveLength(3);
      // 03:00 in New York is 07:00 or 08:00 UTC depending on daylight saving.
      expect(s!.nextFires.every((d) => [7, 8].includes(d.getUTCHours()) && d.getUTCMinutes() === 0)).toBe(true);
    });
  });
}
