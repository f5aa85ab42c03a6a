import { Api } from "../api/client";
import { Empty, ErrorBox, Loading } from "../components/States";
import { StatusBadge } from "../components/StatusBadge";
import { formatAge, formatBytes, formatDuration } from "../lib/format";
import { useAsync, useInterval, useNow } from "../lib/use-async";

/** Every node of the cluster (admin): status, heartbeat age, capacity and load, running tasks, version. */
export function NodesPage() {
  const nodes = useAsync((signal) => Api.nodes(signal), "nodes");
  const now = useNow(1000);
  // Heartbeats are not task events: re-read every few seconds.
  useInterval(nodes.reload, 3000);
  const list = nodes.data?.nodes ?? [];
  const order = { online: 0, draining: 1, offline: 2 } as const;
  const sorted = [...list].sort((a, b) => order[a.status] - order[b.status] || a.name.localeCompare(b.name));
  return (
    <section aria-labelledby="nodes-title">
      <h1 id="nodes-title">Nodes</h1>
      {nodes.error && !nodes.data ? <ErrorBox error={nodes.error} retry={nodes.reload} /> : null}
      {!nodes.data && !nodes.error ? <Loading what="Loading nodes" /> : null}
      {nodes.data && list.length === 0 ? <Empty>No node has reported yet.</Empty> : null}
      {sorted.length > 0 ? (
        <div className="table-wrap">
          <table className="nodes" data-testid="nodes-table">
            <thead>
              <tr>
                <th scope="col">Node</th>
                <th scope="col">Status</th>
                <th scope="col">Heartbeat</th>
                <th scope="col">Running</th>
                <th scope="col">CPU cost</th>
                <th scope="col">Load / core</th>
                <th scope="col">Memory</th>
                <th scope="col">Runners</th>
                <th scope="col">Version</th>
                <th scope="col">Up</th>
              </tr>
            </thead>
            <tbody>
              {sorted.map((n) => (
                <tr key={n.name} data-node={n.name}>
                  <td>
                    <strong>{n.name}</strong>
                    {n.self ? <span className="role">this server</span> : null}
                    <span className="muted small block">
                      {n.host} · pid {n.pid}
                    </span>
                    <span className="muted small block">types: {n.types.length ? n.types.join(", ") : "none"}</span>
                  </td>
                  <td>
                    <StatusBadge status={n.status} />
                  </td>
                  <td>{formatAge(n.heartbeatAt, now)}</td>
                  <td>
                    <Meter value={n.running} max={n.concurrency} label={`${n.running} of ${n.concurrency}`} />
                  </td>
                  <td>
                    <Meter value={n.cpuUsed} max={n.cpuCapacity} label={`${n.cpuUsed} of ${n.cpuCapacity}`} />
                  </td>
                  <td>{n.loadPerCore.toFixed(2)}</td>
                  <td>{formatBytes(n.memoryBytes)}</td>
                  <td data-runners>
                    {n.runners ? (
                      <>
                        {n.runners.busy} busy of {n.runners.size}
                        <span className="muted small block">
                          {n.runners.recycled} recycled · {n.runners.replaced} replaced
                        </span>
                      </>
                    ) : (
                      <span className="muted">none</span>
                    )}
                  </td>
                  <td className="mono">{n.version}</td>
                  <td>{n.status === "offline" ? "–" : formatDuration(now - Date.parse(n.startedAt))}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}

function Meter({ value, max, label }: { value: number; max: number; label: string }) {
  const pct = max > 0 ? Math.min(100, (value / max) * 100) : 0;
  return (
    <div className="meter" title={label}>
      <div className="bar" role="meter" aria-valuemin={0} aria-valuemax={max} aria-valuenow={value} aria-label={label}>
        <div className="fill" style={{ width: `${pct}%` }} />
      </div>
      <span className="small">{label}</span>
    </div>
  );
}
