/**
 * PostgreSQL restarted under running workers. This restarts the one local server, which breaks
 * every other test using it, so it runs on its own: `npm test` excludes *.serial.test.ts from the
 * main run and runs this file after it.
 */
import { execFile } from "node:child_process";
import fs from "node:fs";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { ClusterScenario, waitFor } from "../fixtures/cluster.js";

const run = promisify(execFile);
let scenario: ClusterScenario | null = null;

function clusterVersion(): string {
  const versions = fs.readdirSync("/etc/postgresql");
  if (versions.length !== 1) throw new Error(`expected one PostgreSQL version in /etc/postgresql, found ${versions.join(", ")}`);
  return versions[0]!;
}

async function pgctl(action: "restart" | "start"): Promise<void> {
  await run("pg_ctlcluster", ["--skip-systemctl-redirect", clusterVersion(), "main", action], { timeout: 60_000 });
}

async function isReady(): Promise<boolean> {
  try {
    await run("pg_isready", ["-h", "127.0.0.1", "-p", "5432", "-t", "2"]);
    return true;
  } catch {
    return false;
  }
}

/** PostgreSQL is up again whatever happened: started if it is down, then waited for. */
async function ensurePostgresUp(): Promise<void> {
  if (await isReady()) return;
  await pgctl("start").catch(() => undefined); // already starting, or up by now: pg_isready decides
  await waitFor("PostgreSQL to accept connections", () => isReady().then((ok) => ok || undefined), 60_000, 250);
}

afterEach(async () => {
  await ensurePostgresUp();
  await scenario?.cleanup();
  scenario = null;
}, 150_000);

describe("PostgreSQL restarted while workers run tasks", () => {
  it("the workers reconnect; nothing is lost or stuck: every task ends succeeded, none stays running", async () => {
    scenario = new ClusterScenario();
    const lane = await scenario.observer();
    const env = { concurrency: 10, leaseMs: 3000, heartbeatMs: 500, maintenanceMs: 500, pollIntervalMs: 250 };
    const workers = await Promise.all(["n1", "n2"].map((n) => scenario!.startWorker(n, env)));

    const TOTAL = 400;
    const added = await lane.addMany(Array.from({ length: TOTAL }, (_, i) => ({ type: "pgrecord", params: { i, ms: 150 } })));
    // Restart in the middle of the work: some tasks done, some running, most still queued.
    await waitFor(
      "some tasks done and some running",
      async () => {
        const c = await scenario!.statusCounts();
        return ((c.succeeded ?? 0) >= 40 && (c.running ?? 0) > 0) || undefined;
      },
      30_000,
    );
    const before = await scenario.statusCounts();
    await pgctl("restart");
    await ensurePostgresUp();

    // Tasks added after the restart are picked up too (the wake-up listener came back, or polling).
    const late = await waitFor(
      "an add to work again",
      () => lane.addMany(Array.from({ length: 20 }, (_, i) => ({ type: "pgrecord", params: { late: i, ms: 10 } }))),
      30_000,
      250,
    );
    await scenario.waitForSucceeded(TOTAL + late.length, 90_000);
    expect(await scenario.statusCounts()).toEqual({ succeeded: TOTAL + late.length });
    expect(added.length).toBe(TOTAL);

    // Every success is backed by the side effect of the run that committed it.
    const unbacked = await scenario.sql(
      `SELECT t.id FROM {S}.tasks t WHERE NOT EXISTS (
         SELECT 1 FROM {S}.effects e WHERE e.task_id = t.id AND e.kind = 'done' AND e.run_id = t.id || '#' || t.run_count)`,
    );
    expect(unbacked).toEqual([]);
    expect(await scenario.sql(`SELECT id FROM {S}.tasks WHERE lease_expires_at IS NOT NULL`)).toEqual([]);
    // The workers survived the restart.
    expect(workers.every((w) => w.isAlive())).toBe(true);

    // Informational: what the restart cost (runs lost to it are at-least-once re-runs).
    const [stats] = await scenario.sql<{ reruns: number; duplicates: number }>(
      `SELECT (SELECT count(*)::int FROM {S}.tasks WHERE run_count > 1) AS reruns,
              (SELECT count(*)::int FROM (SELECT task_id FROM {S}.effects WHERE kind = 'done' GROUP BY task_id HAVING count(*) > 1) d) AS duplicates`,
    );
    console.log(`restart at ${JSON.stringify(before)}: ${stats!.reruns} tasks re-run, ${stats!.duplicates} duplicate side effects; stderr lines: ${scenario.allStderr().length}`);
    for (const line of scenario.allStderr().slice(0, 10)) console.log(line);
  }, 180_000);
});
