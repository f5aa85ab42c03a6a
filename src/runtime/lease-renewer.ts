import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Worker as Thread } from "node:worker_threads";
import type { LeaseState, RunRef, Store } from "../store/store.js";

/** A run to renew, and until when at most (epoch ms; null = as long as it is handed over). */
export type RenewableRun = RunRef & { renewUntil: number | null };

export interface LeaseRenewerHooks {
  /** The runs in flight right now (not yet finished). */
  current(): RenewableRun[];
  /** Renewal result for the runs asked about. */
  onRenewed(asked: RunRef[], held: LeaseState[]): void;
  onError(error: Error): void;
}

/**
 * Renews the leases of this node's runs every `heartbeatMs`, in one store call for all of them.
 * Where the store can be opened from another thread, renewal runs in a worker thread so a
 * handler that blocks the event loop cannot starve it; the main thread only hands over the
 * current set of runs. Otherwise (an in-memory database) it runs on a main-thread timer.
 */
export class LeaseRenewer {
  private timer: NodeJS.Timeout | null = null;
  private thread: Thread | null = null;
  private threadReady = false;
  private busy = false;

  constructor(
    private readonly store: Store,
    private readonly leaseMs: number,
    private readonly heartbeatMs: number,
    private readonly hooks: LeaseRenewerHooks,
  ) {}

  start(): void {
    const config = this.store.threadConfig();
    if (config) {
      try {
        this.thread = this.spawnThread(config);
      } catch (error) {
        this.hooks.onError(error as Error);
      }
    }
    // Once the thread is ready the main-thread timer only hands over the set of runs; until then
    // (or if the thread fails) it renews here, so no lease lapses while the thread starts.
    this.timer = setInterval(() => (this.mode === "thread" ? this.handOver() : void this.renewHere()), this.heartbeatMs);
  }

  /** Where renewals run now: `thread` (cannot be starved by handlers) or `main-thread`. */
  get mode(): "thread" | "main-thread" {
    return this.thread && this.threadReady ? "thread" : "main-thread";
  }

  private lastCheck = 0;

  /**
   * Renews (and so learns of cancel requests) now instead of at the next tick; at most every
   * 100 ms, whatever asks.
   */
  checkSoon(): void {
    const now = Date.now();
    if (now - this.lastCheck < 100) return;
    this.lastCheck = now;
    void this.renewHere();
  }

  /** Tells the renewer about a change in the set of runs now rather than at the next tick. */
  handOver(): void {
    this.thread?.postMessage({
      type: "set",
      refs: this.hooks.current().map(({ taskId, runNo, renewUntil }) => ({ taskId, runNo, renewUntil })),
    });
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const thread = this.thread;
    this.thread = null;
    this.threadReady = false;
    if (thread) {
      thread.postMessage({ type: "stop" });
      await new Promise<void>((resolve) => {
        const kill = setTimeout(() => void thread.terminate().then(() => resolve()), 2000);
        thread.once("exit", () => {
          clearTimeout(kill);
          resolve();
        });
      });
    }
  }

  private spawnThread(config: NonNullable<ReturnType<Store["threadConfig"]>>): Thread {
    const compiled = new URL("./lease-renewer-thread.js", import.meta.url);
    const source = new URL("./lease-renewer-thread.ts", import.meta.url);
    // Built package: plain JS. Running from TypeScript sources (tests, tsx): a bootstrap
    // registers tsx inside the thread first, then imports the TypeScript module.
    const useSource = !existsSync(fileURLToPath(compiled)) && existsSync(fileURLToPath(source));
    let entry = compiled;
    if (useSource) {
      // The ESM entry of tsx's API, per its package.json `exports` ("./esm/api" → import).
      const tsxRoot = path.dirname(createRequire(import.meta.url).resolve("tsx/package.json"));
      const tsxApi = pathToFileURL(path.join(tsxRoot, "dist/esm/api/index.mjs")).href;
      const bootstrap = `const { register } = await import(${JSON.stringify(tsxApi)}); register(); await import(${JSON.stringify(source.href)});`;
      entry = new URL(`data:text/javascript,${encodeURIComponent(bootstrap)}`);
    }
    const thread = new Thread(entry, { workerData: { config, heartbeatMs: this.heartbeatMs, leaseMs: this.leaseMs } });
    thread.unref();
    type Message = { type: "ready" } | { type: "held"; asked: RunRef[]; held: LeaseState[] } | { type: "error"; message: string };
    thread.on("message", (m: Message) => {
      if (m.type === "ready") {
        this.threadReady = true;
        this.handOver();
      } else if (m.type === "held") this.hooks.onRenewed(m.asked, m.held);
      else this.hooks.onError(new Error(`lease renewer: ${m.message}`));
    });
    thread.on("error", (error) => {
      this.hooks.onError(error);
      // Fall back to renewing on the main thread rather than losing every lease.
      this.thread = null;
      this.threadReady = false;
    });
    return thread;
  }

  private async renewHere(): Promise<void> {
    if (this.busy) return;
    const now = Date.now();
    const asked = this.hooks.current().filter((r) => r.renewUntil === null || r.renewUntil > now);
    if (asked.length === 0) return;
    this.busy = true;
    try {
      this.hooks.onRenewed(asked, await this.store.leaseRenewMany(asked, this.leaseMs));
    } catch (error) {
      this.hooks.onError(error as Error);
    } finally {
      this.busy = false;
    }
  }
}
