import { EventEmitter } from "node:events";
import type { EventRow, TaskErrorInfo, TaskProgress, TaskRow } from "../model/task-row.js";
import type { NodeRow } from "../model/node-row.js";

/**
 * The typed event map, `noun:verb`. Events are emitted in the process where the change
 * happened only; every node's changes are in the durable task event log
 * (`lane.followTaskEvents`, `GET /api/events`).
 *
 * | event | when |
 * |---|---|
 * | `task:added` | a task was stored by `add`/`addMany` (not for a key hit) |
 * | `task:started` | this node claimed the task and its handler starts |
 * | `task:progress` | coalesced progress was written |
 * | `task:log` | a log line was written by a handler on this node |
 * | `task:succeeded` | the run returned and the success was committed |
 * | `task:failed` | the task failed for good (attempts, maxRuns, or NonRetryableError) |
 * | `task:retrying` | the run failed or timed out and the task is due again at `runAt` |
 * | `task:cancelled` | the task ended `cancelled` |
 * | `task:expired` | its deadline passed before it started |
 * | `task:rescued` | a lost run was recovered (outcome `offline`): re-queued or failed |
 * | `task:released` | graceful stop gave a running task back to the queue |
 * | `task:cancel-requested` | a running task was asked to stop (it ends `cancelled` when its run does) |
 * | `task:retried` | a failed, cancelled or expired task was queued again by hand |
 * | `task:deleted` | a task was deleted |
 * | `node:offline` | a node stopped heartbeating and was marked offline (on the node that noticed) |
 */
export interface TasklaneEvents {
  "task:added": { task: TaskRow };
  "task:started": { task: TaskRow };
  "task:progress": { task: TaskRow; progress: TaskProgress };
  "task:log": { event: EventRow };
  "task:succeeded": { task: TaskRow; result: unknown };
  "task:failed": { task: TaskRow; error: TaskErrorInfo | null };
  "task:retrying": { task: TaskRow; error: TaskErrorInfo | null };
  "task:cancelled": { task: TaskRow };
  "task:expired": { task: TaskRow };
  "task:rescued": { task: TaskRow };
  "task:released": { task: TaskRow };
  "task:cancel-requested": { task: TaskRow };
  "task:retried": { task: TaskRow };
  "task:deleted": { id: string };
  "node:offline": { node: NodeRow };
  /** A cron tick of a schedule added its task (on the node that won the tick). */
  "schedule:fired": { schedule: string; tickAt: Date; task: TaskRow };
  /** An error inside Tasklane's background loops (a hook that threw, a store error while polling). */
  error: { error: Error; where: string };
}

export type TasklaneEventName = keyof TasklaneEvents;

/** A typed wrapper over EventEmitter; listener errors never break the emitter. */
export class EventBus {
  private readonly emitter = new EventEmitter({ captureRejections: false });

  constructor() {
    this.emitter.setMaxListeners(0);
  }

  on<E extends TasklaneEventName>(event: E, listener: (payload: TasklaneEvents[E]) => void): () => void {
    this.emitter.on(event, listener);
    return () => this.emitter.off(event, listener);
  }

  emit<E extends TasklaneEventName>(event: E, payload: TasklaneEvents[E]): void {
    if (this.emitter.listenerCount(event) === 0) return;
    for (const listener of this.emitter.listeners(event)) {
      try {
        (listener as (p: TasklaneEvents[E]) => void)(payload);
      } catch (error) {
        if (event !== "error") this.emit("error", { error: error as Error, where: `listener of ${event}` });
      }
    }
  }

  has(event: TasklaneEventName): boolean {
    return this.emitter.listenerCount(event) > 0;
  }
}
