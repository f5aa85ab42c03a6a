import { describe, expect, it } from "vitest";
import fs from "node:fs";
import pg from "pg";
import { defineTask, Tasklane, ValidationError } from "../../src/index.js";
import { TEST_PG_URL } from "../helpers/postgres.js";
import { BACKENDS, useLanes, waitForStatus } from "../helpers/lane.js";

const noop = defineTask({ name: "noop", run: () => null });

for (const backend of BACKENDS) {
  describe(`values that cannot work are refused on ${backend}`, () => {
    const useLane = useLanes(backend);

    it("refuses a timeout of 0 (every run would fail at once) on add, on a type and on a schedule, storing nothing", async () => {
      const lane = await useLane().open({ tasks: [noop] });
      for (const timeout of [0, "0ms", "0.2ms"]) {
        await expect(lane.add("noop", {}, { timeout })).rejects.toThrow(/timeout: .* is not allowed; use 1ms to 100 years/);
      }
      await expect(lane.add("noop", {}, { timeout: -5 })).rejects.toThrow(/timeout: must be a duration: a non-negative number/);
      expect(() => lane.register(defineTask({ name: "zero", timeout: 0, run: () => null }))).toThrow(/timeout: 0 is not allowed; use 1ms/);
      await expect(lane.schedule("s", { type: "noop", cron: "* * * * *", options: { timeout: 0 } })).rejects.toThrow(/timeout/);
      expect((await lane.list()).tasks).toHaveLength(0);
      expect(await lane.schedules()).toHaveLength(0);
      // The smallest timeout that can work is kept.
      expect((await lane.add("noop", {}, { timeout: 1 })).timeoutMs).toBe(1);
    });

    it("refuses worker intervals of 0, negative or out of range, naming the option and its range", async () => {
      const lane = await useLane().open({ tasks: [noop] });
      const bad: Array<[Record<string, unknown>, RegExp]> = [
        [{ leaseMs: 0 }, /leaseMs: 0 is not allowed; use a whole number of milliseconds from 100 to 86400000/],
        [{ leaseMs: 50 }, /leaseMs: 50 is not allowed/],
        [{ pollIntervalMs: 0 }, /pollIntervalMs: 0 is not allowed; use a whole number of milliseconds from 10 to 3600000/],
        [{ pollIntervalMs: -1 }, /pollIntervalMs: -1/],
        [{ heartbeatMs: 0 }, /heartbeatMs: 0 is not allowed/],
        [{ maintenanceMs: 0 }, /maintenanceMs: 0/],
        [{ flushMs: -10 }, /flushMs: -10/],
        [{ nodeHeartbeatMs: 0 }, /nodeHeartbeatMs: 0/],
        [{ nodeHeartbeatMs: 10_000, nodeStaleMs: 10_000 }, /nodeStaleMs: 10000 is not allowed; .*at least two node heartbeats/],
        [{ concurrency: 0 }, /concurrency: 0 is not allowed; use a whole number of tasks from 1 to 100000/],
        [{ pruneIntervalMs: -1 }, /pruneIntervalMs: -1 .*or 0: off/],
      ];
      for (const [options, message] of bad) {
        const error = await lane.start(options).then(
          () => null,
          (e: unknown) => e,
        );
        expect(error, JSON.stringify(options)).toBeInstanceOf(ValidationError);
        expect((error as Error).message, JSON.stringify(options)).toMatch(message);
      }
      await expect(useLane().open({ worker: { leaseMs: 0 } })).rejects.toThrow(/leaseMs: 0 is not allowed/);
      await lane.start({ leaseMs: 100, pollIntervalMs: 10, pruneIntervalMs: 0 });
      const task = await lane.add("noop");
      await waitForStatus(lane, task.id, ["succeeded"]);
    });
  });
}

