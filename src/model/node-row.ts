/** Statuses of a node: `online` (heartbeating, claiming), `draining` (stopping), `offline` (stopped or silent). */
export const NODE_STATUSES = ["online", "draining", "offline"] as const;
export type NodeStatus = (typeof NODE_STATUSES)[number];

/** One Tasklane process, as its heartbeats describe it. */
export interface NodeRow {
  name: string;
  host: string;
  pid: number;
  version: string;
  startedAt: Date;
  heartbeatAt: Date;
  status: NodeStatus;
  /** Task types this node has handlers for. */
  types: string[];
  /** Most tasks at once. */
  concurrency: number;
  /** Tasks running now. */
  running: number;
  /** CPU capacity, 100 = one core, and the CPU cost of its running tasks. */
  cpuCapacity: number;
  cpuUsed: number;
  /** 1-minute load average per core, and resident memory in bytes. */
  loadPerCore: number;
  memoryBytes: number;
  /** Its isolation runners (threads or processes, see `isolation`); null while it has none. */
  runners: NodeRunners | null;
}

/** A node's isolation runners: started, running a task now, recycled after their runs, replaced after a crash or kill. */
export interface NodeRunners {
  size: number;
  busy: number;
  recycled: number;
  replaced: number;
}

/** What a node reports with each heartbeat. */
export type NodeHeartbeat = Omit<NodeRow, "heartbeatAt">;
