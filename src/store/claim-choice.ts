import type { FlowAllowance } from "./flow-budget.js";
import type { ClaimType } from "./store.js";

/** A claim candidate as read from the ready set, in the dispatch policy's order. */
export interface ClaimCandidate {
  id: string;
  type: string;
  /** CPU cost, capped at the node's capacity. */
  cpu: number;
  fairKey: string;
  group: string | null;
}

export interface ClaimChoice {
  ids: string[];
  taken: Array<{ type: string; group: string | null }>;
  /** Fairness key of the last task taken (the fair policy's rotation cursor). */
  lastFairKey: string | null;
}

/**
 * Chooses what to take from candidates in policy order: per-type slots of this node, CPU fit
 * (strict: a big task at the head is not overtaken by smaller ones behind it), and the
 * cluster-wide flow allowance when there is one.
 */
export function chooseCandidates(
  candidates: Iterable<ClaimCandidate>,
  types: ClaimType[],
  limit: number,
  cpuFree: number,
  allowance: FlowAllowance | null,
): ClaimChoice {
  const slots = new Map(types.map((t) => [t.type, t.slots]));
  const choice: ClaimChoice = { ids: [], taken: [], lastFairKey: null };
  let cpuLeft = Math.max(0, cpuFree);
  for (const c of candidates) {
    const free = slots.get(c.type) ?? 0;
    if (free <= 0) continue;
    if (c.cpu > cpuLeft) break;
    if (allowance && !allowance.take(c.type, c.group)) continue;
    cpuLeft -= c.cpu;
    slots.set(c.type, free - 1);
    choice.ids.push(c.id);
    choice.taken.push({ type: c.type, group: c.group });
    choice.lastFairKey = c.fairKey;
    if (choice.ids.length === limit) break;
  }
  return choice;
}
