import os from "node:os";
import type { EventBus } from "../client/events.js";
import type { NodeRunners } from "../model/node-row.js";
import { ISOLATION_MODES, MAX_KILL_AFTER_MS, type Isolation, type TaskDefinition } from "../model/options.js";
import { IsolationPools, type IsolationStats } from "./isolation/isolated-invoker.js";
import { containHandlerCrashes, scopedInlineInvoker } from "./crash-scope.js";
import { runIdOf, type TaskRow } from "../model/task-row.js";
import type { ClaimRequest, ClaimType, DispatchPolicy, RunFinish, Store } from "../store/store.js";
import { ValidationError } from "../model/errors.js";
import { flowLimitsOf } from "./flow-limits.js";
import { Completer } from "./completer.js";
import { LoadGuard, type OverloadOptions } from "./load-guard.js";
import { Maintenance } from "./maintenance.js";
import { RunFlusher } from "./run-flusher.js";
import { executeRun, inlineInvoker, stoppedFinish, type ExecutorSettings } from "./run-executor.js";
import { DEFAULT_MAX_RESULT_BYTES, MAX_RESULT_LIMIT, MIN_RESULT_LIMIT } from "./bounds.js";
import { FetchAheadBuffer } from "./fetch-ahead.js";
import { RunState } from "./run-state.js";
import { announceFinish } from "./announce.js";
import { LeaseRenewer } from "./lease-renewer.js";
import { NodeReporter } from "./node-reporter.js";
import type { LeaseState, RunRef } from "../store/store.js";

/** Settings of the worker on one node. Units in the names; defaults in brackets. */
export interface WorkerOptions {
  /** Most tasks running at once on this node [10]. */
  concurrency?: number;
  /**
   * Most tasks claimed per store round trip, 1..10000 [500 where a claim is a network round trip
   * (PostgreSQL), else 100]. With fetch-ahead a node claims this many only when its claims are
   * slow or its tasks very fast (see `fetchAheadMs`).
   */
  claimBatch?: number;
  /**
   * Fetch ahead: besides filling its free slots, the node claims about this much work beyond
   * them (at its recent rate of finishing tasks), held in a local buffer and started the moment
   * a slot frees, ms [50 where a claim is a network round trip (PostgreSQL), else 0]; at most
   * `claimBatch` tasks. 0 turns it off.
   */
  fetchAheadMs?: number;
  /**
   * Fallback poll for due tasks when no wake-up arrives, ms [1000; 10000 on a store whose
   * wake-ups carry due times (PostgreSQL), unless a registered type has a cluster-wide flow limit].
   */
  pollIntervalMs?: number;
  /** Lease of a run: a node that stops renewing it for this long is presumed dead, ms [15000]. */
  leaseMs?: number;
  /** How often leases are renewed (and cancel requests picked up), ms [min(1000, leaseMs/3)]. */
  heartbeatMs?: number;
  /** CPU capacity of this node, 100 = one core [cores × 100]. */
  cpuCapacity?: number;
  /** Stop claiming under load; `false` disables the guard. */
  overload?: OverloadOptions | false;
  /** After an abort (cancel, timeout, shutdown), how long a handler may take to stop, ms [2000]. */
  abortGraceMs?: number;
  /**
   * Where handlers of types that do not set `isolation` run ["none"]: on this event loop, in a
   * pool of worker threads, or in a pool of child processes (see docs/isolation.md).
   */
  isolation?: Isolation;
  /**
   * For handlers on this event loop: an exception thrown in a handler's timer, or a rejection it
   * left unhandled, fails that run instead of ending the process (other uncaught exceptions
   * behave as before). Installs a process-wide `uncaughtException` listener while the worker
   * runs [false; the CLI's worker turns it on].
   */
  containHandlerCrashes?: boolean;
  /**
   * Most runners in each isolation pool, 1..concurrency; also the most runs of the pool this
   * node claims at once [thread: min(concurrency, 4 × cpuCapacity/100); process: min(concurrency,
   * 2 × cpuCapacity/100)]. Raise it to `concurrency` for isolated handlers that mostly wait on I/O.
   */
  maxRunners?: number;
  /** An isolated runner is replaced after this many runs, 1..10000000 [10000]. */
  recycleRunnersAfter?: number;
  /**
   * …or, checked after each run, once its used heap has grown this much since it started, MB,
   * 1..65536 [256]; null: never.
   */
  recycleRunnersAboveMb?: number | null;
  /**
   * Largest result a run may store, bytes of JSON [1048576 = 1 MiB]; 1024..268435456. A larger
   * result fails the run (without retry) with an error naming this limit.
   */
  maxResultBytes?: number;
  /** How often coalesced progress and logs are written, ms [200]. */
  flushMs?: number;
  /** How often expired leases and deadlines are checked, ms [1000]. */
  maintenanceMs?: number;
  /** How often the pruner runs, ms [60000]; 0 disables it. */
  pruneIntervalMs?: number;
  /** Runs kept per task by the pruner [100]. */
  keepRunsPerTask?: number;
  /** Log lines kept per run; older ones are dropped with a marker [10000]. */
  maxEventsPerRun?: number;
  /** Only these types are claimed here [all registered]. */
  types?: string[];
  /** How often this node's row in the nodes table is refreshed, ms [5000]. */
  nodeHeartbeatMs?: number;
  /** A node silent this long is shown offline, ms [30000]. (Its runs fail over by lease expiry.) */
  nodeStaleMs?: number;
  /**
   * Claim order on this node ["priority"]: `priority`, `fifo` or `fair` (turns across groups, or
   * owners for tasks without a group), optionally with priority aging (`{ policy, agingMs }`).
   */
  dispatch?: DispatchOrder | { policy: DispatchOrder; agingMs?: number | null };
}

