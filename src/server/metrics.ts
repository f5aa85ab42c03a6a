import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { Tasklane } from "../client/tasklane.js";
import type { NodeInfo, TaskStatsReport } from "../client/task-stats.js";
import type { TaskRow } from "../model/task-row.js";

/**
 * Prometheus metrics of one Tasklane instance, on their own registry (so several apps in one
 * process never collide). Run counters and the duration histogram count the runs of this
 * process's worker (each node exports its own, as Prometheus expects); task counts, queue age
 * and node figures are read from the database at scrape time and cover the whole cluster.
 */
export class HttpMetrics {
  readonly registry = new Registry();
  private readonly offs: Array<() => void> = [];
  private snapshot: { stats: TaskStatsReport; nodes: NodeInfo[] } | null = null;

  constructor(
    private readonly lane: Tasklane,
    options: { defaultMetrics?: boolean } = {},
  ) {
    const registers = [this.registry];
    const started = new Counter({ name: "tasklane_runs_started_total", help: "Runs started by this node.", labelNames: ["type"], registers });
    const succeeded = new Counter({ name: "tasklane_runs_succeeded_total", help: "Runs that succeeded on this node.", labelNames: ["type"], registers });
    const failed = new Counter({
      name: "tasklane_runs_failed_total",
      help: "Runs that failed or timed out on this node (retried or not).",
      labelNames: ["type"],
      registers,
    });
    const duration = new Histogram({
      name: "tasklane_run_duration_seconds",
      help: "Duration of runs that ended on this node.",
      labelNames: ["type", "outcome"],
      buckets: [0.005, 0.025, 0.1, 0.5, 1, 5, 15, 60, 300, 1800],
      registers,
    });
    const observe = (task: TaskRow, outcome: string) => {
      if (!task.startedAt) return;
      const end = (task.finishedAt ?? task.updatedAt).getTime();
      duration.observe({ type: task.type, outcome }, Math.max(0, end - task.startedAt.getTime()) / 1000);
    };
    this.offs.push(
      lane.on("task:started", ({ task }) => started.inc({ type: task.type })),
      lane.on("task:succeeded", ({ task }) => {
        succeeded.inc({ type: task.type });
        observe(task, "succeeded");
      }),
      lane.on("task:failed", ({ task }) => {
        if (task.startedAt === null || task.node !== lane.node) return;
        failed.inc({ type: task.type });
        observe(task, "failed");
      }),
      lane.on("task:retrying", ({ task }) => {
        failed.inc({ type: task.type });
        observe(task, "failed");
      }),
    );

    // The database is read once per scrape (see text()); the gauges only copy from that snapshot.
    const scrape = () => this.snapshot!;
    new Gauge({
      name: "tasklane_tasks",
      help: "Tasks in the database by status and type.",
      labelNames: ["status", "type"],
      registers,
      collect() {
        this.reset();
        for (const [type, { byStatus }] of Object.entries(scrape().stats.byType)) {
          for (const [status, count] of Object.entries(byStatus)) this.set({ status, type }, count ?? 0);
        }
      },
    });
    new Gauge({
      name: "tasklane_queue_oldest_age_seconds",
      help: "How long the oldest due queued task has waited (0 when none waits).",
      registers,
      collect() {
        this.set((scrape().stats.oldestQueuedAgeMs ?? 0) / 1000);
      },
    });
    new Gauge({
      name: "tasklane_node_capacity",
      help: "Most tasks a node runs at once (its concurrency).",
      labelNames: ["node"],
      registers,
      collect() {
        this.reset();
        for (const n of scrape().nodes) this.set({ node: n.name }, n.concurrency);
      },
    });
    new Gauge({
      name: "tasklane_node_running",
      help: "Tasks running on a node now (its load).",
      labelNames: ["node"],
      registers,
      collect() {
        this.reset();
        for (const n of scrape().nodes) this.set({ node: n.name }, n.running);
      },
    });
    // This node's isolation pools (each node exports its own): cheap, read from memory.
    new Gauge({
      name: "tasklane_runners",
      help: "Isolated runners of this node by mode (thread, process) and state (idle, busy).",
      labelNames: ["mode", "state"],
      registers,
      collect() {
        this.reset();
        const pools = lane.workerState()?.pools;
        if (!pools) return;
        for (const mode of ["thread", "process"] as const) {
          this.set({ mode, state: "busy" }, pools[mode].busy);
          this.set({ mode, state: "idle" }, pools[mode].size - pools[mode].busy);
        }
      },
    });
    new Gauge({
      name: "tasklane_runners_replaced",
      help: "Isolated runners of this node replaced since it started, by mode and reason (recycled after their run count; died: crash, exit, memory, terminated after a grace).",
      labelNames: ["mode", "reason"],
      registers,
      collect() {
        this.reset();
        const pools = lane.workerState()?.pools;
        if (!pools) return;
        for (const mode of ["thread", "process"] as const) {
          this.set({ mode, reason: "recycled" }, pools[mode].recycled);
          this.set({ mode, reason: "died" }, pools[mode].replaced);
        }
      },
    });
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  async text(): Promise<string> {
    const [stats, nodes] = await Promise.all([this.lane.stats({ windowMs: 60_000, bucketMs: 60_000 }), this.lane.nodes()]);
    this.snapshot = { stats, nodes };
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  close(): void {
    for (const off of this.offs.splice(0)) off();
  }
}
