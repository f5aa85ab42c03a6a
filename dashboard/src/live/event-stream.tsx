import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { streamUrl } from "../api/client";
import type { TaskEvent } from "../../../src/server/contract";

/**
 * One `GET /api/events` stream per tab, shared by every page: a browser allows only six
 * connections per origin over HTTP/1.1, and the log tail of a detail page needs one too.
 * EventSource reconnects by itself and resumes with Last-Event-ID, so no event is lost across
 * a server restart. The stream carries state changes only (added, started, succeeded, …);
 * progress is not an event, so pages poll the rows that are running.
 */
/**
 * A task event, or null each time the stream (re)opens: it starts at "now", so a change made
 * between a page's first read and that moment is in no event; null tells the page to re-read.
 */
type Listener = (event: TaskEvent | null) => void;
export type StreamState = "connecting" | "live" | "reconnecting";

interface EventHub {
  subscribe(fn: Listener): () => void;
  state: StreamState;
}

const EventContext = createContext<EventHub | null>(null);

export function EventStreamProvider({ children }: { children: ReactNode }) {
  const listeners = useRef(new Set<Listener>());
  const [state, setState] = useState<StreamState>("connecting");
  const subscribe = useCallback((fn: Listener) => {
    listeners.current.add(fn);
    return () => {
      listeners.current.delete(fn);
    };
  }, []);

  useEffect(() => {
    const source = new EventSource(streamUrl("/api/events"));
    source.addEventListener("ready", () => {
      setState("live");
      for (const fn of listeners.current) fn(null);
    });
    source.addEventListener("task", (message) => {
      let event: TaskEvent;
      try {
        event = JSON.parse((message as MessageEvent<string>).data) as TaskEvent;
      } catch {
        return;
      }
      for (const fn of listeners.current) fn(event);
    });
    source.onerror = () => setState("reconnecting");
    source.onopen = () => setState("live");
    return () => source.close();
  }, []);

  const hub = useMemo<EventHub>(() => ({ subscribe, state }), [subscribe, state]);
  return <EventContext.Provider value={hub}>{children}</EventContext.Provider>;
}

/** Calls `fn` for every task event, and with null when the stream (re)opens; `fn` may change between renders without resubscribing. */
export function useTaskEvents(fn: Listener): void {
  const hub = useContext(EventContext);
  const ref = useRef(fn);
  ref.current = fn;
  const subscribe = hub?.subscribe;
  useEffect(() => subscribe?.((e) => ref.current(e)), [subscribe]);
}

export function useStreamState(): StreamState {
  return useContext(EventContext)?.state ?? "connecting";
}

/**
 * Calls `fn` at most once per `ms` after bursts of `poke()`: a thousand events a second must
 * not become a thousand reloads, while the first change still shows within `ms`.
 */
export function useThrottled(fn: () => void, ms: number): () => void {
  const ref = useRef(fn);
  ref.current = fn;
  const timer = useRef<number | null>(null);
  const last = useRef(0);
  useEffect(() => () => {
    if (timer.current !== null) window.clearTimeout(timer.current);
  }, []);
  const poke = useRef(() => {
    if (timer.current !== null) return;
    const wait = Math.max(0, last.current + ms - Date.now());
    timer.current = window.setTimeout(() => {
      timer.current = null;
      last.current = Date.now();
      ref.current();
    }, Math.max(wait, 50));
  });
  return poke.current;
}