export type DispatchOrder = DispatchPolicy["order"];

export type ResolvedWorkerOptions = Required<Omit<WorkerOptions, "overload" | "types" | "dispatch" | "pollIntervalMs" | "fetchAheadMs" | "claimBatch" | "maxRunners">> & {
  /** Null: from concurrency and CPU capacity, per mode (see `WorkerOptions.maxRunners`). */
  maxRunners: number | null;
  /** Null: chosen by the store (see `WorkerOptions.claimBatch`). */
  claimBatch: number | null;
  /** Null: chosen by the store (see `WorkerOptions.fetchAheadMs`). */
  fetchAheadMs: number | null;
  /** Null: chosen by the store's wake-ups (see `WorkerOptions.pollIntervalMs`). */
  pollIntervalMs: number | null;
  overload: Required<OverloadOptions> | false;
  types: string[] | null;
  dispatch: DispatchPolicy;
};

const DISPATCH_ORDERS: readonly DispatchOrder[] = ["priority", "fifo", "fair"];

function resolveDispatch(option: WorkerOptions["dispatch"]): DispatchPolicy {
  const { policy, agingMs } = typeof option === "object" && option !== null ? option : { policy: option ?? "priority", agingMs: null };
  if (!DISPATCH_ORDERS.includes(policy)) throw new ValidationError("dispatch", `dispatch: "${String(policy)}" is not one of ${DISPATCH_ORDERS.join(", ")}`);
  if (agingMs !== null && agingMs !== undefined && (!Number.isFinite(agingMs) || agingMs < 1)) {
    throw new ValidationError("dispatch.agingMs", "dispatch.agingMs: must be a positive number of milliseconds");
  }
  if (policy === "fifo" && agingMs) throw new ValidationError("dispatch.agingMs", "dispatch.agingMs: aging applies to the priority and fair policies, not fifo");
  return { order: policy, agingMs: agingMs ?? null };
}

function checkIsolation(value: Isolation | undefined): Isolation {
  if (value === undefined) return "none";
  if (!ISOLATION_MODES.includes(value)) throw new ValidationError("isolation", `isolation: "${String(value)}" is not one of ${ISOLATION_MODES.join(", ")}`);
  return value;
}

/** A whole-number option within its range, or its default; the error names the field and the range. */
function checkInt(field: string, value: number | undefined, fallback: number, min: number, max: number, unit: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new ValidationError(field, `${field}: ${String(value)} is not allowed; use a whole number of ${unit} from ${min} to ${max}`);
  }
  return value;
}

