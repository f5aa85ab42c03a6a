import { TypeNotFoundError, ValidationError } from "../model/errors.js";
import type { NodeRow } from "../model/node-row.js";
import type { TaskDefinition } from "../model/options.js";
import { TASK_STATUSES, type TaskStatus } from "../model/status.js";
import type { Store } from "../store/store.js";

/** One task type's queue, as `lane.queues()`, `tasklane types` and `GET /api/types` report it. */
export interface QueueInfo {
  type: string;
  /** Paused: no node claims its tasks (runs already claimed go on; adds are accepted). */
  paused: boolean;
  pausedAt: Date | null;
  /** Tasks of the type by status (every status, zeros included). */
  counts: Record<TaskStatus, number>;
  /** Tasks that succeeded and failed for good, in the last minute and the last hour. */
  throughput: {
    lastMinute: { succeeded: number; failed: number };
    lastHour: { succeeded: number; failed: number };
  };
  /** How long its oldest due queued task has waited, ms; null when none waits. */
  oldestQueuedAgeMs: number | null;
  /** Tasks of the type running now, on any node. */
  running: number;
  /**
   * Most of its tasks that can run at once now: over the online nodes that run the type, each
   * node's concurrency (capped by the type's per-node `concurrency` when this process has the
   * type registered), capped by its cluster-wide `concurrencyLimit.type` when known here. 0: no
   * online node runs it.
   */
  limit: number;
  /** Online nodes that run the type. */
  nodes: number;
}

const TYPE_NAME = /^[A-Za-z0-9][\w.:-]*$/;

export function checkTypeName(type: unknown): asserts type is string {
  if (typeof type !== "string" || type.length === 0 || type.length > 200 || !TYPE_NAME.test(type)) {
    throw new ValidationError("type", "type: a task type name is 1 to 200 letters, digits, '_', '-', '.', ':' starting with a letter or digit");
  }
}

/** One row per task type known anywhere: with tasks, finishes in the last hour, a node that runs it, a definition here, or paused. */
export async function listQueues(store: Store, registry: ReadonlyMap<string, TaskDefinition>): Promise<QueueInfo[]> {
  const [counts, activity, paused, nodes] = await Promise.all([store.taskCount(), store.typeActivity(), store.typePausedList(), store.nodeList()]);
  const names = new Set<string>([
    ...counts.map((c) => c.type),
    ...activity.types.map((a) => a.type),
    ...paused.map((p) => p.type),
    ...registry.keys(),
    ...nodes.filter((n) => n.status !== "offline").flatMap((n) => n.types),
  ]);
  const pausedAt = new Map(paused.map((p) => [p.type, p.pausedAt]));
  const recent = new Map(activity.types.map((a) => [a.type, a]));
  return [...names].sort().map((type) => {
    const byStatus = Object.fromEntries(TASK_STATUSES.map((s) => [s, 0])) as Record<TaskStatus, number>;
    for (const c of counts) if (c.type === type) byStatus[c.status] += c.count;
    const a = recent.get(type);
    const runners = nodes.filter((n) => n.status !== "offline" && n.types.includes(type));
    return {
      type,
      paused: pausedAt.has(type),
      pausedAt: pausedAt.get(type) ?? null,
      counts: byStatus,
      throughput: {
        lastMinute: { succeeded: a?.succeededLastMinute ?? 0, failed: a?.failedLastMinute ?? 0 },
        lastHour: { succeeded: a?.succeededLastHour ?? 0, failed: a?.failedLastHour ?? 0 },
      },
      oldestQueuedAgeMs: a?.oldestQueuedAt == null ? null : Math.max(0, activity.now - a.oldestQueuedAt),
      running: byStatus.running,
      limit: limitOf(registry.get(type), runners),
      nodes: runners.length,
    };
  });
}

function limitOf(def: TaskDefinition | undefined, runners: NodeRow[]): number {
  const perNode = def?.concurrency ?? Infinity;
  const capacity = runners.reduce((sum, n) => sum + Math.min(n.concurrency, perNode), 0);
  return Math.min(capacity, def?.concurrencyLimit?.type ?? Infinity);
}

/**
 * Pauses or resumes a type; returns its queue afterwards. A type nothing knows of (no task, no
 * node that runs it, no definition here, not paused) is refused, so a misspelt name does not
 * silently pause nothing.
 */
export async function setTypePaused(store: Store, registry: ReadonlyMap<string, TaskDefinition>, type: string, paused: boolean): Promise<QueueInfo> {
  checkTypeName(type);
  const before = await listQueues(store, registry);
  if (!before.some((q) => q.type === type)) throw new TypeNotFoundError(type, before.map((q) => q.type));
  await store.typePause(type, paused);
  return (await listQueues(store, registry)).find((q) => q.type === type)!;
}
