import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { defineTask } from "../../src/index.js";
import { useLanes, waitFor, waitForStatus } from "../helpers/lane.js";

const useLane = useLanes();

describe("lease renewal off the main thread", () => {
  it("keeps renewing while a handler blocks the event loop far longer than the lease", async () => {
    const file = useLane().file();
    const path = file.replace(/^sqlite:/, "");
    let seen: { leaseExpiresAt: number; now: number; status: string } | null = null;
    const lane = await useLane().open({
      file,
      worker: { leaseMs: 300, heartbeatMs: 50 },
      tasks: [
        defineTask({
          name: "cpu-bound",
          run: async () => {
            await new Promise((r) => setTimeout(r, 100)); // the thread learns of this run
            const db = new Database(path, { readonly: true });
            const until = Date.now() + 1000;
            while (Date.now() < until) {
              // Busy: no timer of this thread can fire.
            }
            // Read straight from the file, synchronously, before this thread yields.
            const row = db.prepare("SELECT lease_expires_at, status FROM tasks").get() as { lease_expires_at: number; status: string };
            db.close();
            seen = { leaseExpiresAt: row.lease_expires_at, now: Date.now(), status: row.status };
            return "done";
          },
        }),
      ],
    });
    const errors: string[] = [];
    lane.on("error", ({ error, where }) => errors.push(`${where}: ${error.message}`));
    await lane.start();
    await waitFor(() => lane.workerState()?.leaseRenewal === "thread", "the renewer thread to be ready");
    const task = await lane.add("cpu-bound");
    await waitForStatus(lane, task.id, ["succeeded"]);
    expect(errors).toEqual([]);
    expect(lane.workerState()?.leaseRenewal).toBe("thread");
    expect(seen).not.toBeNull();
    // Claimed over a second ago with a 300 ms lease: only renewals during the block keep it alive.
    expect(seen!.status).toBe("running");
    expect(seen!.leaseExpiresAt).toBeGreaterThan(seen!.now);
    expect((await lane.runs(task.id)).map((r) => r.outcome)).toEqual(["succeeded"]);
  });
});