export function resolveWorkerOptions(o: WorkerOptions = {}): ResolvedWorkerOptions {
  const leaseMs = o.leaseMs ?? 15_000;
  const fetchAheadMs = o.fetchAheadMs ?? null;
  if (fetchAheadMs !== null && (typeof fetchAheadMs !== "number" || !Number.isFinite(fetchAheadMs) || fetchAheadMs < 0 || fetchAheadMs > 60_000)) {
    throw new ValidationError("fetchAheadMs", `fetchAheadMs: ${String(o.fetchAheadMs)} is not allowed; use 0 (off) to 60000 milliseconds`);
  }
  const concurrency = o.concurrency ?? 10;
  return {
    concurrency,
    claimBatch: o.claimBatch === undefined ? null : checkInt("claimBatch", o.claimBatch, 100, 1, 10_000, "tasks"),
    fetchAheadMs,
    pollIntervalMs: o.pollIntervalMs ?? null,
    leaseMs,
    heartbeatMs: o.heartbeatMs ?? Math.min(1000, Math.floor(leaseMs / 3)),
    cpuCapacity: o.cpuCapacity ?? os.availableParallelism() * 100,
    overload: o.overload === false ? false : { maxEventLoopLagMs: 1000, maxLoadPerCore: 6, ...o.overload },
    abortGraceMs: checkInt("abortGraceMs", o.abortGraceMs, 2000, 0, MAX_KILL_AFTER_MS, "milliseconds"),
    isolation: checkIsolation(o.isolation),
    containHandlerCrashes: o.containHandlerCrashes ?? false,
    maxRunners: o.maxRunners === undefined ? null : checkInt("maxRunners", o.maxRunners, concurrency, 1, concurrency, "runners (at most the node's concurrency)"),
    recycleRunnersAfter: checkInt("recycleRunnersAfter", o.recycleRunnersAfter, 10_000, 1, 10_000_000, "runs"),
    recycleRunnersAboveMb:
      o.recycleRunnersAboveMb === null ? null : checkInt("recycleRunnersAboveMb", o.recycleRunnersAboveMb, 256, 1, 65_536, "MB (or null: never)"),
    maxResultBytes: checkInt("maxResultBytes", o.maxResultBytes, DEFAULT_MAX_RESULT_BYTES, MIN_RESULT_LIMIT, MAX_RESULT_LIMIT, "bytes"),
    flushMs: o.flushMs ?? 200,
    maintenanceMs: o.maintenanceMs ?? 1000,
    pruneIntervalMs: o.pruneIntervalMs ?? 60_000,
    keepRunsPerTask: o.keepRunsPerTask ?? 100,
    maxEventsPerRun: o.maxEventsPerRun ?? 10_000,
    types: o.types ?? null,
    nodeHeartbeatMs: o.nodeHeartbeatMs ?? 5000,
    nodeStaleMs: o.nodeStaleMs ?? 30_000,
    dispatch: resolveDispatch(o.dispatch),
  };
}

/**
 * The worker of one node: claims due tasks in batches, runs them, renews their leases, ends
 * them in batches, and recovers what other nodes lost.
 */
export class Worker {
  /**
   * Runs started (handler running, or its finish being written), by run id (`taskId#runNo`): a
   * task re-claimed here after its old run was rescued is a second entry.
   */
  readonly running = new Map<string, RunState>();
  /** Runs claimed ahead of free slots, not started yet. */
  private readonly buffered: FetchAheadBuffer;
  /** Runs whose handler has not settled: what `concurrency` bounds. */
  private executing = 0;
  private readonly runningByType = new Map<string, number>();
  private cpuUsed = 0;
  private accepting = false;
  private started = false;
  /** False once a claim came back short and nothing has happened since that could add work. */
  private maybeMore = true;
  private pumping = false;
  private pumpAgain = false;
  /** Most tasks per claim (`WorkerOptions.claimBatch`, or the store's default). */
  private readonly claimBatch: number;
  /** When the completer's finish-and-claim was asked for (its round trip feeds the fetch-ahead). */
  private claimSentAt = 0;
  private pumpScheduled = false;
  private pollTimer: NodeJS.Timeout | null = null;
  private unwatchChanges: (() => void) | null = null;
  private readonly flusher: RunFlusher;
  private readonly completer: Completer;
  private readonly maintenance: Maintenance;
  private readonly loadGuard: LoadGuard | null;
  private readonly leaseRenewer: LeaseRenewer;
  private readonly nodeReporter: NodeReporter;
  private readonly idleWaiters = new Set<() => void>();

