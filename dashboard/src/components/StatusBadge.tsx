import type { TaskStatus } from "../../../src/server/contract";

/** A task status as a coloured pill; the word is always written out (colour is never the only cue). */
export function StatusBadge({ status, cancelRequested }: { status: TaskStatus | string; cancelRequested?: boolean }) {
  return (
    <span className={`badge badge-${status}`} data-status={status}>
      {status}
      {cancelRequested && status === "running" ? " · cancelling" : ""}
    </span>
  );
}
