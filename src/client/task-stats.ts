import { ValidationError } from "../model/errors.js";
import { TASK_STATUSES, type TaskStatus } from "../model/status.js";
import type { NodeRow } from "../model/node-row.js";
import type { ListOptions, Tasklane } from "./tasklane.js";

/** Kept for compatibility: `list` takes these filters itself now. */
export type QueryOptions = ListOptions;

export interface StatsOptions {
  /** Only this owner's tasks. */
  owner?: string;
  /** Window of the throughput figures, ms [3600000 = 1 hour]. */
  windowMs?: number;
  /** Bucket width, ms [60000 = per minute]. */
  bucketMs?: number;
}

export interface StatsBucket {
  start: Date;
  /** Tasks that succeeded in this bucket. */
  succeeded: number;
  /** Tasks that failed for good. */
  failed: number;
  /** Runs that failed and will be retried. */
  retrying: number;
}

export interface TaskStatsReport {
  at: Date;
  total: number;
  byStatus: Record<TaskStatus, number>;
  byType: Record<string, { total: number; byStatus: Partial<Record<TaskStatus, number>> }>;
  window: {
    from: Date;
    bucketMs: number;
    /** Every bucket of the window, oldest first (zeros included). */
    buckets: StatsBucket[];
    succeeded: number;
    failed: number;
    retrying: number;
    /** Succeeded tasks per minute, averaged over the window. */
    throughputPerMinute: number;
    /** failed / (succeeded + failed) over the window; null when nothing finished. */
    failureRate: number | null;
  };
  /** How long the oldest due queued task has waited, ms; null when none waits. */
  oldestQueuedAgeMs: number | null;
}

/** A node of the cluster, and whether it is this process (`GET /api/nodes` reports these). */
export type NodeInfo = NodeRow & { self: boolean };

/** Counts by status and type, finished tasks per bucket over the window, and the oldest queued age. */
export async function taskStats(lane: Tasklane, options: StatsOptions = {}): Promise<TaskStatsReport> {
  const windowMs = options.windowMs ?? 3_600_000;
  const bucketMs = options.bucketMs ?? 60_000;
  if (!Number.isInteger(bucketMs) || bucketMs < 1000) throw new ValidationError("bucketMs", "bucketMs: an integer of at least 1000");
  if (!Number.isInteger(windowMs) || windowMs < bucketMs || windowMs / bucketMs > 10_000) {
    throw new ValidationError("windowMs", "windowMs: an integer multiple of bucketMs, at most 10000 buckets");
  }
  const store = lane.store;
  const now = await store.now();
  // Buckets are aligned to the bucket width, so consecutive calls agree on their edges.
  const since = Math.floor(now / bucketMs) * bucketMs - windowMs + bucketMs;
  const raw = await store.taskStats({ owner: options.owner, since, bucketMs });
  const byStatus = Object.fromEntries(TASK_STATUSES.map((s) => [s, 0])) as Record<TaskStatus, number>;
  const byType: TaskStatsReport["byType"] = {};
  let total = 0;
  for (const { status, type, count } of raw.counts) {
    byStatus[status] += count;
    total += count;
    const t = (byType[type] ??= { total: 0, byStatus: {} });
    t.total += count;
    t.byStatus[status] = (t.byStatus[status] ?? 0) + count;
  }
  const filled = new Map(raw.buckets.map((b) => [b.start, b]));
  const buckets: StatsBucket[] = [];
  let succeeded = 0;
  let failed = 0;
  let retrying = 0;
  for (let start = since; start <= now; start += bucketMs) {
    const b = filled.get(start);
    buckets.push({ start: new Date(start), succeeded: b?.succeeded ?? 0, failed: b?.failed ?? 0, retrying: b?.retrying ?? 0 });
    succeeded += b?.succeeded ?? 0;
    failed += b?.failed ?? 0;
    retrying += b?.retrying ?? 0;
  }
  return {
    at: new Date(raw.now),
    total,
    byStatus,
    byType,
    window: {
      from: new Date(since),
      bucketMs,
      buckets,
      succeeded,
      failed,
      retrying,
      throughputPerMinute: succeeded / (windowMs / 60_000),
      failureRate: succeeded + failed === 0 ? null : failed / (succeeded + failed),
    },
    oldestQueuedAgeMs: raw.oldestQueuedAt === null ? null : Math.max(0, raw.now - raw.oldestQueuedAt),
  };
}

/**
 * The nodes of the cluster: from the store's node registry when the backend has one
 * (`nodeList`), else this process only, when its worker is running.
 */
export async function listNodes(lane: Tasklane): Promise<NodeInfo[]> {
  // A running worker heartbeats before start() resolves, so this process is listed too.
  return (await lane.store.nodeList()).map((node) => ({ ...node, self: node.name === lane.node }));
}