  constructor(
    private readonly store: Store,
    private readonly registry: Map<string, TaskDefinition>,
    private readonly bus: EventBus,
    readonly node: string,
    readonly options: ResolvedWorkerOptions,
  ) {
    // On SQLite a claim is a local call, not a round trip, and fetching ahead measured slower
    // across processes (bench:peers drain, same build, alternating: c10×1 41,140 and 46,060 no-op
    // tasks in 8 s without it, 26,640 and 31,950 with it; c100×2 21,100 / 20,600 against
    // 17,292 / 17,860): more, smaller write transactions contend for the one write lock.
    const fetchAheadMs = options.fetchAheadMs ?? (store.capabilities.roundTripClaims ? 50 : 0);
    // Larger batches where a claim is a round trip: while claims are slow (a transaction held open
    // elsewhere leaves dead row versions for every claim to step over) the fetch-ahead grows to
    // ten claims' worth of work, and 500 lets a node at 1,000 tasks/s claim about twice a second
    // instead of ten times. Measured (bench:peers held, 180 s hold at 1,000 tasks/s, one run
    // each): with 100 the backlog peaked at 83,165 tasks and 613 tasks/s finished while held; with
    // 500, 47,747 and 911/s (graphile-worker batched, same session: 0 and 1,000/s). Not enough
    // yet: see issue 11.
    this.claimBatch = options.claimBatch ?? (store.capabilities.roundTripClaims ? 500 : 100);
    this.buffered = new FetchAheadBuffer(fetchAheadMs, this.claimBatch);
    this.flusher = new RunFlusher(store, this.running, registry, bus, options.flushMs);
    this.completer = new Completer(
      store,
      this.flusher,
      (items) => this.onFinished(items),
      (error) => bus.emit("error", { error, where: "completing runs" }),
      (runs) => this.claimAfterFinish(runs),
      (claimed, request) => this.afterClaim(claimed, request),
    );
    this.maintenance = new Maintenance(store, registry, bus, options, () => this.notify());
    this.loadGuard = options.overload ? new LoadGuard(options.overload) : null;
    this.isolation = new IsolationPools(
      registry,
      options.isolation,
      {
        concurrency: options.concurrency,
        cpuCapacity: options.cpuCapacity,
        maxRunners: options.maxRunners,
        recycleAfter: options.recycleRunnersAfter,
        recycleAboveMb: options.recycleRunnersAboveMb,
        idleMs: 30_000,
      },
      (error) => bus.emit("error", { error, where: "starting an isolated runner" }),
    );
    this.executorSettings = {
      node,
      abortGraceMs: options.abortGraceMs,
      maxResultBytes: options.maxResultBytes,
      invokerFor: (def) => (this.isolation.modeOf(def) !== "none" ? this.isolation.invokerFor(def) : options.containHandlerCrashes ? scopedInlineInvoker : inlineInvoker),
      onLog: (r, l, m, d) => this.onLog(r, l, m, d),
    };
    this.leaseRenewer = new LeaseRenewer(store, options.leaseMs, options.heartbeatMs, {
      // Every claimed run: buffered, running, and finished ones whose outcome is still being written.
      current: () => [...this.running.values(), ...this.buffered.values()],
      onRenewed: (asked, held) => this.onLeasesRenewed(asked, held),
      onError: (error) => bus.emit("error", { error, where: "renewing leases" }),
    });
    this.nodeReporter = new NodeReporter(
      store,
      bus,
      node,
      () => ({
        types: this.handledTypes(),
        concurrency: options.concurrency,
        running: this.running.size,
        cpuCapacity: options.cpuCapacity,
        cpuUsed: this.cpuUsed,
        accepting: this.accepting,
        runners: this.runnerFigures(),
      }),
      options.nodeHeartbeatMs,
      options.nodeStaleMs,
    );
  }

  /** The types this node claims. */
  handledTypes(): string[] {
    return [...this.registry.keys()].filter((t) => !this.options.types || this.options.types.includes(t));
  }

  get isRunning(): boolean {
    return this.started;
  }

