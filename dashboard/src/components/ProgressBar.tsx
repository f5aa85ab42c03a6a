import type { TaskProgress } from "../../../src/server/contract";
import { formatDuration, formatNumber, formatRate } from "../lib/format";

/**
 * Progress as the handler reported it (`ctx.progress(current, total, message)`) with the rate
 * and ETA the server derived. Without a total the bar is indeterminate and shows the count.
 */
export function ProgressBar({
  progress,
  compact = false,
  active = true,
  status,
}: {
  progress: TaskProgress | null;
  compact?: boolean;
  active?: boolean;
  /** The task's status, to colour the bar of a finished task by its outcome. */
  status?: string;
}) {
  if (!progress) return compact ? <span className="muted">–</span> : <p className="muted">No progress reported yet.</p>;
  const { current, total } = progress;
  const pct = total && total > 0 ? Math.max(0, Math.min(100, (current / total) * 100)) : null;
  const label = total !== null ? `${formatNumber(current)} / ${formatNumber(total)}` : formatNumber(current);
  return (
    <div className={`progress${compact ? " compact" : ""}${status ? ` progress-${status}` : ""}`}>
      <div
        className={`bar${pct === null ? " indeterminate" : ""}`}
        role="progressbar"
        aria-valuemin={0}
        aria-valuemax={total ?? undefined}
        aria-valuenow={current}
        aria-valuetext={pct !== null ? `${pct.toFixed(0)}%, ${label}` : label}
      >
        <div className="fill" style={{ width: `${pct ?? 100}%` }} />
      </div>
      <div className="progress-text">
        <span className="progress-count" data-testid="progress-count">
          {pct !== null ? `${pct.toFixed(pct < 10 ? 1 : 0)}% · ` : ""}
          {label}
        </span>
        {!compact && progress.message ? <span className="progress-message">{progress.message}</span> : null}
        {!compact && active ? (
          <>
            <span>{formatRate(progress.ratePerSec)}</span>
            <span>ETA {progress.etaMs !== null ? formatDuration(progress.etaMs) : "–"}</span>
          </>
        ) : null}
      </div>
    </div>
  );
}
