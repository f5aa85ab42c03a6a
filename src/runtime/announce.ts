import type { EventBus } from "../client/events.js";
import type { TaskDefinition } from "../model/options.js";
import type { TaskRow } from "../model/task-row.js";
import type { RunFinish } from "../store/store.js";

/** Emits the event and calls the type's hook for a run end that the store applied. */
export function announceFinish(bus: EventBus, registry: Map<string, TaskDefinition>, finish: RunFinish, task: TaskRow): void {
  const def = registry.get(task.type);
  const hook = (name: string, fn: (() => unknown) | undefined) => {
    if (!fn) return;
    Promise.resolve()
      .then(fn)
      .catch((error: Error) => bus.emit("error", { error, where: `${name} of ${task.type}` }));
  };
  switch (task.status) {
    case "succeeded":
      bus.emit("task:succeeded", { task, result: task.result });
      hook("onSuccess", def?.onSuccess && (() => def.onSuccess!(task, task.result)));
      break;
    case "failed":
      bus.emit("task:failed", { task, error: task.error });
      if (task.error) hook("onError", def?.onError && (() => def.onError!(task, task.error!, { willRetry: false })));
      break;
    case "cancelled":
      bus.emit("task:cancelled", { task });
      break;
    case "queued":
    case "scheduled":
      if (finish.refundAttempt) {
        bus.emit("task:released", { task });
      } else {
        bus.emit("task:retrying", { task, error: task.error });
        if (task.error) hook("onError", def?.onError && (() => def.onError!(task, task.error!, { willRetry: true })));
      }
      break;
    default:
      break;
  }
}