  async start(): Promise<void> {
    if (this.started) return;
    // The steps that can fail come first, before any timer: a failed start leaves nothing
    // half-running, and a later start() tries again from scratch.
    // Runs this node left behind when it last stopped (crash or kill) are re-queued at once.
    const rescued = await this.store.taskRescueNode(this.node);
    for (const task of rescued) this.bus.emit("task:rescued", { task });
    this.accepting = true;
    try {
      await this.nodeReporter.start();
    } catch (error) {
      this.accepting = false;
      throw error;
    }
    this.started = true;
    if (this.options.containHandlerCrashes) {
      this.stopContaining = containHandlerCrashes((error, type) =>
        this.bus.emit("error", { error, where: `a handler of ${type}, after its run ended` }),
      );
    }
    this.isolation.warmUp();
    this.loadGuard?.start();
    this.flusher.start();
    this.maintenance.start();
    this.pollMs = this.choosePollMs();
    this.pollTimer = setInterval(() => this.notify(), this.pollMs);
    this.leaseRenewer.start();
    this.unwatchChanges =
      this.store.watchChanges?.((hint, dueAt, types) => {
        if (hint === "schedules") return;
        // New work of types this node does not run: stay asleep (every node hears every add).
        if (hint === "work" && types && !this.handledTypes().some((t) => types.includes(t))) return;
        if (hint === "work" && dueAt !== undefined) this.wakeAt(dueAt);
        else if (hint !== "cancel") this.notify();
        // A cancel somewhere in the cluster: if it is one of ours, the lease check reports it now.
        else if (this.running.size > 0) this.leaseRenewer.checkSoon();
      }) ?? null;
    this.notify();
  }

  /** Something may be due: claim soon (coalesced into one claim per event-loop turn). */
  notify(): void {
    this.maybeMore = true;
    this.schedulePump();
  }

  /** The fallback poll in use, ms. */
  private pollMs = 1000;

  /**
   * The fallback poll: as configured; else long where the store's wake-ups tell due times
   * (PostgreSQL: an idle node then costs well under a transaction a second, measured with
   * `npm run bench:pg -- --only idle`), and a second where a cluster-wide flow limit can free
   * work without any wake-up (another node's finish, a rate window passing).
   */
  private choosePollMs(): number {
    if (this.options.pollIntervalMs !== null) return this.options.pollIntervalMs;
    const flowLimited = [...this.registry.values()].some((def) => flowLimitsOf(def));
    return this.store.capabilities.dueTimeNotification && !flowLimited ? 10_000 : 1000;
  }

  private wakeTimer: NodeJS.Timeout | null = null;
  private wakeTimerAt = Infinity;
  /** Known due times of work due later (epoch ms), ascending; the earliest has the timer. */
  private readonly dueTimes: number[] = [];

  /**
   * Claims at `at` (epoch ms): a retry or delayed task this node knows about (its own, or told
   * by a wake-up) starts on time instead of at the next poll.
   */
  wakeAt(at: number): void {
    if (!this.accepting) return;
    const delay = at - Date.now();
    if (delay <= 0) return this.notify();
    if (delay >= this.pollMs) return;
    // Sorted insert; bounded, since the poll catches whatever is dropped.
    let i = this.dueTimes.length;
    while (i > 0 && this.dueTimes[i - 1]! > at) i--;
    if (this.dueTimes[i - 1] === at) return;
    this.dueTimes.splice(i, 0, at);
    if (this.dueTimes.length > 1000) this.dueTimes.pop();
    this.armWakeTimer();
  }

  private armWakeTimer(): void {
    const next = this.dueTimes[0];
    if (next === undefined || next === this.wakeTimerAt) return;
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeTimerAt = next;
    this.wakeTimer = setTimeout(() => {
      this.wakeTimer = null;
      this.wakeTimerAt = Infinity;
      const now = Date.now();
      while (this.dueTimes.length && this.dueTimes[0]! <= now) this.dueTimes.shift();
      this.notify();
      this.armWakeTimer();
    }, Math.max(0, next - Date.now()) + 1);
  }

  /** Aborts a run on this node (cancel from this process); returns whether it was here. */
  abortLocal(taskId: string, kind: "cancelled"): boolean {
    let found = false;
    for (const run of [...this.buffered.values()]) {
      if (run.taskId !== taskId) continue;
      this.buffered.delete(run);
      this.endUnstarted(run, kind);
      found = true;
    }
    for (const run of this.running.values()) {
      if (run.taskId !== taskId) continue;
      run.abort(kind, "cancelled by request");
      found = true;
    }
    return found;
  }

  get leaseRenewalMode(): "thread" | "main-thread" {
    return this.leaseRenewer.mode;
  }

