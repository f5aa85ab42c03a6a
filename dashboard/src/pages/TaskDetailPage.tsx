import { useEffect, useRef, useState, type ReactNode } from "react";
import { Api, ApiError } from "../api/client";
import { FINAL_STATUSES, type Run, type Task } from "../../../src/server/contract";
import { JsonView } from "../components/JsonView";
import { LogPanel } from "../components/LogPanel";
import { ProgressBar } from "../components/ProgressBar";
import { Empty, ErrorBox, Loading } from "../components/States";
import { StatusBadge } from "../components/StatusBadge";
import { formatAge, formatDuration, formatTime } from "../lib/format";
import { Link, navigate } from "../lib/router";
import { canCancel, canDelete, canRetry } from "../lib/task-actions";
import { useAsync, useInterval, useNow } from "../lib/use-async";
import { useTaskEvents, useThrottled } from "../live/event-stream";

/** One task: state, live progress, params/result, the log per run, the runs, the chain, and actions. */
export function TaskDetailPage({ id }: { id: string }) {
  const task = useAsync((signal) => Api.task(id, signal), `task-${id}`);
  const runs = useAsync((signal) => Api.runs(id, signal), `runs-${id}`);
  const now = useNow(1000);
  const [action, setAction] = useState<{ busy: boolean; error: string | null }>({ busy: false, error: null });

  const refresh = useThrottled(() => {
    task.reload();
    runs.reload();
  }, 300);
  useTaskEvents((e) => {
    if (!e || e.taskId === id) refresh();
  });
  const t = task.data;
  // Progress is not an event: poll while it runs.
  useInterval(task.reload, 1000, t?.status === "running");
  // The runs table follows the task however its change was seen (event, poll or action).
  const runsOf = t ? `${t.status}:${t.runCount}` : null;
  const shownRunsOf = useRef(runsOf);
  const reloadRuns = runs.reload;
  useEffect(() => {
    if (runsOf === shownRunsOf.current) return;
    shownRunsOf.current = runsOf;
    reloadRuns();
  }, [runsOf, reloadRuns]);

  // A 404 wins over the data on screen: the task was deleted (here or elsewhere) while shown.
  const gone = task.error instanceof ApiError && task.error.status === 404;
  if (task.error && (!t || gone)) {
    if (gone) {
      return (
        <section>
          <h1>Task not found</h1>
          <p className="muted">
            No task <code>{id}</code>, or it is not yours, or it was deleted. <Link href="/tasks">Back to the tasks</Link>.
          </p>
        </section>
      );
    }
    return <ErrorBox error={task.error} retry={task.reload} />;
  }
  if (!t) return <Loading what="Loading the task" />;

  const final = FINAL_STATUSES.includes(t.status);
  async function act(kind: "cancel" | "retry" | "delete") {
    if (kind === "delete" && !window.confirm(`Delete task ${t!.id} with its runs and log? This cannot be undone.`)) return;
    setAction({ busy: true, error: null });
    try {
      if (kind === "cancel") await Api.cancel(id);
      else if (kind === "retry") await Api.retry(id);
      else {
        await Api.remove(id);
        navigate("/tasks");
        return;
      }
      setAction({ busy: false, error: null });
      task.reload();
      runs.reload();
    } catch (error) {
      setAction({ busy: false, error: (error as Error).message });
    }
  }

  return (
    <section aria-labelledby="task-title" className="detail">
      <p className="crumbs">
        <Link href="/tasks">Tasks</Link> / <span className="mono">{t.id}</span>
      </p>
      <div className="detail-head">
        <h1 id="task-title">{t.name ?? t.type}</h1>
        <StatusBadge status={t.status} cancelRequested={t.cancelRequested} />
        <div className="actions">
          {canCancel(t) ? (
            <button type="button" className="btn danger" disabled={action.busy} onClick={() => void act("cancel")}>
              Cancel
            </button>
          ) : null}
          {canRetry(t) ? (
            <button type="button" className="btn" disabled={action.busy} onClick={() => void act("retry")}>
              Retry
            </button>
          ) : null}
          {canDelete(t) ? (
            <button type="button" className="btn ghost" disabled={action.busy} onClick={() => void act("delete")}>
              Delete
            </button>
          ) : null}
        </div>
      </div>
      {action.error ? (
        <p className="form-error" role="alert">
          {action.error}
        </p>
      ) : null}
      {t.description ? <p className="muted">{t.description}</p> : null}

      <div className="card" data-testid="progress-card">
        <h2>Progress</h2>
        <ProgressBar progress={t.progress} active={t.status === "running"} status={t.status} />
        {t.waitReason ? <p className="warn-text">{t.waitReason}</p> : null}
      </div>

      <div className="grid-2">
        <div className="card">
          <h2>Details</h2>
          <dl className="facts">
            <Fact label="Type">{t.type}</Fact>
            <Fact label="Id">
              <span className="mono">{t.id}</span>
            </Fact>
            {t.key ? <Fact label="Key">{t.key}</Fact> : null}
            <Fact label="Owner">{t.owner ?? "–"}</Fact>
            <Fact label="Priority">{t.priority}</Fact>
            <Fact label="Attempt">
              {t.attempt} of {t.maxAttempts} <span className="muted">({t.runCount} runs, at most {t.maxRuns})</span>
            </Fact>
            <Fact label="Node">{t.node ?? "–"}</Fact>
            {t.executor ? <Fact label="Pinned to">{t.executor}</Fact> : null}
            <Fact label="Timeout">{t.timeoutMs !== null ? formatDuration(t.timeoutMs) : "none"}</Fact>
            <ChainFacts task={t} />
          </dl>
        </div>
        <div className="card">
          <h2>Times</h2>
          <dl className="facts">
            <Fact label="Created">
              <When iso={t.createdAt} now={now} />
            </Fact>
            <Fact label="Due">
              <When iso={t.runAt} now={now} />
            </Fact>
            <Fact label="Started">
              <When iso={t.startedAt} now={now} />
            </Fact>
            <Fact label="Finished">
              <When iso={t.finishedAt} now={now} />
            </Fact>
            {t.startedAt ? <Fact label="Duration">{durationText(t, runs.data?.runs ?? [], final, now)}</Fact> : null}
            {t.deadline ? (
              <Fact label="Deadline">
                <When iso={t.deadline} now={now} />
              </Fact>
            ) : null}
            {t.deleteAt ? (
              <Fact label="Deleted after">
                <When iso={t.deleteAt} now={now} />
              </Fact>
            ) : null}
          </dl>
        </div>
      </div>

      {t.error ? (
        <div className="card error-card">
          <h2>Error</h2>
          <ErrorView error={t.error} />
        </div>
      ) : null}

      <div className="grid-2">
        <div className="card">
          <h2>Params</h2>
          <JsonView value={t.params} label="Params" />
        </div>
        <div className="card">
          <h2>Result</h2>
          <JsonView value={t.result} label="Result" />
        </div>
      </div>

      <div className="card">
        <h2>Log</h2>
        <LogPanel taskId={t.id} final={final} runCount={t.runCount} />
      </div>

      <div className="card">
        <h2>Runs</h2>
        {runs.error && !runs.data ? <ErrorBox error={runs.error} retry={runs.reload} /> : null}
        {!runs.data && !runs.error ? <Loading /> : null}
        {runs.data && runs.data.runs.length === 0 ? <Empty>Not run yet.</Empty> : null}
        {runs.data && runs.data.runs.length > 0 ? <RunsTable runs={runs.data.runs} now={now} /> : null}
      </div>
    </section>
  );
}

