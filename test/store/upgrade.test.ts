import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { defineTask, Tasklane } from "../../src/index.js";
import { schemaFactory, TEST_PG_URL } from "../helpers/postgres.js";
import { waitFor, waitForStatus } from "../helpers/lane.js";
import { tempDir } from "../helpers/temp.js";

/**
 * A database made and filled by the library of migration 4 (the schema before the hot-path
 * rebuild; test/fixtures/upgrade/fill-v4.ts says how) is opened by this version: it migrates,
 * keeps every task, run, log line, task event, schedule, user and token, and its worker drains
 * what was left (rescuing the run whose process died).
 */
const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), "../fixtures/upgrade");
const schemas = schemaFactory("tl_upgrade");
afterAll(() => schemas.dropAll());

interface Manifest {
  tasks: Record<string, { id: string; status: string; runs?: number; key?: string }>;
  /** The task event log as the old version had numbered it: [position, task id, kind]. */
  positioned: Array<[number, string, string]>;
  schedule: string;
  user: string;
  token: string;
}

const definitions = () => [
  defineTask<{ n: number }>({ name: "ok", async run(ctx) { return { n: ctx.params.n }; } }),
  defineTask<{ n: number }>({ name: "export", async run(ctx) { return { n: ctx.params.n }; } }),
  defineTask({ name: "flaky", async run() { return null; } }),
  defineTask({ name: "bad", async run() { return null; } }),
  defineTask({ name: "slow", async run() { return "done after the upgrade"; } }),
];

async function checkUpgraded(db: string, manifest: Manifest): Promise<void> {
  const lane = await Tasklane.open({ db, tasks: definitions(), node: "upgraded" });
  try {
    for (const m of await lane.store.migrationStatus()) expect(m.appliedAt, `migration ${m.version}`).not.toBeNull();

    // Every task as it was.
    for (const [name, expected] of Object.entries(manifest.tasks)) {
      const task = await lane.get(expected.id);
      expect(task?.status, name).toBe(expected.status);
      if (expected.runs !== undefined) expect(await lane.runs(expected.id), name).toHaveLength(expected.runs);
      if (expected.key !== undefined) expect(task?.key, name).toBe(expected.key);
    }
    const flaky = manifest.tasks.flaky!.id;
    expect((await lane.get(flaky))!.result).toEqual({ fixed: true });
    expect((await lane.runs(flaky)).map((r) => r.outcome)).toEqual(["failed", "succeeded"]);
    const lines: string[] = [];
    for await (const line of lane.logs(flaky)) lines.push(line.message);
    expect(lines).toEqual(["attempt 1", "attempt 2"]);
    // The follow-up `then` of flaky, added by the old version.
    const followUp = (await lane.list({ type: "ok" })).tasks.find((t) => t.parent?.id === flaky);
    expect(followUp?.status).toBe("succeeded");

    // Schedules, users and tokens.
    expect((await lane.getSchedule(manifest.schedule))?.cron).toBe("0 3 * * *");
    expect((await lane.users.authenticate(manifest.token))?.name).toBe(manifest.user);

    // The task event log: every change the old version made, in positions without gaps.
    const events = await lane.taskEvents({ limit: 1000 });
    expect(events.length).toBeGreaterThan(20);
    expect(events.map((e) => e.id)).toEqual(events.map((_, i) => i + 1));
    expect(manifest.positioned.length).toBeGreaterThan(15);
    expect(events.slice(0, manifest.positioned.length).map((e) => [e.id, e.taskId, e.kind])).toEqual(manifest.positioned);
    expect(events.filter((e) => e.taskId === flaky).map((e) => e.kind)).toEqual(["added", "started", "retrying", "started", "succeeded"]);

    // The worker drains it: the dead process's run is rescued and runs again; queued work runs
    // (the urgent one before the others); work due tomorrow waits.
    await lane.start({ concurrency: 4, leaseMs: 2000 });
    for (const name of ["queued", "keyed", "urgent"]) await waitForStatus(lane, manifest.tasks[name]!.id, ["succeeded"]);
    const rescued = await waitForStatus(lane, manifest.tasks.running!.id, ["succeeded"]);
    expect(rescued.result).toBe("done after the upgrade");
    expect((await lane.runs(rescued.id)).map((r) => r.outcome)).toEqual(["offline", "succeeded"]);
    expect((await lane.get(manifest.tasks.later!.id))?.status).toBe("scheduled");
    const started = async (name: string) => (await lane.runs(manifest.tasks[name]!.id))[0]!.startedAt.getTime();
    expect(await started("urgent")).toBeLessThanOrEqual(await started("queued"));
    // New work and new events go on from there.
    const fresh = await lane.add("ok", { n: 9 });
    await waitForStatus(lane, fresh.id, ["succeeded"]);
    await waitFor(async () => (await lane.taskEvents({ after: events.length, limit: 1000 })).some((e) => e.taskId === fresh.id && e.kind === "succeeded"), "events of new work");
  } finally {
    await lane.close();
  }
}

describe("upgrade from the schema of migration 4", () => {
  it("SQLite: a database file made by that version", async () => {
    const { dir, cleanup } = tempDir();
    try {
      const file = path.join(dir, "v4.db");
      fs.copyFileSync(path.join(fixtures, "v4.db"), file);
      const manifest = JSON.parse(fs.readFileSync(path.join(fixtures, "manifest-sqlite.json"), "utf8")) as Manifest;
      await checkUpgraded(`sqlite:${file}`, manifest);
    } finally {
      cleanup();
    }
  });

  it("PostgreSQL: a schema made by that version (pg_dump)", async () => {
    const schema = schemas.next();
    const dump = fs.readFileSync(path.join(fixtures, "v4-postgres.sql"), "utf8").replaceAll("tl_v4", schema);
    const client = new pg.Client({ connectionString: TEST_PG_URL });
    await client.connect();
    try {
      await client.query(dump);
    } finally {
      await client.end();
    }
    const manifest = JSON.parse(fs.readFileSync(path.join(fixtures, "manifest-postgres.json"), "utf8")) as Manifest;
    const url = new URL(TEST_PG_URL);
    url.searchParams.set("schema", schema);
    await checkUpgraded(url.toString(), manifest);
  });
});
