import type { TaskContext } from "../../model/options.js";
import type { Invocation, Settled } from "../run-executor.js";
import type { RunState } from "../run-state.js";
import { reviveError, runnerError, type ErrorData, type FromRunner } from "./protocol.js";
import type { RunnerExit, Transport } from "./spawn.js";

/** What a runner is doing for the node right now. */
interface ActiveRun {
  id: number;
  ctx: TaskContext;
  resolve(settled: Settled): void;
}

/** How often a busy child process's resident memory is checked against its limit, ms. */
const WATCH_MS = 250;

/**
 * The node's handle on one runner: starts runs in it one at a time, turns its messages into
 * progress, logs and the run's end, and turns its death into that run's failure.
 */
export class Runner {
  /** Runs this runner finished (for recycling). */
  tasksRun = 0;
  dead = false;
  /** Used heap when it became ready, and after its last run, bytes. */
  heapAtReady = 0;
  heapNow = 0;
  /** It reported ready once (a runner that dies before that could not start at all). */
  started = false;
  readonly ready: Promise<void>;
  private active: ActiveRun | null = null;
  private seq = 0;
  /** The last crash the runner announced before dying. */
  private crash: { what: string; error: ErrorData | null } | null = null;
  /** Set when the node itself ended the runner: why. */
  private killedFor: "grace" | "memory" | "close" | null = null;
  private watchdog: NodeJS.Timeout | null = null;
  private residentAtStart: number | null = null;

  constructor(
    private readonly transport: Transport,
    modules: string[],
    private readonly memoryLimitMb: number | null,
    private readonly onDeath: (runner: Runner) => void,
  ) {
    let readyResolve!: () => void;
    let readyReject!: (error: Error) => void;
    this.ready = new Promise<void>((resolve, reject) => {
      readyResolve = resolve;
      readyReject = reject;
    });
    // A runner that dies before it is ready rejects `ready`; nobody may be waiting for it yet.
    this.ready.catch(() => undefined);
    transport.onMessage((message) => {
      if (message.t === "ready") {
        this.heapAtReady = this.heapNow = message.heapBytes;
        this.residentAtStart = transport.residentBytes();
        this.started = true;
        if (!this.active) transport.hold(false);
        readyResolve();
      } else this.onMessage(message);
    });
    transport.onExit((exit) => {
      this.dead = true;
      this.stopWatchdog();
      readyReject(new Error(`the runner could not start: ${describeExit(exit, null)}`));
      const active = this.active;
      this.active = null;
      if (active && this.killedFor !== "grace") active.resolve({ ok: false, error: this.deathError(exit) });
      this.onDeath(this);
    });
    transport.hold(true);
    transport.post({ t: "init", modules });
  }

  /** How much its heap grew since it started, MB (garbage not yet collected counts too). */
  get heapGrowthMb(): number {
    return (this.heapNow - this.heapAtReady) / (1024 * 1024);
  }

  get busy(): boolean {
    return this.active !== null;
  }

  /** Starts `run` in this runner (which must be ready and idle). */
  invoke(module: string, name: string, run: RunState, ctx: TaskContext): Invocation {
    const id = ++this.seq;
    let settle!: (settled: Settled) => void;
    const settled = new Promise<Settled>((resolve) => (settle = resolve));
    this.active = {
      id,
      ctx,
      resolve: (value) => {
        if (this.active?.id === id) this.active = null;
        if (!this.dead) this.transport.hold(false);
        this.stopWatchdog();
        settle(value);
      },
    };
    const { task } = run;
    this.transport.hold(true);
    this.transport.post({
      t: "run",
      id,
      module,
      name,
      ctx: { params: ctx.params, task, attempt: ctx.attempt, runId: ctx.runId, node: ctx.node, parent: ctx.parent },
    });
    run.onAbort(() => {
      if (this.active?.id === id) this.transport.post({ t: "abort", id, kind: run.abortKind!, message: run.reason!.message });
    });
    this.startWatchdog();
    return {
      settled,
      giveUp: () => {
        if (this.active?.id !== id) return;
        this.killedFor = "grace";
        // Never handed out again, though its exit is still to come.
        this.dead = true;
        // The slot is free at once; the runner's exit is awaited by nobody.
        this.active.resolve({ ok: false, terminated: true });
        this.transport.kill();
      },
    };
  }

  /** Ends the runner (pool closing, recycling, or a run terminated). */
  kill(): void {
    if (this.dead) return;
    this.killedFor ??= "close";
    this.dead = true;
    this.transport.kill();
  }

  private onMessage(message: FromRunner): void {
    if (message.t === "crash") {
      this.crash = { what: message.what, error: message.error };
      return;
    }
    const active = this.active;
    if (!active || message.t === "ready" || message.id !== active.id) return;
    switch (message.t) {
      case "progress":
        active.ctx.progress(message.current, message.total, message.message);
        break;
      case "log":
        active.ctx.log[message.level](message.message, message.data);
        break;
      case "done":
        this.tasksRun++;
        this.heapNow = message.heapBytes;
        active.resolve(message.ok ? { ok: true, json: message.json } : { ok: false, error: reviveError(message.error) });
        break;
    }
  }

  /**
   * A child process's heap is bounded by --max-old-space-size, but Buffers and native memory
   * are not: its resident size is watched while it runs, and over the limit the runner is killed.
   */
  private startWatchdog(): void {
    if (this.memoryLimitMb === null || this.residentAtStart === null) return;
    const limit = this.residentAtStart + this.memoryLimitMb * 1024 * 1024;
    this.watchdog = setInterval(() => {
      const resident = this.transport.residentBytes();
      if (resident !== null && resident > limit) {
        this.killedFor = "memory";
        this.transport.kill();
      }
    }, WATCH_MS);
    this.watchdog.unref();
  }

  private stopWatchdog(): void {
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = null;
  }

  /** The error of a run whose runner died under it, naming what happened. */
  private deathError(exit: RunnerExit): Error {
    if (exit.outOfMemory || this.killedFor === "memory") {
      return runnerError("OutOfMemoryError", `out of memory: exceeded ${this.memoryLimitMb ?? "the runner's"} MB`);
    }
    if (this.killedFor === "close") return runnerError("RunnerStoppedError", "the runner was stopped while the run was in it");
    if (this.crash) {
      const error = this.crash.error;
      const made = runnerError("RunnerCrashError", error ? `${this.crash.what}: ${error.name}: ${error.message}` : `${this.crash.what} in the handler`);
      if (error?.stack) made.stack = error.stack;
      return made;
    }
    return runnerError("RunnerCrashError", describeExit(exit, "during the run"));
  }
}

function describeExit(exit: RunnerExit, when: string | null): string {
  const at = when ? ` ${when}` : "";
  if (exit.signal) {
    const hint = exit.signal === "SIGABRT" ? " (process.abort() or a native crash)" : exit.signal === "SIGKILL" ? " (killed from outside)" : "";
    return `the runner was killed by ${exit.signal}${at}${hint}`;
  }
  const detail = exit.detail ? `: ${exit.detail}` : "";
  return `the runner exited with code ${exit.code}${at} (process.exit(${exit.code}) in the handler?)${detail}`;
}
