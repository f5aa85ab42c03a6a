import type { NodeRow } from "../model/node-row.js";
import type { TaskRow } from "../model/task-row.js";

/**
 * Why a due task is not being run: its type is paused, or, from the cluster's membership, it is
 * pinned to a node that is offline or lacks the type, or no online node handles its type. Null
 * when some node can run it (it is simply waiting its turn), or when there is no membership to
 * judge by.
 */
export function waitReason(task: TaskRow, nodes: NodeRow[], pausedTypes: ReadonlySet<string>): string | null {
  if (task.status !== "queued" && task.status !== "scheduled") return null;
  if (pausedTypes.has(task.type)) return `type "${task.type}" is paused`;
  if (nodes.length === 0) return null;
  if (task.executor) {
    const pinned = nodes.find((n) => n.name === task.executor);
    if (!pinned) return `pinned to node "${task.executor}", which has never been seen`;
    if (pinned.status === "offline") {
      return `pinned to node "${task.executor}", which is offline (last heartbeat ${pinned.heartbeatAt.toISOString()})`;
    }
    if (!pinned.types.includes(task.type)) return `pinned to node "${task.executor}", which has no handler for type "${task.type}"`;
    return null;
  }
  const online = nodes.filter((n) => n.status !== "offline");
  if (online.length === 0) return "no node is online";
  if (!online.some((n) => n.types.includes(task.type))) return `no online node can run type "${task.type}"`;
  return null;
}
