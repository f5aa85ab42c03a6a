import type { BackoffSpec } from "../model/task-row.js";

/** Delay before the attempt after `attempt` (1-based), with jitter spread ± `jitter`. */
export function backoffDelayMs(spec: BackoffSpec, attempt: number, random: () => number = Math.random): number {
  const base = spec.type === "fixed" ? spec.delayMs : spec.delayMs * 2 ** Math.max(0, attempt - 1);
  const capped = Math.min(base, spec.maxMs);
  const spread = capped * spec.jitter * (2 * random() - 1);
  return Math.max(0, Math.min(spec.maxMs, Math.round(capped + spread)));
}
