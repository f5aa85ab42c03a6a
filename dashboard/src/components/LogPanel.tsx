import { useEffect, useLayoutEffect, useRef, useState } from "react";
import { streamUrl } from "../api/client";
import type { LogLine } from "../../../src/server/contract";

/** Lines kept on screen; a task logging without end must not grow the page without bound. */
const MAX_LINES = 5000;

/**
 * The log of a task, per run, with a live tail: `GET /api/tasks/:id/logs?follow=1` sends the
 * lines so far, then each new one, then `end` when the task finishes. EventSource would
 * reconnect after `end`, so the stream is closed there, and reopened after the last line seen
 * when the task runs again (a retry).
 */
export function LogPanel({ taskId, final, runCount }: { taskId: string; final: boolean; runCount: number }) {
  const [lines, setLines] = useState<LogLine[]>([]);
  const [state, setState] = useState<"loading" | "live" | "ended" | "error">("loading");
  const [run, setRun] = useState<number | "all">("all");
  const [showDebug, setShowDebug] = useState(true);
  const [epoch, setEpoch] = useState(0);
  const lastId = useRef(0);
  /** The task's run count when the stream ended: a higher one means a run started since. */
  const runsAtEnd = useRef(0);
  const runCountRef = useRef(runCount);
  runCountRef.current = runCount;
  const box = useRef<HTMLDivElement>(null);
  const stick = useRef(true);

  useEffect(() => {
    setLines([]);
    lastId.current = 0;
    setState("loading");
    setEpoch((e) => e + 1);
  }, [taskId]);

  useEffect(() => {
    if (epoch === 0) return;
    const params: Record<string, string> = { follow: "1" };
    if (lastId.current > 0) params.after = String(lastId.current);
    const source = new EventSource(streamUrl(`/api/tasks/${encodeURIComponent(taskId)}/logs`, params));
    // Lines arrive in bursts (the backlog first): batch them into one render per frame.
    let pending: LogLine[] = [];
    let frame = 0;
    const flush = () => {
      frame = 0;
      const batch = pending;
      pending = [];
      setLines((old) => {
        const next = old.concat(batch);
        return next.length > MAX_LINES ? next.slice(next.length - MAX_LINES) : next;
      });
    };
    source.onopen = () => setState("live");
    source.addEventListener("log", (message) => {
      const line = JSON.parse((message as MessageEvent<string>).data) as LogLine;
      if (line.id <= lastId.current) return;
      lastId.current = line.id;
      pending.push(line);
      if (!frame) frame = requestAnimationFrame(flush);
    });
    source.addEventListener("end", () => {
      source.close();
      runsAtEnd.current = runCountRef.current;
      if (frame) cancelAnimationFrame(frame);
      flush();
      setState("ended");
    });
    source.onerror = () => {
      // CLOSED: refused (the task was deleted, or the token revoked); otherwise it reconnects by itself.
      if (source.readyState === EventSource.CLOSED) setState("error");
    };
    return () => {
      source.close();
      if (frame) cancelAnimationFrame(frame);
    };
  }, [taskId, epoch]);

  // Retried after it ended: follow the new run. A quick run may start and end between two
  // looks at the task, so a higher run count counts as well as a status that is not final.
  useEffect(() => {
    if (state === "ended" && (!final || runCount > runsAtEnd.current)) {
      setState("loading");
      setEpoch((e) => e + 1);
    }
  }, [final, runCount, state]);

  // Keep the tail in view unless the reader scrolled up.
  useLayoutEffect(() => {
    const el = box.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [lines, run, showDebug]);

  const runs = [...new Set(lines.map((l) => l.runNo))].sort((a, b) => a - b);
  const shown = lines.filter((l) => (run === "all" || l.runNo === run) && (showDebug || l.level !== "debug"));
  return (
    <div className="logs">
      <div className="log-toolbar">
        <div className="segmented" role="group" aria-label="Run">
          <button type="button" aria-pressed={run === "all"} onClick={() => setRun("all")}>
            All runs
          </button>
          {runs.map((r) => (
            <button key={r} type="button" aria-pressed={run === r} onClick={() => setRun(r)}>
              Run {r}
            </button>
          ))}
        </div>
        <label className="inline">
          <input type="checkbox" checked={showDebug} onChange={(e) => setShowDebug(e.target.checked)} /> debug
        </label>
        <span className={`tail-state ${state}`} data-testid="log-state">
          {state === "live" ? "● live" : state === "ended" ? "complete" : state === "error" ? "stream closed" : "connecting…"}
        </span>
      </div>
      <div
        className="log-box"
        ref={box}
        tabIndex={0}
        role="log"
        aria-label="Task log"
        aria-live="off"
        data-testid="log-box"
        onScroll={(e) => {
          const el = e.currentTarget;
          stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
        }}
      >
        {shown.length === 0 ? <div className="muted log-empty">{state === "loading" ? "Loading the log…" : "No log lines yet."}</div> : null}
        {shown.map((l, i) => (
          <div key={l.id}>
            {run === "all" && (i === 0 || shown[i - 1]!.runNo !== l.runNo) ? <div className="run-sep">run {l.runNo}</div> : null}
            <div className={`log-line level-${l.level}`} data-testid="log-line">
              <time dateTime={l.at}>{l.at.slice(11, 23)}</time>
              <span className="level">{l.level}</span>
              <span className="msg">{l.message}</span>
              {l.data !== null && l.data !== undefined ? <span className="data">{JSON.stringify(l.data)}</span> : null}
            </div>
          </div>
        ))}
      </div>
    </div>
  );
}
