import { useEffect, useMemo, useRef, useState, type FormEvent } from "react";
import { Api } from "../api/client";
import { TASK_STATUSES, type Me, type Task } from "../../../src/server/contract";
import { ProgressBar } from "../components/ProgressBar";
import { Empty, ErrorBox, Loading } from "../components/States";
import { StatusBadge } from "../components/StatusBadge";
import { formatAge, formatDuration, formatNumber } from "../lib/format";
import { Link, navigate, useLocation } from "../lib/router";
import { canCancel, canRetry, runBulk, type BulkAction } from "../lib/task-actions";
import { useAsync, useInterval, useNow } from "../lib/use-async";
import { PHONE_QUERY, useMedia } from "../lib/use-media";
import { useTaskEvents, useThrottled } from "../live/event-stream";

const PAGE_SIZE = 50;
/** URL query keys of the list; the URL is the whole view state, so a view can be shared. */
const FILTER_KEYS = ["status", "type", "owner", "key", "q", "from", "to"] as const;

/** The API query for the URL query: same names except the time range. */
function apiQuery(query: URLSearchParams): URLSearchParams {
  const q = new URLSearchParams({ limit: String(PAGE_SIZE) });
  for (const k of ["status", "type", "owner", "key", "q", "cursor"]) {
    const v = query.get(k);
    if (v) q.set(k, v);
  }
  if (query.get("from")) q.set("createdFrom", query.get("from")!);
  if (query.get("to")) q.set("createdTo", query.get("to")!);
  return q;
}

function withParams(query: URLSearchParams, changes: Record<string, string | null>): string {
  const next = new URLSearchParams(query);
  for (const [k, v] of Object.entries(changes)) {
    if (v) next.set(k, v);
    else next.delete(k);
  }
  const s = next.toString();
  return s ? `/tasks?${s}` : "/tasks";
}