for (const backend of BACKENDS) {
  describe(`mustExist creates nothing on ${backend}`, () => {
    const useLane = useLanes(backend);

    it("refuses a missing database or schema without creating it, and opens one that exists", async () => {
      const lanes = useLane();
      const db = lanes.file();
      await expect(Tasklane.open({ db, mustExist: true })).rejects.toThrow(
        backend === "sqlite" ? /^db: no Tasklane database at .*\.db \(run "tasklane db migrate"/ : /^db: schema "tl_rt_\w+" of postgres:.* has no Tasklane tables; run "tasklane db migrate"/,
      );
      expect(await exists(db)).toBe(false);
      await (await lanes.open({ file: db })).close();
      const again = await Tasklane.open({ db, mustExist: true, migrate: false });
      expect((await again.list()).tasks).toEqual([]);
      await again.close();
    });
  });
}

async function exists(db: string): Promise<boolean> {
  if (db.startsWith("sqlite:")) return fs.existsSync(db.slice("sqlite:".length));
  const client = new pg.Client({ connectionString: TEST_PG_URL });
  await client.connect();
  try {
    const schema = new URL(db).searchParams.get("schema");
    return (await client.query("SELECT 1 FROM information_schema.schemata WHERE schema_name = $1", [schema])).rowCount === 1;
  } finally {
    await client.end();
  }
}

for (const backend of BACKENDS) {
  describe(`misspelt options are refused with the nearest name on ${backend}`, () => {
    const useLane = useLanes(backend);

    it("defineTask, add, follow-ups, schedules, Tasklane.open and start", async () => {
      const lane = await useLane().open({ tasks: [noop] });
      expect(() => lane.register(defineTask({ name: "typo", isolaton: "thread", run: () => null } as never))).toThrow(
        'task "typo": unknown option isolaton; did you mean isolation?',
      );
      expect(() => lane.register(defineTask({ name: "odd", colour: "red", run: () => null } as never))).toThrow(/^task "odd": unknown option colour$/);
      const added = await lane.add("noop", {}, { priorty: 1 } as never).catch((e: unknown) => e);
      expect(added).toBeInstanceOf(ValidationError);
      expect(added).toMatchObject({ field: "priorty", message: "unknown option priorty; did you mean priority?" });
      await expect(lane.add("noop", {}, { backoff: { delya: "1s" } } as never)).rejects.toThrow("backoff: unknown option delya; did you mean delay?");
      await expect(lane.add("noop", {}, { then: [{ type: "noop", options: { atempts: 2 } }] } as never)).rejects.toThrow(
        "then[0]: options: unknown option atempts; did you mean attempts?",
      );
      await expect(lane.schedule("s", { type: "noop", cron: "* * * * *", options: { timout: "1s" } } as never)).rejects.toThrow(
        "unknown option timout; did you mean timeout?",
      );
      await expect(useLane().open({ wokrer: {} } as never)).rejects.toThrow("Tasklane.open: unknown option wokrer; did you mean worker?");
      await expect(lane.start({ concurency: 2 } as never)).rejects.toThrow("worker: unknown option concurency; did you mean concurrency?");
      await expect(lane.schedule("s", { type: "noop", cron: "* * * * *", tzz: "UTC" } as never)).rejects.toThrow("schedule: unknown option tzz; did you mean tz?");
      await expect(lane.list({ stauts: "running" } as never)).rejects.toThrow("list: unknown option stauts; did you mean status?");
      // A schedule declared with its type still starts (its name is not a spec field).
      lane.register(defineTask({ name: "ticking", schedule: { cron: "0 3 * * *", name: "nightly" }, run: () => null }));
      await lane.start();
      expect((await lane.schedules()).map((x) => x.name)).toEqual(["nightly"]);
      await lane.unschedule("nightly");
      expect((await lane.list()).tasks).toEqual([]);
      expect(await lane.schedules()).toEqual([]);
    });
  });
}

for (const backend of BACKENDS) {
  describe(`impossible calendar dates are refused on ${backend}`, () => {
    const useLane = useLanes(backend);

    it("runAt, deadline and list filters: refused, not rolled over", async () => {
      const lane = await useLane().open({ tasks: [noop] });
      await expect(lane.add("noop", {}, { runAt: "2024-02-30" })).rejects.toThrow('runAt: "2024-02-30" is not a day of the calendar: February 2024 has 29 days');
      await expect(lane.add("noop", {}, { runAt: "2025-02-29T10:00:00Z" })).rejects.toThrow("February 2025 has 28 days");
      await expect(lane.add("noop", {}, { deadline: "2030-04-31T00:00:00Z" })).rejects.toThrow('deadline: "2030-04-31T00:00:00Z" is not a day of the calendar: April 2030 has 30 days');
      await expect(lane.add("noop", {}, { runAt: "2030-01-01T24:30:00Z" })).rejects.toThrow("has no hour 24");
      await expect(lane.list({ createdTo: "2024-02-30" })).rejects.toThrow('createdTo: "2024-02-30" is not a day of the calendar');
      expect((await lane.list()).tasks).toEqual([]);
      const leap = await lane.add("noop", {}, { runAt: "2096-02-29T12:00:00Z" });
      expect(leap.runAt?.toISOString()).toBe("2096-02-29T12:00:00.000Z");
    });
  });
}