function Fact({ label, children }: { label: string; children: ReactNode }) {
  return (
    <>
      <dt>{label}</dt>
      <dd>{children}</dd>
    </>
  );
}

function When({ iso, now }: { iso: string | null; now: number }) {
  if (!iso) return <span className="muted">–</span>;
  return (
    <time dateTime={iso}>
      {formatTime(iso)} <span className="muted">({formatAge(iso, now)})</span>
    </time>
  );
}

function ErrorView({ error }: { error: NonNullable<Task["error"]> }) {
  return (
    <div className="error-view">
      <p className="error-text">
        <strong>{error.name}</strong>
        {error.code ? ` [${error.code}]` : ""}: {error.message}
      </p>
      {error.stack ? (
        <details>
          <summary>Stack</summary>
          <pre className="stack">{error.stack}</pre>
        </details>
      ) : null}
    </div>
  );
}

/** Parent and follow-ups (the `then` / `onFailure` chain). */
function ChainFacts({ task }: { task: Task }) {
  const parent = task.parent;
  const followUps = task.followUps;
  return (
    <>
      {task.group ? <Fact label="Group">{task.group}</Fact> : null}
      {parent ? (
        <Fact label="Parent">
          <Link href={`/tasks/${encodeURIComponent(parent.id)}`} className="mono">
            {parent.id}
          </Link>{" "}
          <span className="muted">
            ({parent.type}, {parent.status})
          </span>
        </Fact>
      ) : null}
      {followUps.length > 0 ? (
        <Fact label="Follow-ups">
          <FollowUpList items={followUps} parentStatus={task.status} />
        </Fact>
      ) : null}
    </>
  );
}

