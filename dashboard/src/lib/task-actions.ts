import { Api } from "../api/client";
import type { Task } from "../../../src/server/contract";

/**
 * What the user may do to a task in its current state. The server decides rights (a user only
 * reaches its own tasks, any other id is a 404), so the page only hides buttons that the state
 * makes pointless; a refusal still comes back as a readable error.
 */
export const canCancel = (t: Task) => (t.status === "queued" || t.status === "scheduled" || t.status === "running") && !t.cancelRequested;
export const canRetry = (t: Task) => t.status === "failed" || t.status === "cancelled" || t.status === "expired";
export const canDelete = (t: Task) => t.status !== "running";

export type BulkAction = "cancel" | "retry";

/** Runs one action on many tasks, four requests at a time; returns how many succeeded and the first errors. */
export async function runBulk(action: BulkAction, ids: string[]): Promise<{ done: number; failed: Array<{ id: string; message: string }> }> {
  const call = action === "cancel" ? Api.cancel : Api.retry;
  const queue = [...ids];
  let done = 0;
  const failed: Array<{ id: string; message: string }> = [];
  async function worker() {
    for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
      try {
        await call(id);
        done++;
      } catch (error) {
        failed.push({ id, message: (error as Error).message });
      }
    }
  }
  await Promise.all([worker(), worker(), worker(), worker()]);
  return { done, failed };
}
