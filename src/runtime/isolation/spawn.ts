import { fork } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Worker as Thread } from "node:worker_threads";
import type { FromRunner, ToRunner } from "./protocol.js";

/** How a runner ended. */
export interface RunnerExit {
  code: number | null;
  signal: string | null;
  /** The runtime reported its heap limit reached (thread: resourceLimits; process: V8's fatal error). */
  outOfMemory: boolean;
  /** The last error the runtime reported about the runner, if any. */
  detail: string | null;
}

/** One runner as the node sees it: a worker thread or a child process. */
export interface Transport {
  post(message: ToRunner): void;
  onMessage(listener: (message: FromRunner) => void): void;
  onExit(listener: (exit: RunnerExit) => void): void;
  /** Ends the runner at once (terminate / SIGKILL), whatever it is doing. */
  kill(): void;
  /**
   * Whether the runner keeps the node's process alive: while it starts or runs a task, yes (a
   * run in flight is work); idle, no (an idle pool must not keep a finished program running).
   */
  hold(busy: boolean): void;
  /** Resident memory of the runner, bytes, where the OS tells it (a child process on Linux); else null. */
  residentBytes(): number | null;
}

const require = createRequire(import.meta.url);

/** The runner entry next to this file: `.ts` when running from source (tests, tsx), `.js` when built. */
function runnerEntry(): { path: string; typeScript: boolean } {
  const typeScript = import.meta.url.endsWith(".ts");
  return { path: fileURLToPath(new URL(typeScript ? "./runner-main.ts" : "./runner-main.js", import.meta.url)), typeScript };
}

/**
 * From source, a worker thread cannot use tsx's `import` hooks on Node 20, so it loads the
 * runner through tsx's `require` hooks instead.
 */
const THREAD_BOOT = `const { workerData } = require("node:worker_threads");
require(workerData.tsxCjs).register();
require(workerData.entry);`;

export function spawnThread(memoryLimitMb: number | null): Transport {
  const entry = runnerEntry();
  const resourceLimits = memoryLimitMb === null ? undefined : { maxOldGenerationSizeMb: memoryLimitMb };
  const thread = entry.typeScript
    ? new Thread(THREAD_BOOT, { eval: true, workerData: { tsxCjs: require.resolve("tsx/cjs/api"), entry: entry.path }, resourceLimits })
    : new Thread(entry.path, { resourceLimits });
  let outOfMemory = false;
  let detail: string | null = null;
  thread.on("error", (error: Error & { code?: string }) => {
    if (error.code === "ERR_WORKER_OUT_OF_MEMORY") outOfMemory = true;
    detail = `${error.name}: ${error.message}`;
  });
  return {
    post: (message) => thread.postMessage(message),
    onMessage: (listener) => void thread.on("message", listener),
    onExit: (listener) => void thread.on("exit", (code) => listener({ code, signal: null, outOfMemory, detail })),
    kill: () => void thread.terminate(),
    hold: (busy) => (busy ? thread.ref() : thread.unref()),
    residentBytes: () => null,
  };
}

/** How much of a child's stderr is kept to tell why it died. */
const STDERR_TAIL = 8192;

export function spawnProcess(memoryLimitMb: number | null): Transport {
  const entry = runnerEntry();
  const execArgv: string[] = [];
  if (entry.typeScript) execArgv.push("--import", pathToFileURL(require.resolve("tsx")).href);
  if (memoryLimitMb !== null) execArgv.push(`--max-old-space-size=${memoryLimitMb}`);
  const child = fork(entry.path, [], { execArgv, serialization: "advanced", stdio: ["ignore", "inherit", "pipe", "ipc"] });
  let tail = "";
  // Passed on to the node's stderr, and its end kept: V8 reports a full heap only there.
  child.stderr!.on("data", (chunk: Buffer) => {
    process.stderr.write(chunk);
    tail = (tail + chunk.toString("utf8")).slice(-STDERR_TAIL);
  });
  (child.stderr as unknown as { unref?: () => void }).unref?.();
  let detail: string | null = null;
  child.on("error", (error) => (detail = `${error.name}: ${error.message}`));
  const statm = `/proc/${child.pid}/statm`;
  return {
    post: (message) => {
      if (child.connected) child.send(message);
    },
    onMessage: (listener) => void child.on("message", listener as (m: unknown) => void),
    // "close", not "exit": by then the last of its stderr has been read.
    onExit: (listener) =>
      void child.on("close", (code, signal) =>
        listener({ code, signal, outOfMemory: /heap out of memory|Reached heap limit/i.test(tail), detail }),
      ),
    kill: () => void child.kill("SIGKILL"),
    hold: (busy) => {
      if (busy) {
        child.ref();
        child.channel?.ref();
      } else {
        child.unref();
        child.channel?.unref();
      }
    },
    residentBytes: () => {
      try {
        const pages = Number(fs.readFileSync(statm, "utf8").split(" ")[1]);
        return Number.isFinite(pages) ? pages * 4096 : null;
      } catch {
        return null;
      }
    },
  };
}