/**
 * The chain as a nested list. A follow-up becomes a task (with the id shown) only once its
 * parent ended the way it waits for; until then, or if the parent ended the other way, it is
 * described, not linked. Deeper steps are linked from their own parent's page.
 */
function FollowUpList({ items, parentStatus }: { items: Task["followUps"]; parentStatus: Task["status"] | "will not run" | null }) {
  return (
    <ul className="plain chain">
      {items.map((f) => {
        const added = (f.on === "success" && parentStatus === "succeeded") || (f.on === "failure" && parentStatus === "failed");
        // Decided the other way (or below a step that will not run): so do the steps below it.
        const never = parentStatus === "will not run" || (!added && parentStatus !== null && FINAL_STATUSES.includes(parentStatus));
        const state = added ? null : never ? "will not run" : parentStatus === null ? null : f.on === "success" ? "added on success" : "added on failure";
        return (
          <li key={f.id} data-follow-up={f.id}>
            <span className="muted small">{f.on === "success" ? "then" : "on failure"}</span>{" "}
            {added ? <Link href={`/tasks/${encodeURIComponent(f.id)}`}>{f.name ?? f.type}</Link> : <strong>{f.name ?? f.type}</strong>}{" "}
            <span className="muted small">
              {f.type}
              {f.delayMs > 0 ? `, ${formatDuration(f.delayMs)} later` : ""}
              {state ? ` · ${state}` : ""}
            </span>
            {f.followUps.length > 0 ? <FollowUpList items={f.followUps} parentStatus={never ? "will not run" : null} /> : null}
          </li>
        );
      })}
    </ul>
  );
}

/**
 * From the first start (the oldest run kept) to the end, with the runs and the last run's own
 * duration beside it: a task that succeeded on its third attempt did not take 1 ms.
 */
function durationText(t: Task, runs: Run[], final: boolean, now: number): string {
  const end = t.finishedAt ? Date.parse(t.finishedAt) : final ? Date.parse(t.updatedAt) : now;
  const first = runs.length > 0 ? Math.min(...runs.map((r) => Date.parse(r.startedAt))) : Date.parse(t.startedAt!);
  const total = formatDuration(Math.max(0, end - first));
  const count = Math.max(t.runCount, runs.length);
  if (count <= 1 || runs.length === 0) return total;
  const last = runs.reduce((a, b) => (b.runNo > a.runNo ? b : a));
  const lastMs = (last.endedAt ? Date.parse(last.endedAt) : now) - Date.parse(last.startedAt);
  return `${total} since the first start · ${count} runs · last run ${formatDuration(Math.max(0, lastMs))}`;
}

function RunsTable({ runs, now }: { runs: Run[]; now: number }) {
  const sorted = [...runs].sort((a, b) => b.runNo - a.runNo);
  return (
    <div className="table-wrap">
      <table className="runs">
        <thead>
          <tr>
            <th scope="col">Run</th>
            <th scope="col">Attempt</th>
            <th scope="col">Node</th>
            <th scope="col">Started</th>
            <th scope="col">Duration</th>
            <th scope="col">Outcome</th>
          </tr>
        </thead>
        <tbody>
          {sorted.map((r) => (
            <tr key={r.runId} data-run={r.runNo}>
              <td>#{r.runNo}</td>
              <td>{r.attempt}</td>
              <td>{r.node}</td>
              <td>
                <time dateTime={r.startedAt} title={formatTime(r.startedAt)}>
                  {formatAge(r.startedAt, now)}
                </time>
              </td>
              <td>{formatDuration((r.endedAt ? Date.parse(r.endedAt) : now) - Date.parse(r.startedAt))}</td>
              <td>
                <StatusBadge status={r.outcome ?? "running"} />
                {r.error ? <ErrorView error={r.error} /> : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
