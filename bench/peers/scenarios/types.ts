/** What a scenario gets and what it returns: rows of figures per system, rendered as one table each. */
import type { Adapter } from "../adapters/types.js";

export interface Sizes {
  addOneByOne: number;
  addBatched: number;
  addBatchSize: number;
  drain: number;
  drainCapMs: number;
  latencyRate: number;
  latencySeconds: number;
  realistic: number;
  backlog: number;
  /** Shallower depths measured before `backlog` (the claim-cost curve). */
  backlogCurve: number[];
  backlogSample: number;
  backlogCapMs: number;
  failoverTasks: number;
  failoverCapMs: number;
  failoverModes: Array<"default" | "short">;
  heldRate: number;
  heldWarmSeconds: number;
  heldSeconds: number;
  heldRecoverySeconds: number;
}

export const FULL_SIZES: Sizes = {
  addOneByOne: 2000,
  addBatched: 20_000,
  addBatchSize: 1000,
  drain: 50_000,
  drainCapMs: 8_000,
  latencyRate: 200,
  latencySeconds: 5,
  realistic: 10_000,
  backlog: 1_000_000,
  backlogCurve: [1_000, 100_000],
  backlogSample: 20_000,
  backlogCapMs: 10_000,
  failoverTasks: 100,
  failoverCapMs: 75_000,
  failoverModes: ["default", "short"],
  heldRate: 1000,
  heldWarmSeconds: 20,
  heldSeconds: 180,
  heldRecoverySeconds: 60,
};

export const QUICK_SIZES: Sizes = {
  addOneByOne: 200,
  addBatched: 2000,
  addBatchSize: 1000,
  drain: 2000,
  drainCapMs: 4000,
  latencyRate: 200,
  latencySeconds: 1,
  realistic: 500,
  backlog: 20_000,
  backlogCurve: [1_000],
  backlogSample: 2000,
  backlogCapMs: 5000,
  failoverTasks: 20,
  failoverCapMs: 20_000,
  failoverModes: ["short"],
  heldRate: 500,
  heldWarmSeconds: 6,
  heldSeconds: 10,
  heldRecoverySeconds: 6,
};

/** One table row: a system (or a system in one setting) and its figures; null = not measured. */
export interface Row {
  system: string;
  case?: string;
  values: Record<string, number | null>;
  note?: string;
}

export interface ScenarioContext {
  sizes: Sizes;
  log(message: string): void;
}

export type ScenarioRunner = (adapter: Adapter, ctx: ScenarioContext) => Promise<Row[]>;

export interface Column {
  key: string;
  label: string;
  /** Higher is better (throughput) or lower is better (latency, time). */
  better: "higher" | "lower";
  digits?: number;
}

export interface ScenarioSpec {
  id: string;
  title: string;
  what(sizes: Sizes): string;
  columns: Column[];
  run: ScenarioRunner;
}
