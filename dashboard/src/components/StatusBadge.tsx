import type { TaskStatus } from "../api/types";

/** A task status as a coloured pill; the word is always written out (colour is never the only cue). */
export function StatusBadge({ status, cancelRequested }: { status: TaskStatus | string; cancelRequested?: boolean }) {
  return (
    <span className={`badge badge-${status}`} data-status={status}>
      {status}
      {cancelRequested && status === "running" ? " · cancelling" : ""}
    </span>
  );
}
