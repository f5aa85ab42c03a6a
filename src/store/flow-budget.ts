import type { ClaimType } from "./store.js";

/**
 * Cluster-wide flow control, the part every backend shares: from the running counts and recent
 * starts a store read inside its serialised claim, what each limited type and group may still
 * start now. Stores read the numbers and take the tasks; this decides.
 */

/** A key for the maps below: the whole type, or one group of it. */
function flowScope(type: string, group: string | null): string {
  return group === null ? `T\t${type}` : `G\t${type}\t${group}`;
}

/**
 * What a store read: running tasks per (type, group), and starts within the window per type
 * (`grp` null) and per group. In `flow_starts` the whole-type scope is stored as `grp = ''`
 * (group names are never empty).
 */
export interface FlowBudget {
  running: Array<{ type: string; grp: string | null; n: number }>;
  starts: Array<{ type: string; grp: string | null; n: number }>;
}

/** Which windows a claim must count: per limited type, the type's and its groups' rate windows (ms). */
export function rateWindows(types: ClaimType[]): Array<{ type: string; perGroup: boolean; windowMs: number; limit: number }> {
  const out: Array<{ type: string; perGroup: boolean; windowMs: number; limit: number }> = [];
  for (const t of types) {
    if (t.flow?.typeRate) out.push({ type: t.type, perGroup: false, windowMs: t.flow.typeRate.intervalMs, limit: t.flow.typeRate.limit });
    if (t.flow?.groupRate) out.push({ type: t.type, perGroup: true, windowMs: t.flow.groupRate.intervalMs, limit: t.flow.groupRate.limit });
  }
  return out;
}

export class FlowAllowance {
  private readonly limits = new Map<string, NonNullable<ClaimType["flow"]>>();
  private readonly runningByType = new Map<string, number>();
  private readonly runningByGroup = new Map<string, number>();
  private readonly startsByScope = new Map<string, number>();

  constructor(types: ClaimType[], budget: FlowBudget) {
    for (const t of types) if (t.flow) this.limits.set(t.type, t.flow);
    for (const r of budget.running) {
      this.runningByType.set(r.type, (this.runningByType.get(r.type) ?? 0) + r.n);
      if (r.grp !== null) this.runningByGroup.set(flowScope(r.type, r.grp), r.n);
    }
    for (const s of budget.starts) this.startsByScope.set(flowScope(s.type, s.grp), s.n);
  }

  /** (type, group) pairs that can start nothing now; a null group blocks the whole type. Lets the claim skip their queued tasks. */
  blockedPairs(): Array<[string, string | null]> {
    const out: Array<[string, string | null]> = [];
    for (const [type, flow] of this.limits) {
      const typeFull =
        (flow.typeConcurrency !== undefined && (this.runningByType.get(type) ?? 0) >= flow.typeConcurrency) ||
        (flow.typeRate !== undefined && (this.startsByScope.get(flowScope(type, null)) ?? 0) >= flow.typeRate.limit);
      if (typeFull) {
        out.push([type, null]);
        continue;
      }
      const prefix = flowScope(type, "");
      if (flow.groupConcurrency !== undefined) {
        for (const [scope, n] of this.runningByGroup) {
          if (scope.startsWith(prefix) && n >= flow.groupConcurrency) out.push([type, scope.slice(prefix.length)]);
        }
      }
      if (flow.groupRate !== undefined) {
        for (const [scope, n] of this.startsByScope) {
          if (scope.startsWith(prefix) && n >= flow.groupRate.limit) out.push([type, scope.slice(prefix.length)]);
        }
      }
    }
    return out;
  }

  /** True (and counted) if a task of this type and group may start now. */
  take(type: string, group: string | null): boolean {
    const flow = this.limits.get(type);
    if (!flow) return true;
    const typeScope = flowScope(type, null);
    const groupScope = group === null ? null : flowScope(type, group);
    const running = this.runningByType.get(type) ?? 0;
    if (flow.typeConcurrency !== undefined && running >= flow.typeConcurrency) return false;
    if (flow.typeRate !== undefined && (this.startsByScope.get(typeScope) ?? 0) >= flow.typeRate.limit) return false;
    if (groupScope !== null) {
      if (flow.groupConcurrency !== undefined && (this.runningByGroup.get(groupScope) ?? 0) >= flow.groupConcurrency) return false;
      if (flow.groupRate !== undefined && (this.startsByScope.get(groupScope) ?? 0) >= flow.groupRate.limit) return false;
    }
    this.runningByType.set(type, running + 1);
    if (groupScope !== null) this.runningByGroup.set(groupScope, (this.runningByGroup.get(groupScope) ?? 0) + 1);
    if (flow.typeRate !== undefined) this.startsByScope.set(typeScope, (this.startsByScope.get(typeScope) ?? 0) + 1);
    if (groupScope !== null && flow.groupRate !== undefined) this.startsByScope.set(groupScope, (this.startsByScope.get(groupScope) ?? 0) + 1);
    return true;
  }

  /** The `flow_starts` rows of tasks just taken: [type, grp ('' = the whole type), expiresAt] for every rate limit that counts them. */
  startRows(taken: Array<{ type: string; group: string | null }>, now: number): Array<[string, string, number]> {
    const rows: Array<[string, string, number]> = [];
    for (const { type, group } of taken) {
      const flow = this.limits.get(type);
      if (!flow) continue;
      if (flow.typeRate) rows.push([type, "", now + flow.typeRate.intervalMs]);
      if (flow.groupRate && group !== null) rows.push([type, group, now + flow.groupRate.intervalMs]);
    }
    return rows;
  }
}