  /** Stops claiming, waits up to `graceMs` for running tasks, then aborts and releases the rest. */
  async stop(graceMs = 10_000): Promise<void> {
    if (!this.started) return;
    this.accepting = false;
    await this.nodeReporter.draining();
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.dueTimes.length = 0;
    this.wakeTimerAt = Infinity;
    this.unwatchChanges?.();
    this.pollTimer = this.wakeTimer = this.unwatchChanges = null;
    // Claimed ahead but never started: back to the queue at once, in their old place.
    for (const run of this.buffered.takeAll()) this.endUnstarted(run, "shutdown");
    await this.waitIdle(graceMs);
    for (const run of this.running.values()) run.abort("shutdown", "node is shutting down");
    // Each aborted run ends within abortGraceMs (released to the queue at once).
    await this.waitIdle(this.options.abortGraceMs + 5000);
    await this.completer.drain();
    await this.leaseRenewer.stop();
    await this.nodeReporter.stop();
    this.maintenance.stop();
    this.flusher.stop();
    await this.flusher.flushAll();
    this.loadGuard?.stop();
    this.isolation.close();
    this.stopContaining?.();
    this.stopContaining = null;
    this.started = false;
  }

  /** Resolves when no run is in flight, or after `timeoutMs`. */
  waitIdle(timeoutMs: number): Promise<void> {
    if (this.running.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.idleWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.idleWaiters.add(done);
    });
  }

  // ---------------------------------------------------------------- claiming

  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      void this.pump();
    });
  }

  private claimableTypes(runningByType: Map<string, number> = this.runningByType): ClaimType[] {
    const out: ClaimType[] = [];
    // Runs per isolation pool (claimed, running, or being written): a pool runs one per runner.
    const inPool = new Map<string, number>();
    for (const [type, n] of runningByType) {
      const def = this.registry.get(type);
      const capacity = def && n > 0 ? this.isolation.capacityOf(def) : null;
      if (capacity) inPool.set(capacity.pool, (inPool.get(capacity.pool) ?? 0) + n);
    }
    for (const [type, def] of this.registry) {
      if (this.options.types && !this.options.types.includes(type)) continue;
      const flow = flowLimitsOf(def);
      let slots = def.concurrency === undefined ? Infinity : def.concurrency - (runningByType.get(type) ?? 0);
      const capacity = this.isolation.capacityOf(def);
      if (capacity) slots = Math.min(slots, capacity.max - (inPool.get(capacity.pool) ?? 0));
      if (slots > 0) out.push(flow ? { type, slots, flow } : { type, slots });
    }
    return out;
  }

  /**
   * The claim that fills this node's free slots, counting `freeing` as already finished; null
   * when nothing should be claimed now. One claim at a time: `pumping` is the lock.
   */
  private claimRequest(freeing: RunState[] = []): ClaimRequest | null {
    // A run with follow-ups adds work in the very transaction that ends it: claim after it.
    if (freeing.some((r) => r.task.followUps.length > 0)) this.maybeMore = true;
    if (!this.accepting || !this.maybeMore) return null;
    const releasing = freeing.filter((r) => this.running.get(r.runId) === r);
    // Free slots plus the fetch-ahead the buffer still lacks (see FetchAheadBuffer).
    const free = this.options.concurrency + this.buffered.target() - this.executing - this.buffered.size;
    if (free <= 0) return null;
    if (this.loadGuard?.isOverloaded()) return null; // the poll timer tries again
    let byType = this.runningByType;
    let cpuUsed = this.cpuUsed;
    if (releasing.length) {
      byType = new Map(byType);
      for (const r of releasing) {
        byType.set(r.task.type, (byType.get(r.task.type) ?? 1) - 1);
        cpuUsed -= Math.min(r.task.cpu, this.options.cpuCapacity);
      }
    }
    const types = this.claimableTypes(byType);
    if (types.length === 0) return null;
    return {
      node: this.node,
      types,
      limit: Math.min(free, this.claimBatch),
      cpuFree: this.options.cpuCapacity - cpuUsed,
      cpuCapacity: this.options.cpuCapacity,
      leaseMs: this.options.leaseMs,
      policy: this.options.dispatch,
    };
  }

  /** Starts what a claim returned and decides whether more may be waiting. */
  private takeClaimed(claimed: TaskRow[], request: ClaimRequest): void {
    // Every run is registered and handed to the lease renewer before any handler starts: a
    // handler that blocks from its first line must not keep the others (or itself) unrenewed.
    for (const task of claimed) this.buffered.push(this.registerRun(task));
    if (claimed.length) this.leaseRenewer.handOver();
    this.startBuffered();
    // A short claim proves the queue empty only when nothing but emptiness could have cut it
    // short: not per-type slots or flow limits, not types left out, not fair turns over keys
    // whose tasks are not due yet.
    const typeLimited =
      request.types.some((t) => Number.isFinite(t.slots) || t.flow) ||
      request.types.length < this.registry.size ||
      request.policy?.order === "fair";
    if (claimed.length < request.limit && !typeLimited) this.maybeMore = false;
    else if (claimed.length === request.limit) this.pumpAgain = true;
  }

  /** The completer's claim, written with its batch of finishes; null while another claim is in flight. */
  private claimAfterFinish(runs: RunState[]): ClaimRequest | null {
    if (this.pumping) {
      this.pumpAgain = true;
      return null;
    }
    const request = this.claimRequest(runs);
    if (request) {
      this.pumping = true;
      this.claimSentAt = performance.now();
    }
    return request;
  }

  private afterClaim(claimed: TaskRow[], request: ClaimRequest): void {
    this.pumping = false;
    // With the finish it was written with: a slow finish also argues for fewer, larger batches.
    this.buffered.noteClaim(performance.now() - this.claimSentAt);
    this.takeClaimed(claimed, request);
    if (this.pumpAgain) this.schedulePump();
  }

  private async pump(): Promise<void> {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        const request = this.claimRequest();
        if (!request) break;
        const sentAt = performance.now();
        const claimed = await this.store.taskClaim(request);
        this.buffered.noteClaim(performance.now() - sentAt);
        this.takeClaimed(claimed, request);
      } while (this.pumpAgain);
    } catch (error) {
      this.bus.emit("error", { error: error as Error, where: "claiming tasks" });
    } finally {
      this.pumping = false;
    }
  }

  /** Per-type slots and CPU are counted from the claim on (a buffered run holds them). */
  private registerRun(task: TaskRow): RunState {
    const run = new RunState(task, this.options.maxEventsPerRun, this.renewalDeadline(task));
    this.runningByType.set(task.type, (this.runningByType.get(task.type) ?? 0) + 1);
    this.cpuUsed += Math.min(task.cpu, this.options.cpuCapacity);
    return run;
  }

  /**
   * Past this time the lease renewer stops renewing the run even if this thread is blocked: a
   * handler stuck in a loop past its timeout (which cannot fire then) must not hold its task
   * forever. Without a timeout there is no such bound.
   */
  private renewalDeadline(task: TaskRow): number | null {
    if (task.timeoutMs === null) return null;
    return Date.now() + task.timeoutMs + this.options.abortGraceMs + this.options.leaseMs;
  }

  /** Starts buffered runs, oldest claim first, while slots are free. */
  private startBuffered(): void {
    if (!this.accepting) {
      // A claim that was in flight when the node began to stop.
      for (const run of this.buffered.takeAll()) this.endUnstarted(run, "shutdown");
      return;
    }
    while (this.executing < this.options.concurrency) {
      const run = this.buffered.shift();
      if (!run) return;
      this.launchRun(run);
    }
  }

  /** Ends a buffered run without calling its handler (stop, cancel), through the completer. */
  private endUnstarted(run: RunState, kind: "shutdown" | "cancelled"): void {
    this.running.set(run.runId, run);
    this.completer.push(run, stoppedFinish(run, kind));
  }

  /** Drops a buffered run whose lease was lost: nothing may be written for it. */
  private dropUnstarted(run: RunState): void {
    this.buffered.delete(run);
    this.running.set(run.runId, run);
    this.release(run);
  }

  private launchRun(run: RunState): void {
    const task = run.task;
    this.running.set(run.runId, run);
    this.executing++;
    const def = this.registry.get(task.type);
    this.bus.emit("task:started", { task });
    if (!this.accepting) run.abort("shutdown", "node is shutting down");
    if (!def) {
      // Only registered types are claimed; this guards a registry changed under our feet.
      run.abort("shutdown", `no handler for type ${task.type} on this node`);
    }
    const execution = def
      ? executeRun(def, run, this.executorSettings)
      : Promise.resolve<RunFinish | null>({
          taskId: task.id,
          runNo: task.runCount,
          outcome: "offline",
          next: "queued",
          refundAttempt: true,
          error: { name: "NoHandler", message: `no handler for ${task.type}` },
        });
    const settled = () => {
      this.executing--;
      this.buffered.noteFinished();
    };
    void execution.then(
      (finish) => {
        settled();
        if (finish) this.completer.push(run, finish);
        else this.release(run);
        // The slot is free the moment the handler is done, not when its finish is written.
        this.startBuffered();
      },
      (error: Error) => {
        settled();
        this.bus.emit("error", { error, where: `executing ${task.type}` });
        this.release(run);
        this.startBuffered();
      },
    );
  }

  private readonly executorSettings: ExecutorSettings;
  private readonly isolation: IsolationPools;
  private stopContaining: (() => void) | null = null;

  /** The pools' totals for the node row; null while no type runs isolated. */
  private runnerFigures(): NodeRunners | null {
    const { size, busy, recycled, replaced } = this.isolation.stats();
    return size + recycled + replaced > 0 ? { size, busy, recycled, replaced } : null;
  }

  /** The isolation pools of this node: runners, busy ones, recycled and replaced ones. */
  isolationStats(): IsolationStats {
    return this.isolation.stats();
  }

  private onLog(run: RunState, level: "debug" | "info" | "warn" | "error", message: string, data: unknown): void {
    const event = run.log(level, message, data, Date.now());
    if (event && this.bus.has("task:log")) {
      this.bus.emit("task:log", {
        event: { id: 0, taskId: event.taskId, runNo: event.runNo, at: new Date(event.at), level, message: event.message, data },
      });
    }
  }

  /**
   * Frees the slot of a run (its finish was written, refused, or must not be written) and
   * claims again, unless the caller claims once for a whole batch (`claimNow` false).
   */
  private release(run: RunState, claimNow = true): void {
    if (this.running.get(run.runId) !== run) return;
    run.finished = true;
    this.running.delete(run.runId);
    const type = run.task.type;
    this.runningByType.set(type, (this.runningByType.get(type) ?? 1) - 1);
    this.cpuUsed -= Math.min(run.task.cpu, this.options.cpuCapacity);
    if (this.running.size === 0) for (const w of [...this.idleWaiters]) w();
    if (this.accepting) {
      const def = this.registry.get(type);
      const limited = def?.concurrency !== undefined || def?.concurrencyLimit || def?.rateLimit || run.task.cpu > 0;
      if (limited || (def && this.isolation.modeOf(def) !== "none")) this.maybeMore = true;
      if (claimNow) this.schedulePump();
    }
  }

  private onFinished(items: Array<{ run: RunState; finish: RunFinish; row: TaskRow | null }>): void {
    for (const { run, finish, row } of items) {
      this.release(run, false);
      if (!row) continue;
      announceFinish(this.bus, this.registry, finish, row);
      if (row.status === "scheduled" || row.status === "queued") this.wakeAt(row.runAt.getTime());
    }
    // The freed slots were refilled in the finish's own transaction (see claimAfterFinish);
    // when that did not happen (another claim was in flight), claim now.
    if (this.accepting && !this.pumping) void this.pump();
  }

  // ---------------------------------------------------------------- leases

  /** Fenced out runs stop (their result will be dropped); cancel requests abort. */
  private onLeasesRenewed(asked: RunRef[], held: LeaseState[]): void {
    const byId = new Map(held.map((h) => [h.taskId, h]));
    for (const ref of asked) {
      const runId = runIdOf(ref.taskId, ref.runNo);
      const waiting = this.buffered.get(runId);
      if (waiting) {
        const state = byId.get(waiting.taskId);
        if (!state || state.runNo !== waiting.runNo) this.dropUnstarted(waiting);
        else if (state.cancelRequested) {
          this.buffered.delete(waiting);
          this.endUnstarted(waiting, "cancelled");
        }
        continue;
      }
      const run = this.running.get(runId);
      if (!run || run.finished) continue;
      const state = byId.get(run.taskId);
      if (!state || state.runNo !== run.runNo) {
        run.abort("lease-lost", "the lease of this run was lost (another node took the task over)");
      } else if (state.cancelRequested) {
        run.abort("cancelled", "cancelled by request");
      }
    }
  }
}
