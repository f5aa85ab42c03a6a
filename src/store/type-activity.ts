import type { TypeActivity } from "./store.js";

/** Finished counts of one type, as both dialects' activity query returns them. */
export interface FinishedCounts {
  type: string;
  /** Succeeded and failed in the last minute, then in the last hour. */
  sm: number;
  fm: number;
  sh: number;
  fh: number;
}

/**
 * One row per type from the activity queries' results (finished counts, oldest due queued task,
 * epoch ms), sorted by type: the part of `typeActivity` that is the same on every engine.
 */
export function typeActivityOf(finished: FinishedCounts[], oldest: Array<{ type: string; at: number }>, now: number): TypeActivity {
  const byType = new Map<string, TypeActivity["types"][number]>();
  const row = (type: string) => {
    let r = byType.get(type);
    if (!r) {
      r = { type, succeededLastMinute: 0, failedLastMinute: 0, succeededLastHour: 0, failedLastHour: 0, oldestQueuedAt: null };
      byType.set(type, r);
    }
    return r;
  };
  for (const f of finished) Object.assign(row(f.type), { succeededLastMinute: f.sm, failedLastMinute: f.fm, succeededLastHour: f.sh, failedLastHour: f.fh });
  for (const o of oldest) row(o.type).oldestQueuedAt = o.at;
  return { types: [...byType.values()].sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : 0)), now };
}
