import { Api } from "../api/client";
import { TASK_STATUSES, type Me, type Stats } from "../../../src/server/contract";
import { Empty, ErrorBox, Loading } from "../components/States";
import { StatusBadge } from "../components/StatusBadge";
import { ThroughputChart } from "../components/ThroughputChart";
import { formatAge, formatDuration, formatNumber, taskLabel } from "../lib/format";
import { Link } from "../lib/router";
import { useAsync, useInterval, useNow } from "../lib/use-async";
import { useTaskEvents, useThrottled } from "../live/event-stream";

/** Counts by status, the last hour's throughput, queue age, nodes online and recent failures. */
export function OverviewPage({ me }: { me: Me }) {
  const admin = me.role === "admin";
  const stats = useAsync((signal) => Api.stats(signal), "stats");
  const failures = useAsync((signal) => Api.listTasks(new URLSearchParams({ status: "failed", limit: "6" }), signal), "failures");
  const nodes = useAsync((signal) => (admin ? Api.nodes(signal) : Promise.resolve(null)), `nodes-${admin}`);
  const now = useNow(1000);

  const refresh = useThrottled(() => {
    stats.reload();
    failures.reload();
  }, 1000);
  useTaskEvents(refresh);
  // The per-minute buckets roll over and nodes heartbeat without task events.
  useInterval(() => {
    stats.reload();
    nodes.reload();
  }, 5000);

  return (
    <section aria-labelledby="overview-title">
      <h1 id="overview-title">Overview</h1>
      {stats.error && !stats.data ? <ErrorBox error={stats.error} retry={stats.reload} /> : null}
      {!stats.data && !stats.error ? <Loading what="Loading figures" /> : null}
      {stats.data ? (
        <>
          <ul className="status-cards" aria-label="Tasks by status">
            {TASK_STATUSES.map((s) => (
              <li key={s}>
                <Link href={`/tasks?status=${s}`} className={`status-card card-${s}`} data-testid={`count-${s}`}>
                  <span className="count">{formatNumber(stats.data!.byStatus[s] ?? 0)}</span>
                  <span className="label">{s}</span>
                </Link>
              </li>
            ))}
          </ul>
          <div className="kpis">
            <div className="kpi">
              <span className="label">Total tasks</span>
              <span className="value">{formatNumber(stats.data.total)}</span>
            </div>
            <div className="kpi">
              <span className="label">Oldest queued</span>
              <span className="value" data-testid="oldest-queued">
                {stats.data.oldestQueuedAgeMs !== null ? formatDuration(stats.data.oldestQueuedAgeMs) : "none queued"}
              </span>
            </div>
            <HourFigures window={stats.data.window} />
            {admin ? (
              <Link href="/nodes" className="kpi">
                <span className="label">Nodes online</span>
                <span className="value" data-testid="nodes-online">
                  {nodes.data ? `${nodes.data.nodes.filter((n) => n.status === "online").length} / ${nodes.data.nodes.length}` : "…"}
                </span>
              </Link>
            ) : null}
          </div>
          <div className="card">
            <h2>Throughput, last hour</h2>
            <ThroughputChart buckets={stats.data.window.buckets} />
          </div>
        </>
      ) : null}

      <div className="card">
        <h2>
          Recent failures <Link href="/tasks?status=failed" className="small-link">all failed tasks</Link>
        </h2>
        {failures.error && !failures.data ? <ErrorBox error={failures.error} retry={failures.reload} /> : null}
        {!failures.data && !failures.error ? <Loading /> : null}
        {failures.data && failures.data.tasks.length === 0 ? <Empty>No failed tasks. </Empty> : null}
        {failures.data && failures.data.tasks.length > 0 ? (
          <ul className="failure-list">
            {failures.data.tasks.map((t) => (
              <li key={t.id}>
                <Link href={`/tasks/${encodeURIComponent(t.id)}`}>
                  <StatusBadge status={t.status} /> <strong>{taskLabel(t)}</strong> <span className="mono muted">{t.id}</span>
                </Link>
                <span className="error-text">{t.error ? `${t.error.name}: ${t.error.message}` : ""}</span>
                <span className="muted">{formatAge(t.finishedAt ?? t.updatedAt, now)}</span>
              </li>
            ))}
          </ul>
        ) : null}
      </div>
    </section>
  );
}

/** Finished in the window (the last hour) and the share that failed, as the server sums them over the chart's buckets. */
function HourFigures({ window }: { window: Stats["window"] }) {
  return (
    <>
      <div className="kpi">
        <span className="label">Finished, last hour</span>
        <span className="value" data-testid="finished-hour">
          {formatNumber(window.succeeded + window.failed)}
        </span>
      </div>
      <div className="kpi">
        <span className="label">Failure rate, last hour</span>
        <span className="value" data-testid="failure-rate">
          {window.failureRate !== null ? `${(window.failureRate * 100).toFixed(1)}%` : "–"}
        </span>
      </div>
    </>
  );
}
