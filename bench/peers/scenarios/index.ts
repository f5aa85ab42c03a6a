/** The scenarios of issues 7 and 11, in order, with the columns each one reports. */
import { runAdd } from "./add.js";
import { runBacklog } from "./backlog.js";
import { runDrain } from "./drain.js";
import { runFailover } from "./failover.js";
import { runHeld } from "./held.js";
import { runLatency } from "./latency.js";
import { runRealistic } from "./realistic.js";
import type { ScenarioSpec } from "./types.js";

const n = (x: number) => x.toLocaleString("en-US");

export const SCENARIOS: ScenarioSpec[] = [
  {
    id: "add",
    title: "1. Add tasks",
    what: (s) =>
      `${n(s.addOneByOne)} adds one at a time, each awaited; then ${n(s.addBatched)} tasks in batches of ${n(s.addBatchSize)} with the system's batched add (Tasklane addMany, graphile-worker addJobs, pg-boss insert, BullMQ addBulk). One process, no worker running.`,
    columns: [
      { key: "oneByOne", label: "one by one (tasks/s)", better: "higher" },
      { key: "perAddMs", label: "per add (ms)", better: "lower", digits: 2 },
      { key: "batched", label: "batched (tasks/s)", better: "higher" },
    ],
    run: runAdd,
  },
  {
    id: "drain",
    title: "2. Drain a queue of no-op tasks",
    what: (s) =>
      `${n(s.drain)} no-op tasks added first; then worker processes start together and the clock runs until the store shows every task finished (capped at ${s.drainCapMs / 1000} s: a capped rate is the tasks finished by then over the cap). Concurrency is per process. Statements per task and CPU per task are counted in the worker processes (pg client calls, process CPU) and, for PostgreSQL, the server backends serving this database (/proc).`,
    columns: [
      { key: "rate", label: "tasks/s", better: "higher" },
      { key: "seconds", label: "time (s)", better: "lower", digits: 1 },
      { key: "statementsPerTask", label: "SQL statements per task", better: "lower", digits: 3 },
      { key: "workerCpuUsPerTask", label: "worker CPU per task (µs)", better: "lower" },
      { key: "pgCpuUsPerTask", label: "PostgreSQL CPU per task (µs)", better: "lower" },
    ],
    run: runDrain,
  },
  {
    id: "latency",
    title: "3. Add→start latency with idle workers",
    what: (s) =>
      `${n(s.latencyRate * s.latencySeconds)} tasks added one at a time at ${s.latencyRate}/s (after 20 warm-up tasks); one worker process, concurrency 10, idle in between. Latency is from just before the add call to the first line of the handler.`,
    columns: [
      { key: "p50", label: "p50 (ms)", better: "lower", digits: 2 },
      { key: "p95", label: "p95 (ms)", better: "lower", digits: 2 },
      { key: "p99", label: "p99 (ms)", better: "lower", digits: 2 },
      { key: "max", label: "max (ms)", better: "lower", digits: 1 },
      { key: "addP50", label: "of which the add call, p50 (ms)", better: "lower", digits: 2 },
    ],
    run: runLatency,
  },
  {
    id: "realistic",
    title: "4. Realistic tasks with progress",
    what: (s) =>
      `${n(s.realistic)} tasks, each working 5–20 ms in 10 steps (timer sleeps) and reporting progress after each step with the system's native progress call; one worker process at concurrency 100. Time from go until the store shows all finished.`,
    columns: [
      { key: "rate", label: "tasks/s", better: "higher" },
      { key: "seconds", label: "total time (s)", better: "lower", digits: 2 },
      { key: "statementsPerTask", label: "SQL statements per task", better: "lower", digits: 2 },
      { key: "workerCpuUsPerTask", label: "worker CPU per task (µs)", better: "lower" },
    ],
    run: runRealistic,
  },
  {
    id: "backlog",
    title: "5. Deep backlog: the claim-cost curve",
    what: (s) =>
      `${[...s.backlogCurve.filter((d) => d < s.backlog), s.backlog].map(n).join(" / ")} queued no-op tasks (one case each) put in place with SQL (Tasklane: copies of one added row; graphile-worker: its add_jobs function; pg-boss: INSERT into its job table; set-up, not measured), then one worker process at concurrency 10: time from go to its first task, and the drain rate over the first ${n(s.backlogSample)} tasks (from the first start; capped at ${s.backlogCapMs / 1000} s). A claim whose cost does not grow with the queue gives the same figures at every depth.`,
    columns: [
      { key: "firstClaimMs", label: "first claim (ms)", better: "lower", digits: 1 },
      { key: "rate", label: "drain rate (tasks/s)", better: "higher" },
      { key: "fillSeconds", label: "set-up fill (s)", better: "lower", digits: 1 },
    ],
    run: runBacklog,
  },
  {
    id: "failover",
    title: "6. Failover after SIGKILL",
    what: (s) =>
      `Worker A (concurrency 100) runs ${s.failoverTasks} tasks that would each take 30 s; worker B (another process) is idle; A is killed with SIGKILL. Figure: seconds from the kill until B has started every one of them again (and the first of them). Each system at its defaults and at its shortest documented recovery settings.`,
    columns: [
      { key: "allSeconds", label: "all restarted (s)", better: "lower", digits: 2 },
      { key: "firstSeconds", label: "first restarted (s)", better: "lower", digits: 2 },
    ],
    run: runFailover,
  },
  {
    id: "held",
    title: "7. Steady load while another session holds a transaction",
    what: (s) =>
      `${n(s.heldRate)} no-op tasks a second, added in batches every 100 ms, to one worker process at concurrency 50. After ${s.heldWarmSeconds} s, another session in the same database runs BEGIN; SELECT txid_current() and keeps the transaction open for ${s.heldSeconds} s (no dead row version can be removed meanwhile), then commits; the load goes on for ${s.heldRecoverySeconds} s. Backlog is added minus finished, sampled every second. CPU per task is the PostgreSQL backends' over the second half of the warm-up (before) and of the recovery window (after). PostgreSQL systems only.`,
    columns: [
      { key: "maxBacklog", label: "largest backlog (tasks)", better: "lower" },
      { key: "maxBacklogSeconds", label: "largest backlog (s of load)", better: "lower", digits: 1 },
      { key: "secondsOver2", label: "seconds with backlog > 2 s of load", better: "lower" },
      { key: "holdRate", label: "finished/s while held", better: "higher" },
      { key: "dbMb", label: "database size at release (MB)", better: "lower" },
      { key: "cpuBefore", label: "PostgreSQL CPU per task before (µs)", better: "lower" },
      { key: "cpuAfter", label: "PostgreSQL CPU per task after (µs)", better: "lower" },
    ],
    run: runHeld,
  },
];
