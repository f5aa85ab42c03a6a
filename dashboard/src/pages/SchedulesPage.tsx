import { useState } from "react";
import { Api } from "../api/client";
import type { Schedule } from "../../../src/server/contract";
import { Empty, ErrorBox, Loading } from "../components/States";
import { StatusBadge } from "../components/StatusBadge";
import { describeCron } from "../lib/cron-words";
import { formatAge, formatDuration, formatTime } from "../lib/format";
import { Link, navigate } from "../lib/router";
import { useAsync, useInterval, useNow } from "../lib/use-async";
import { useTaskEvents, useThrottled } from "../live/event-stream";

/** Cron schedules (admin): when they fire, in words and as written, their last result, and control. */
export function SchedulesPage() {
  const schedules = useAsync((signal) => Api.schedules(signal), "schedules");
  const now = useNow(1000);
  const [message, setMessage] = useState<{ text: string; error: boolean } | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  // A tick adds a task (an event); the next fire times move on with the clock.
  const refresh = useThrottled(schedules.reload, 1000);
  useTaskEvents(refresh);
  useInterval(schedules.reload, 10_000);

  async function act(s: Schedule, kind: "pause" | "resume" | "trigger" | "delete") {
    if (kind === "delete" && !window.confirm(`Delete schedule ${s.name}? Tasks it already added stay.`)) return;
    setBusy(s.name);
    setMessage(null);
    try {
      if (kind === "pause") await Api.pauseSchedule(s.name);
      else if (kind === "resume") await Api.resumeSchedule(s.name);
      else if (kind === "delete") await Api.deleteSchedule(s.name);
      else {
        const task = await Api.triggerSchedule(s.name);
        setMessage({ text: `Triggered ${s.name}: task ${task.id}`, error: false });
        navigate(`/tasks/${encodeURIComponent(task.id)}`);
        return;
      }
      schedules.reload();
    } catch (error) {
      setMessage({ text: `${s.name}: ${(error as Error).message}`, error: true });
    } finally {
      setBusy(null);
    }
  }

  const list = [...(schedules.data?.schedules ?? [])].sort((a, b) => a.name.localeCompare(b.name));
  return (
    <section aria-labelledby="schedules-title">
      <h1 id="schedules-title">Schedules</h1>
      {message ? (
        <p className={message.error ? "form-error" : "notice"} role={message.error ? "alert" : "status"}>
          {message.text}
        </p>
      ) : null}
      {schedules.error && !schedules.data ? <ErrorBox error={schedules.error} retry={schedules.reload} /> : null}
      {!schedules.data && !schedules.error ? <Loading what="Loading schedules" /> : null}
      {schedules.data && list.length === 0 ? (
        <Empty>
          No schedules. Add one with <code>tasklane schedule add NAME "CRON" TYPE</code>.
        </Empty>
      ) : null}
      {list.length > 0 ? (
        <div className="table-wrap">
          <table className="schedules" data-testid="schedules-table">
            <thead>
              <tr>
                <th scope="col">Schedule</th>
                <th scope="col">When</th>
                <th scope="col">Next</th>
                <th scope="col">Last</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {list.map((s) => {
                const words = describeCron(s.cron);
                return (
                  <tr key={s.name} data-schedule={s.name} className={s.paused ? "paused" : undefined}>
                    <td>
                      <strong>{s.name}</strong>
                      {s.paused ? <span className="role">paused</span> : null}
                      <span className="muted small block">
                        adds <span className="mono">{s.type}</span>
                        {s.params !== null && s.params !== undefined ? ` ${JSON.stringify(s.params)}` : ""}
                      </span>
                      <span className="muted small block">
                        missed ticks: {s.missed.policy === "skip" ? "skipped" : `caught up within ${formatDuration(s.missed.windowMs)}`}
                      </span>
                    </td>
                    <td>
                      {words ? <span>{words}</span> : null}
                      <code className="block">{s.cron}</code>
                      <span className="muted small block">{s.tz}</span>
                    </td>
                    <td>
                      {s.paused ? (
                        <span className="muted">paused</span>
                      ) : (
                        <ol className="plain small">
                          {s.nextFires.map((f) => (
                            <li key={f}>
                              <time dateTime={f} title={`${formatTime(f)} your time`}>
                                {formatInZone(f, s.tz)} <span className="muted">({formatAge(f, now)})</span>
                              </time>
                            </li>
                          ))}
                        </ol>
                      )}
                    </td>
                    <td>
                      {s.lastTickAt ? <span className="block">tick {formatAge(s.lastTickAt, now)}</span> : null}
                      {s.lastTaskId ? (
                        <Link href={`/tasks/${encodeURIComponent(s.lastTaskId)}`} aria-label={`Last task: ${s.lastTaskStatus ?? "deleted"}`}>
                          <StatusBadge status={s.lastTaskStatus ?? "deleted"} />
                        </Link>
                      ) : (
                        <span className="muted">never</span>
                      )}
                    </td>
                    <td>
                      <div className="row-actions">
                      <button type="button" className="btn small" disabled={busy === s.name} onClick={() => void act(s, s.paused ? "resume" : "pause")}>
                        {s.paused ? "Resume" : "Pause"}
                      </button>
                      <button type="button" className="btn small" disabled={busy === s.name} onClick={() => void act(s, "trigger")}>
                        Trigger now
                      </button>
                      <button type="button" className="btn small ghost" disabled={busy === s.name} onClick={() => void act(s, "delete")}>
                        Delete
                      </button>
                      </div>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}

/** One formatter per zone: the page re-renders every second with three fire times per schedule. */
const zoneFormats = new Map<string, Intl.DateTimeFormat>();

/** A fire time in the schedule's own zone, where its cron is read ("daily at 02:30" fires at 02:30 there). */
function formatInZone(iso: string, tz: string): string {
  try {
    let format = zoneFormats.get(tz);
    if (!format) {
      format = new Intl.DateTimeFormat(undefined, { timeZone: tz, weekday: "short", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
      zoneFormats.set(tz, format);
    }
    return format.format(new Date(iso));
  } catch {
    return formatTime(iso);
  }
}