/** The tasks table: status tabs, filters, newest first, keyset pages, live rows, bulk cancel/retry. */
export function TasksPage({ me }: { me: Me }) {
  const { query } = useLocation();
  const admin = me.role === "admin";
  const apiQ = apiQuery(query);
  const key = apiQ.toString();
  const page = useAsync((signal) => Api.listTasks(apiQ, signal), key);
  // Counts per status for the tabs and the known types for the type filter (the caller's own
  // tasks only, for users), refreshed less often than the rows, and asked for only once the
  // first rows are in: on a large database the rows come first.
  const listShown = useRef(false);
  if (page.data) listShown.current = true;
  const stats = useAsync((signal) => (listShown.current ? Api.stats(signal) : Promise.resolve(null)), `stats-${listShown.current}`);
  const refreshStats = useThrottled(stats.reload, 2000);
  useInterval(stats.reload, 10_000);
  const now = useNow(1000);
  const status = query.get("status");
  const cursor = query.get("cursor");
  // Cursors of the pages before this one, to go back; a shared link starts without them.
  const [history, setHistory] = useState<string[]>([]);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [bulk, setBulk] = useState<{ busy: boolean; message: string | null }>({ busy: false, message: null });
  const phone = useMedia(PHONE_QUERY);
  const activeFilters = FILTER_KEYS.filter((k) => k !== "status" && query.get(k)).length;
  const filters = <Filters query={query} admin={admin} types={Object.keys(stats.data?.byType ?? {}).sort()} onApply={() => setHistory([])} />;

  // A selection belongs to the rows it was made on: a new page or filter starts empty.
  useEffect(() => setSelected(new Set()), [key]);
  const rows = page.data?.tasks ?? [];
  const ids = useMemo(() => new Set(rows.map((t) => t.id)), [rows]);
  const refresh = useThrottled(page.reload, 500);
  useTaskEvents((e) => {
    // A change to a row on screen, or a new task while the newest page is shown.
    if (!e || ids.has(e.taskId) || (e.kind === "added" && !cursor)) refresh();
    refreshStats();
  });
  // Progress is not an event: while rows run, re-read the page each second.
  useInterval(page.reload, 1000, rows.some((t) => t.status === "running"));

  const selectedRows = rows.filter((t) => selected.has(t.id));
  const toggle = (id: string) =>
    setSelected((s) => {
      const next = new Set(s);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  const allOnPage = rows.length > 0 && rows.every((t) => selected.has(t.id));
  // The error column where it says something: the failed tab, or a page with failed tasks on it.
  const showErrors = rows.some((t) => t.status === "failed" && t.error);

  async function doBulk(action: BulkAction) {
    const targets = selectedRows.filter(action === "cancel" ? canCancel : canRetry).map((t) => t.id);
    if (targets.length === 0) {
      setBulk({ busy: false, message: `None of the selected tasks can be ${action === "cancel" ? "cancelled" : "retried"}.` });
      return;
    }
    setBulk({ busy: true, message: null });
    const { done, failed } = await runBulk(action, targets);
    const verb = action === "cancel" ? "cancelled" : "retried";
    const skipped = selectedRows.length - targets.length;
    setBulk({
      busy: false,
      message: `${done} ${verb}${skipped ? `, ${skipped} skipped (not ${action === "cancel" ? "cancellable" : "retryable"})` : ""}${
        failed.length ? `, ${failed.length} refused: ${failed[0]!.message}` : ""
      }.`,
    });
    setSelected(new Set());
    page.reload();
  }

  function goOlder() {
    if (!page.data?.nextCursor) return;
    setHistory((h) => [...h, cursor ?? ""]);
    navigate(withParams(query, { cursor: page.data.nextCursor }));
  }
  function goNewer() {
    const prev = history[history.length - 1];
    setHistory((h) => h.slice(0, -1));
    navigate(withParams(query, { cursor: prev || null }));
  }

  return (
    <section aria-labelledby="tasks-title">
      <h1 id="tasks-title">Tasks</h1>
      <nav className="tabs" aria-label="Status">
        <Link href={withParams(query, { status: null, cursor: null })} aria-current={!status ? "page" : undefined} onClick={() => setHistory([])}>
          all <TabCount n={stats.data?.total} />
        </Link>
        {TASK_STATUSES.map((s) => (
          <Link key={s} href={withParams(query, { status: s, cursor: null })} aria-current={status === s ? "page" : undefined} onClick={() => setHistory([])}>
            {s} <TabCount n={stats.data?.byStatus[s]} />
          </Link>
        ))}
      </nav>
      {phone ? (
        // On a phone the filters would fill the first screen: folded, saying how many apply.
        <details className="filters-fold" data-testid="filters-fold">
          <summary>Filters{activeFilters > 0 ? ` (${activeFilters} active)` : ""}</summary>
          {filters}
        </details>
      ) : (
        filters
      )}

      <div className="bulkbar" aria-live="polite">
        <span>{selected.size > 0 ? `${selected.size} selected` : "Select tasks to cancel or retry them together."}</span>
        <button type="button" className="btn small" disabled={selected.size === 0 || bulk.busy} onClick={() => void doBulk("cancel")}>
          Cancel selected
        </button>
        <button type="button" className="btn small" disabled={selected.size === 0 || bulk.busy} onClick={() => void doBulk("retry")}>
          Retry selected
        </button>
        {bulk.message ? <span className="bulk-message" role="status">{bulk.message}</span> : null}
      </div>

      {page.error && !page.data ? <ErrorBox error={page.error} retry={page.reload} /> : null}
      {!page.data && !page.error ? <Loading what="Loading tasks" /> : null}
      {page.data && rows.length === 0 ? (
        <Empty>
          {[...FILTER_KEYS].some((k) => query.get(k)) ? "No task matches these filters." : "No tasks yet. Add one with tasklane add TYPE or POST /api/tasks."}
        </Empty>
      ) : null}
      {rows.length > 0 ? (
        <div className="table-wrap">
          <table className="tasks" data-testid="tasks-table">
            <thead>
              <tr>
                <th scope="col" className="check">
                  <input
                    type="checkbox"
                    aria-label="Select all tasks on this page"
                    checked={allOnPage}
                    onChange={() => setSelected(allOnPage ? new Set() : new Set(rows.map((t) => t.id)))}
                  />
                </th>
                <th scope="col">Task</th>
                <th scope="col">Status</th>
                <th scope="col" className="col-progress">Progress</th>
                {admin ? <th scope="col" className="col-owner">Owner</th> : null}
                <th scope="col" className="col-attempt">Attempt</th>
                <th scope="col">Created</th>
                <th scope="col" className="col-duration">Duration</th>
                {showErrors ? <th scope="col" className="col-error">Error</th> : null}
              </tr>
            </thead>
            <tbody>
              {rows.map((t) => (
                <TaskRowView key={t.id} task={t} admin={admin} now={now} checked={selected.has(t.id)} onToggle={() => toggle(t.id)} showError={showErrors} />
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <div className="pager">
        <button type="button" className="btn small" disabled={!cursor} onClick={goNewer}>
          ← Newer
        </button>
        {cursor && history.length === 0 ? (
          <Link className="btn small ghost" href={withParams(query, { cursor: null })}>
            First page
          </Link>
        ) : null}
        <button type="button" className="btn small" disabled={!page.data?.nextCursor} onClick={goOlder}>
          Older →
        </button>
      </div>
    </section>
  );
}

/** The first line of an error message, for a table cell (the whole message is its tooltip and on the task page). */
function firstLine(message: string): string {
  const line = message.split("\n", 1)[0] ?? "";
  return line.length > 160 ? `${line.slice(0, 159)}…` : line;
}

/** The number of tasks in a tab (all owners for admins, one's own for users); nothing until known. */
function TabCount({ n }: { n: number | undefined }) {
  if (n === undefined) return null;
  return <span className="tab-count">{formatNumber(n)}</span>;
}

function TaskRowView({
  task: t,
  admin,
  now,
  checked,
  onToggle,
  showError,
}: {
  task: Task;
  admin: boolean;
  now: number;
  checked: boolean;
  onToggle: () => void;
  showError: boolean;
}) {
  const href = `/tasks/${encodeURIComponent(t.id)}`;
  const end = t.finishedAt ? Date.parse(t.finishedAt) : t.status === "running" ? now : null;
  return (
    <tr data-task-id={t.id} data-status={t.status} className={checked ? "selected" : undefined}>
      <td className="check">
        <input type="checkbox" aria-label={`Select task ${t.id}`} checked={checked} onChange={onToggle} />
      </td>
      <td className="task-cell">
        <Link href={href} className="task-link">
          {t.name ?? t.type}
        </Link>
        <span className="mono muted small">
          {t.id}
          {t.key ? ` · key ${t.key}` : ""}
          {t.name ? ` · ${t.type}` : ""}
        </span>
      </td>
      <td className="col-status">
        <StatusBadge status={t.status} cancelRequested={t.cancelRequested} />
        {t.waitReason ? <span className="muted small block">{t.waitReason}</span> : null}
      </td>
      <td className="col-progress">
        {t.status === "running" || t.progress ? <ProgressBar progress={t.progress} compact status={t.status} /> : <span className="muted">–</span>}
      </td>
      {admin ? <td className="col-owner">{t.owner ?? "–"}</td> : null}
      <td className="col-attempt">
        {t.attempt}/{t.maxAttempts}
      </td>
      <td className="col-created">
        <time dateTime={t.createdAt} title={new Date(t.createdAt).toLocaleString()}>
          {formatAge(t.createdAt, now)}
        </time>
      </td>
      <td className="col-duration">{t.startedAt && end !== null ? formatDuration(end - Date.parse(t.startedAt)) : "–"}</td>
      {showError ? (
        <td className="col-error" data-error>
          {t.error ? (
            <span title={t.error.message}>
              <span className="mono small">{t.error.name}</span> {firstLine(t.error.message)}
            </span>
          ) : (
            <span className="muted">–</span>
          )}
        </td>
      ) : null}
    </tr>
  );
}

/** Filters by type, owner (admins), key, text and creation time; applied on submit so typing does not reload per key. */
function Filters({ query, admin, types, onApply }: { query: URLSearchParams; admin: boolean; types: string[]; onApply: () => void }) {
  const formRef = useRef<HTMLFormElement>(null);
  const toLocal = (iso: string | null) => {
    if (!iso) return "";
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return "";
    return new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
  };
  function apply(event: FormEvent) {
    event.preventDefault();
    const form = new FormData(formRef.current!);
    const get = (k: string) => String(form.get(k) ?? "").trim() || null;
    const iso = (k: string) => {
      const v = get(k);
      return v ? new Date(v).toISOString() : null;
    };
    onApply();
    navigate(withParams(query, { type: get("type"), owner: admin ? get("owner") : null, key: get("key"), q: get("q"), from: iso("from"), to: iso("to"), cursor: null }));
  }
  function clear() {
    onApply();
    formRef.current?.reset();
    navigate(query.get("status") ? `/tasks?status=${query.get("status")}` : "/tasks");
  }
  // Keyed by the URL so the inputs show the URL's values after back/forward.
  return (
    <form ref={formRef} className="filters" onSubmit={apply} key={query.toString()} role="search" aria-label="Filter tasks">
      <label>
        <span>Search</span>
        <input name="q" type="search" defaultValue={query.get("q") ?? ""} placeholder="id, key or name" />
      </label>
      <label>
        <span>Type</span>
        <input name="type" defaultValue={query.get("type") ?? ""} placeholder="any type" list="task-types" autoComplete="off" />
        <datalist id="task-types">
          {types.map((t) => (
            <option key={t} value={t} />
          ))}
        </datalist>
      </label>
      {admin ? (
        <label>
          <span>Owner</span>
          <input name="owner" defaultValue={query.get("owner") ?? ""} placeholder="user name" />
        </label>
      ) : null}
      <label>
        <span>Key</span>
        <input name="key" defaultValue={query.get("key") ?? ""} />
      </label>
      <label>
        <span>Created from</span>
        <input name="from" type="datetime-local" defaultValue={toLocal(query.get("from"))} />
      </label>
      <label>
        <span>Created to</span>
        <input name="to" type="datetime-local" defaultValue={toLocal(query.get("to"))} />
      </label>
      <div className="filter-buttons">
        <button type="submit" className="btn small primary">
          Apply
        </button>
        <button type="button" className="btn small ghost" onClick={clear}>
          Clear
        </button>
      </div>
    </form>
  );
}
