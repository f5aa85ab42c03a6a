import { useCallback, useEffect, useRef, useState } from "react";

export interface AsyncState<T> {
  data: T | null;
  error: Error | null;
  loading: boolean;
  /** Loads again in the background, keeping the current data on screen. */
  reload: () => void;
}

/**
 * Runs `load` when `key` changes, and again on `reload()`. A reload keeps the previous data
 * visible (no flicker of live pages); an answer older than one already shown is dropped, so a
 * slow response never overwrites a fresh one.
 */
export function useAsync<T>(load: (signal: AbortSignal) => Promise<T>, key: string): AsyncState<T> {
  const [state, setState] = useState<{ data: T | null; error: Error | null; loading: boolean; key: string }>({
    data: null,
    error: null,
    loading: true,
    key,
  });
  const seq = useRef(0);
  const landed = useRef(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  const inFlight = useRef<AbortController | null>(null);

  const run = useCallback((fresh: boolean) => {
    const mine = ++seq.current;
    const abort = new AbortController();
    if (fresh) inFlight.current?.abort();
    inFlight.current = abort;
    if (fresh) setState((s) => ({ data: s.key === key ? s.data : null, error: null, loading: true, key }));
    loadRef.current(abort.signal).then(
      (data) => {
        // Older than an answer already shown: drop it. Newer ones are kept even when another
        // request is in flight, so a stream of reloads cannot starve the screen.
        if (mine <= landed.current) return;
        landed.current = mine;
        setState({ data, error: null, loading: false, key });
      },
      (error: Error) => {
        if (error.name === "AbortError" || mine <= landed.current) return;
        landed.current = mine;
        setState((s) => ({ ...s, error, loading: false }));
      },
    );
  }, [key]);

  useEffect(() => {
    run(true);
    return () => inFlight.current?.abort();
  }, [run]);

  const reload = useCallback(() => run(false), [run]);
  const sameKey = state.key === key;
  return { data: sameKey ? state.data : null, error: sameKey ? state.error : null, loading: !sameKey || state.loading, reload };
}

/** Calls `fn` every `ms` while `active`, and while the tab is visible (no polling a hidden tab). */
export function useInterval(fn: () => void, ms: number, active = true): void {
  const ref = useRef(fn);
  ref.current = fn;
  useEffect(() => {
    if (!active) return;
    const id = window.setInterval(() => {
      if (document.visibilityState === "visible") ref.current();
    }, ms);
    return () => window.clearInterval(id);
  }, [ms, active]);
}

/** Re-renders every `ms` so ages ("12s ago") stay true. */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(Date.now());
  useInterval(() => setNow(Date.now()), ms);
  return now;
}
