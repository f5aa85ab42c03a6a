import { parseDuration } from "../model/duration.js";
import type { TaskDefinition } from "../model/options.js";
import type { FlowLimits } from "../store/store.js";

const resolved = new WeakMap<TaskDefinition, FlowLimits | null>();

/** A type's cluster-wide limits in store units (durations parsed once per definition); null when it has none. */
export function flowLimitsOf(def: TaskDefinition): FlowLimits | null {
  let flow = resolved.get(def);
  if (flow === undefined) {
    flow = null;
    const c = def.concurrencyLimit;
    const r = def.rateLimit;
    if (c?.type !== undefined || c?.group !== undefined || r?.type || r?.group) {
      flow = {};
      if (c?.type !== undefined) flow.typeConcurrency = c.type;
      if (c?.group !== undefined) flow.groupConcurrency = c.group;
      if (r?.type) flow.typeRate = { limit: r.type.limit, intervalMs: parseDuration(r.type.interval, "rateLimit.type.interval") };
      if (r?.group) flow.groupRate = { limit: r.group.limit, intervalMs: parseDuration(r.group.interval, "rateLimit.group.interval") };
    }
    resolved.set(def, flow);
  }
  return flow;
}
