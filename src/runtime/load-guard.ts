import { monitorEventLoopDelay, type IntervalHistogram } from "node:perf_hooks";
import os from "node:os";

export interface OverloadOptions {
  /** Stop claiming while the mean event-loop delay of the last second exceeds this, ms. Default 1000. */
  maxEventLoopLagMs?: number;
  /** Stop claiming while the 1-minute load average per core exceeds this. Default 6. */
  maxLoadPerCore?: number;
}

/**
 * Tells whether this machine is too busy to take more work: event-loop lag (this process is
 * starved) or load average per core (the machine is). Checked before each claim; cheap.
 */
export class LoadGuard {
  private readonly histogram: IntervalHistogram;
  private readonly cores = Math.max(1, os.availableParallelism());
  private lastCheck = 0;
  private overloaded = false;

  constructor(private readonly options: Required<OverloadOptions>) {
    this.histogram = monitorEventLoopDelay({ resolution: 20 });
  }

  start(): void {
    this.histogram.enable();
  }

  stop(): void {
    this.histogram.disable();
  }

  /** Re-evaluated at most once a second. */
  isOverloaded(): boolean {
    const now = Date.now();
    if (now - this.lastCheck < 1000) return this.overloaded;
    this.lastCheck = now;
    // The histogram's floor is its resolution; subtract it so an idle loop reads ~0.
    const lagMs = Math.max(0, this.histogram.mean / 1e6 - 20);
    this.histogram.reset();
    const loadPerCore = os.loadavg()[0]! / this.cores;
    this.overloaded = lagMs > this.options.maxEventLoopLagMs || loadPerCore > this.options.maxLoadPerCore;
    return this.overloaded;
  }

}
