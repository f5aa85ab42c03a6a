import { PACKAGE_VERSION } from "../model/version.js";
import os from "node:os";
import type { EventBus } from "../client/events.js";
import type { NodeHeartbeat, NodeRunners, NodeStatus } from "../model/node-row.js";
import type { Store } from "../store/store.js";

export interface NodeState {
  types: string[];
  concurrency: number;
  running: number;
  cpuCapacity: number;
  cpuUsed: number;
  accepting: boolean;
  runners: NodeRunners | null;
}

/**
 * Keeps this node's row in the `nodes` table fresh (every `intervalMs`) and, like every node,
 * marks nodes whose heartbeat is older than `staleMs` offline. Membership is for people and
 * placement hints; failover itself rests on run leases, which the lease renewer keeps.
 */
export class NodeReporter {
  private timer: NodeJS.Timeout | null = null;
  private readonly startedAt = new Date();
  private readonly cores = Math.max(1, os.availableParallelism());
  private busy = false;

  constructor(
    private readonly store: Store,
    private readonly bus: EventBus,
    private readonly name: string,
    private readonly state: () => NodeState,
    private readonly intervalMs: number,
    private readonly staleMs: number,
  ) {}

  async start(): Promise<void> {
    await this.beat("online");
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
  }

  /** Reports `draining` at once (the node is stopping). */
  async draining(): Promise<void> {
    await this.beat("draining").catch(() => undefined);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.beat("offline").catch((error: Error) => this.bus.emit("error", { error, where: "node heartbeat" }));
  }

  private ticks = 0;

  private async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      await this.beat(this.state().accepting ? "online" : "draining");
      // Marking silent nodes offline is a cluster chore: a few times per stale period is enough
      // (each statement is a transaction on every node); pruning week-old rows, once a minute.
      this.ticks++;
      if (this.ticks % Math.max(1, Math.floor(this.staleMs / this.intervalMs / 3)) === 0) {
        for (const node of await this.store.nodeMarkStale(this.staleMs)) this.bus.emit("node:offline", { node });
      }
      if (this.ticks % Math.max(1, Math.round(60_000 / this.intervalMs)) === 0) await this.store.nodePrune(7 * 86_400_000);
    } catch (error) {
      this.bus.emit("error", { error: error as Error, where: "node heartbeat" });
    } finally {
      this.busy = false;
    }
  }

  private snapshot(status: NodeStatus): NodeHeartbeat {
    const s = this.state();
    return {
      name: this.name,
      host: os.hostname(),
      pid: process.pid,
      version: PACKAGE_VERSION,
      startedAt: this.startedAt,
      status,
      types: s.types,
      concurrency: s.concurrency,
      running: s.running,
      cpuCapacity: s.cpuCapacity,
      cpuUsed: s.cpuUsed,
      loadPerCore: os.loadavg()[0]! / this.cores,
      memoryBytes: process.memoryUsage().rss,
      runners: s.runners,
    };
  }

  private beat(status: NodeStatus): Promise<void> {
    return this.store.nodeHeartbeat(this.snapshot(status));
  }
}
