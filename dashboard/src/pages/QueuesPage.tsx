import { useState } from "react";
import { Api } from "../api/client";
import type { Queue } from "../../../src/server/contract";
import { Empty, ErrorBox, Loading } from "../components/States";
import { formatDuration, formatNumber } from "../lib/format";
import { Link } from "../lib/router";
import { useAsync, useInterval } from "../lib/use-async";
import { useTaskEvents, useThrottled } from "../live/event-stream";

const enc = encodeURIComponent;

/**
 * One row per task type (admin): tasks by status, throughput, the oldest queued task's wait,
 * running against what can run, and pause/resume. A paused type is claimed by no node.
 */
export function QueuesPage() {
  const queues = useAsync((signal) => Api.types(signal), "types");
  const [message, setMessage] = useState<{ text: string; error: boolean } | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  // Task changes move the counts; throughput and waits move with the clock.
  const refresh = useThrottled(queues.reload, 1000);
  useTaskEvents(refresh);
  useInterval(queues.reload, 5000);

  async function act(q: Queue) {
    const verb = q.paused ? "resume" : "pause";
    if (verb === "pause" && !window.confirm(`Pause type ${q.type}? No node will start its tasks until it is resumed; running ones finish.`)) return;
    setBusy(q.type);
    setMessage(null);
    try {
      const after = verb === "pause" ? await Api.pauseType(q.type) : await Api.resumeType(q.type);
      const waiting = after.counts.queued + after.counts.scheduled;
      setMessage({
        text: verb === "pause" ? `Paused ${q.type}: ${waiting} task(s) will wait.` : `Resumed ${q.type}: ${waiting} waiting task(s) will be claimed.`,
        error: false,
      });
      queues.reload();
    } catch (error) {
      setMessage({ text: `${q.type}: ${(error as Error).message}`, error: true });
    } finally {
      setBusy(null);
    }
  }

  const list = queues.data?.types ?? [];
  return (
    <section aria-labelledby="queues-title">
      <h1 id="queues-title">Queues</h1>
      <p className="muted small">
        One row per task type. A paused type is started by no node until it is resumed: running tasks finish, new tasks are accepted and wait.
      </p>
      {message ? (
        <p className={message.error ? "form-error" : "notice"} role={message.error ? "alert" : "status"}>
          {message.text}
        </p>
      ) : null}
      {queues.error && !queues.data ? <ErrorBox error={queues.error} retry={queues.reload} /> : null}
      {!queues.data && !queues.error ? <Loading what="Loading queues" /> : null}
      {queues.data && list.length === 0 ? <Empty>No task types yet: add a task or start a node.</Empty> : null}
      {list.length > 0 ? (
        <div className="table-wrap">
          <table className="queues" data-testid="queues-table">
            <thead>
              <tr>
                <th scope="col">Type</th>
                <th scope="col" className="num">Queued</th>
                <th scope="col" className="num">Scheduled</th>
                <th scope="col">Running / limit</th>
                <th scope="col" className="num">Succeeded</th>
                <th scope="col" className="num">Failed</th>
                <th scope="col">Last minute</th>
                <th scope="col">Last hour</th>
                <th scope="col">Oldest queued</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {list.map((q) => (
                <tr key={q.type} data-type={q.type} className={q.paused ? "paused" : undefined}>
                  <th scope="row">
                    <Link href={`/tasks?type=${enc(q.type)}`}>{q.type}</Link>
                    {q.paused ? (
                      <span className="role" data-paused title={q.pausedAt ? `since ${new Date(q.pausedAt).toLocaleString()}` : undefined}>
                        paused
                      </span>
                    ) : null}
                    <span className="muted small block">{q.nodes === 1 ? "1 node runs it" : `${q.nodes} nodes run it`}</span>
                  </th>
                  <td className="num" data-count="queued">
                    <CountLink type={q.type} status="queued" n={q.counts.queued} />
                  </td>
                  <td className="num" data-count="scheduled">
                    <CountLink type={q.type} status="scheduled" n={q.counts.scheduled} />
                  </td>
                  <td data-running>
                    <Meter value={q.running} max={q.limit} label={`${formatNumber(q.running)} of ${formatNumber(q.limit)}`} />
                  </td>
                  <td className="num" data-count="succeeded">
                    <CountLink type={q.type} status="succeeded" n={q.counts.succeeded} />
                  </td>
                  <td className="num" data-count="failed">
                    <CountLink type={q.type} status="failed" n={q.counts.failed} />
                  </td>
                  <td data-throughput="minute">
                    <Throughput {...q.throughput.lastMinute} />
                  </td>
                  <td data-throughput="hour">
                    <Throughput {...q.throughput.lastHour} />
                  </td>
                  <td data-oldest>{q.oldestQueuedAgeMs === null ? <span className="muted">–</span> : formatDuration(q.oldestQueuedAgeMs)}</td>
                  <td>
                    <button
                      type="button"
                      className="btn small"
                      disabled={busy === q.type}
                      onClick={() => void act(q)}
                      aria-label={`${q.paused ? "Resume" : "Pause"} ${q.type}`}
                    >
                      {q.paused ? "Resume" : "Pause"}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}

function CountLink({ type, status, n }: { type: string; status: string; n: number }) {
  if (n === 0) return <span className="muted">0</span>;
  return (
    <Link href={`/tasks?type=${enc(type)}&status=${status}`} aria-label={`${n} ${status} ${type} tasks`}>
      {formatNumber(n)}
    </Link>
  );
}

function Throughput({ succeeded, failed }: { succeeded: number; failed: number }) {
  return (
    <span>
      {formatNumber(succeeded)} <span className="muted small">succeeded</span>
      {failed > 0 ? (
        <span className="fail-text block small">
          {formatNumber(failed)} failed
        </span>
      ) : null}
    </span>
  );
}

function Meter({ value, max, label }: { value: number; max: number; label: string }) {
  const pct = max > 0 ? Math.min(100, (value / max) * 100) : 0;
  return (
    <div className="meter" title={label}>
      <div className="bar" role="meter" aria-valuemin={0} aria-valuemax={max} aria-valuenow={value} aria-label={label}>
        <div className="fill" style={{ width: `${pct}%` }} />
      </div>
      <span className="small">{max === 0 ? `${formatNumber(value)} · no node runs it` : label}</span>
    </div>
  );
}
