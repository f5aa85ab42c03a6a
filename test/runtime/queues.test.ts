import { describe, expect, it } from "vitest";
import { defineTask, TypeNotFoundError, ValidationError } from "../../src/index.js";
import { BACKENDS, useLanes, waitFor, waitForStatus } from "../helpers/lane.js";

for (const backend of BACKENDS) {
  describe(`queues on ${backend}`, () => {
    const useLane = useLanes(backend);
    const job = defineTask({ name: "job", run: () => "done" });
    const report = defineTask({ name: "export-report", concurrency: 2, run: () => "report" });

    it("a type paused through one lane is not claimed by another node's worker, then runs once resumed", async () => {
      const file = useLane().file();
      const worker = await useLane().open({ file, node: "worker-a", tasks: [job, report], worker: { concurrency: 5 } });
      const admin = await useLane().open({ file, node: "admin", tasks: [job, report] });
      await worker.start();
      await waitFor(async () => (await admin.nodes()).some((n) => n.name === "worker-a" && n.status === "online"), "worker-a online");

      const paused = await admin.pauseType("export-report");
      expect(paused).toMatchObject({ type: "export-report", paused: true, nodes: 1, limit: 2 });
      expect(paused.pausedAt).toBeInstanceOf(Date);
      const waiting = await admin.add("export-report", {});
      const other = await admin.add("job", {});
      await waitForStatus(admin, other.id, ["succeeded"]);
      // Two claims since the paused task was due (each took a job and left it).
      await waitForStatus(admin, (await admin.add("job", {})).id, ["succeeded"]);
      const held = (await admin.get(waiting.id))!;
      expect(held.status).toBe("queued");
      expect(held.waitReason).toBe('type "export-report" is paused');
      expect((await admin.list({ type: "export-report" })).tasks[0]!.waitReason).toBe('type "export-report" is paused');
      const row = (await admin.queues()).find((q) => q.type === "export-report")!;
      expect(row).toMatchObject({ paused: true, running: 0, limit: 2, nodes: 1 });
      expect(row.counts.queued).toBe(1);
      expect(row.oldestQueuedAgeMs).toBeGreaterThanOrEqual(0);

      const resumed = await admin.resumeType("export-report");
      expect(resumed).toMatchObject({ paused: false, pausedAt: null });
      const done = await waitForStatus(admin, waiting.id, ["succeeded"]);
      expect(done.waitReason).toBeUndefined();
      const after = await waitFor(async () => {
        const q = (await admin.queues()).find((r) => r.type === "export-report")!;
        return q.throughput.lastMinute.succeeded === 1 ? q : null;
      }, "the finish to count");
      expect(after.throughput.lastHour).toEqual({ succeeded: 1, failed: 0 });
      expect(after.counts.succeeded).toBe(1);
      expect(after.oldestQueuedAgeMs).toBeNull();
    });

    it("the pause outlives the process that made it", async () => {
      const file = useLane().file();
      const first = await useLane().open({ file, tasks: [report] });
      await first.pauseType("export-report");
      await first.close();
      const second = await useLane().open({ file, node: "later", tasks: [report, job] });
      const task = await second.add("export-report", {});
      await second.start();
      await waitForStatus(second, (await second.add("job", {})).id, ["succeeded"]);
      expect((await second.get(task.id))!.status).toBe("queued");
      expect((await second.queues()).find((q) => q.type === "export-report")!.paused).toBe(true);
      await second.resumeType("export-report");
      await waitForStatus(second, task.id, ["succeeded"]);
    });

    it("refuses a type nothing knows of, and a malformed name, naming the field", async () => {
      const lane = await useLane().open({ tasks: [job] });
      await expect(lane.pauseType("exprot-report")).rejects.toThrow(TypeNotFoundError);
      await expect(lane.pauseType("exprot-report")).rejects.toThrow(/task type "exprot-report" not found.*known types: job/);
      await expect(lane.pauseType("")).rejects.toThrow(ValidationError);
      await expect(lane.resumeType("a b")).rejects.toThrow(/^type: /);
      expect((await lane.queues()).every((q) => !q.paused)).toBe(true);
      // Resuming a type that is not paused is harmless.
      expect((await lane.resumeType("job")).paused).toBe(false);
    });
  });
}
