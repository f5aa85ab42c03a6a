/** The parent's side of a worker process (see worker-process.ts for the protocol). */
import { spawn, type ChildProcess } from "node:child_process";
import readline from "node:readline";
import { fileURLToPath } from "node:url";
import type { Target, WorkerOptions } from "./adapters/types.js";
import { sleep } from "./common.js";

export interface WorkerChild {
  proc: ChildProcess;
  finished: number;
  lastAt: number;
  firstStartAt: number;
  /** seq → start time (stamp and hold tasks). */
  starts: Map<number, number>;
  cpuMs: number;
  statements: number;
  go(): void;
  /** Asks it to stop, then SIGKILLs it if it has not exited within a few seconds. */
  stop(): Promise<void>;
  kill(): void;
}

const ENTRY = fileURLToPath(new URL("./worker-process.ts", import.meta.url));

export async function spawnWorker(system: string, target: Target, options: WorkerOptions): Promise<WorkerChild> {
  // BENCH_CPU_PROF=dir: each worker process writes a V8 CPU profile there (where a worker's time goes).
  const prof = process.env.BENCH_CPU_PROF ? ["--cpu-prof", "--cpu-prof-dir", process.env.BENCH_CPU_PROF] : [];
  const proc = spawn(process.execPath, [...prof, "--import", "tsx", ENTRY, JSON.stringify({ system, target, options })], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  let onReady: (() => void) | null = null;
  let onStopped: (() => void) | null = null;
  const c: WorkerChild = {
    proc,
    finished: 0,
    lastAt: 0,
    firstStartAt: 0,
    starts: new Map(),
    cpuMs: 0,
    statements: 0,
    go: () => proc.stdin!.write("go\n"),
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const stopped = new Promise<void>((r) => (onStopped = r));
      const exited = new Promise<void>((r) => proc.once("exit", () => r()));
      proc.stdin!.write("stop\n");
      await Promise.race([stopped, sleep(8000)]);
      // Let it exit by itself (a --cpu-prof profile is written at exit), then make sure.
      await Promise.race([exited, sleep(3000)]);
      c.kill();
    },
    kill() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
    },
  };
  readline.createInterface({ input: proc.stdout! }).on("line", (line) => {
    const [tag, a, b] = line.split(" ");
    if (tag === "c") {
      c.finished = Number(a);
      c.lastAt = Number(b);
    } else if (tag === "s") {
      if (!c.starts.has(Number(a))) c.starts.set(Number(a), Number(b));
    } else if (tag === "f") {
      c.firstStartAt = Number(a);
    } else if (tag === "ready") {
      onReady?.();
    } else if (tag === "stopped") {
      c.cpuMs = Number(a);
      c.statements = Number(b);
      onStopped?.();
    }
  });
  await new Promise<void>((resolve, reject) => {
    onReady = resolve;
    proc.once("exit", (code) => reject(new Error(`${system} worker exited (${code}) before it was ready`)));
  });
  return c;
}
