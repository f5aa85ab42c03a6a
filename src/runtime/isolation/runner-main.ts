/**
 * The runner: the entry of one worker thread or child process of an isolation pool. It imports
 * handler modules once, then runs one task at a time for the node, with the same `ctx` a handler
 * gets on the node's own event loop.
 */
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import v8 from "node:v8";
import { parentPort } from "node:worker_threads";
import { TaskAbortedError, type AbortCause } from "../../model/errors.js";
import type { TaskContext, TaskDefinition } from "../../model/options.js";
import { errorData, type ContextData, type FromRunner, type ToRunner } from "./protocol.js";

/** Progress is sent at most this often (and once more when the run ends): a handler may call it in a tight loop. */
const PROGRESS_MS = 100;

const port = parentPort;
const send: (message: FromRunner) => void = port ? (m) => port.postMessage(m) : (m) => void process.send!(m);

/** Sends `message`, then ends the runner: its state is no longer trustworthy. */
function sendAndExit(message: FromRunner, code: number): void {
  if (port) {
    port.postMessage(message);
    process.exit(code);
  } else if (process.connected) {
    // An IPC send is asynchronous: exit once it is out, or soon if the channel is stuck.
    process.send!(message, () => process.exit(code));
    setTimeout(() => process.exit(code), 1000).unref();
  } else {
    process.exit(code);
  }
}

process.on("uncaughtException", (error) => sendAndExit({ t: "crash", what: "uncaught exception", error: errorData(error) }, 70));
process.on("unhandledRejection", (reason) => sendAndExit({ t: "crash", what: "unhandled rejection", error: errorData(reason) }, 70));
if (port) {
  // In a worker thread, process.abort() would end the whole node: end only this runner.
  process.abort = () => {
    sendAndExit({ t: "crash", what: "process.abort()", error: null }, 134);
    return undefined as never;
  };
} else {
  // The node went away: nothing would ever read what this process does.
  process.on("disconnect", () => process.exit(0));
}

const require = createRequire(import.meta.url);
let typeScriptReady = false;

/** Imports a handler module once; TypeScript ones through tsx (the hooks `import()` would need are not available in a worker thread on Node 20). */
function loadModule(url: string): Promise<unknown> {
  if (/\.[mc]?ts$/.test(url)) {
    if (!typeScriptReady) {
      (require("tsx/cjs/api") as { register(): void }).register();
      typeScriptReady = true;
    }
    return Promise.resolve().then(() => require(url.startsWith("file:") ? fileURLToPath(url) : url));
  }
  return import(url);
}

const modules = new Map<string, Promise<unknown>>();
function moduleAt(url: string): Promise<unknown> {
  let loaded = modules.get(url);
  if (!loaded) {
    loaded = loadModule(url);
    modules.set(url, loaded);
  }
  return loaded;
}

function isDefinition(value: unknown): value is TaskDefinition {
  return typeof value === "object" && value !== null && typeof (value as TaskDefinition).name === "string" && typeof (value as TaskDefinition).run === "function";
}

/** The definition named `name` among a module's exports: default or named, alone or in an array. */
function findDefinition(mod: unknown, name: string, depth = 0): TaskDefinition | null {
  if (isDefinition(mod)) return mod.name === name ? mod : null;
  if (Array.isArray(mod)) return mod.find((d): d is TaskDefinition => isDefinition(d) && d.name === name) ?? null;
  if (typeof mod !== "object" || mod === null || depth > 1) return null;
  for (const value of Object.values(mod)) {
    const found = findDefinition(value, name, depth + 1);
    if (found) return found;
  }
  return null;
}

const definitions = new Map<string, TaskDefinition>();
async function definitionOf(module: string, name: string): Promise<TaskDefinition> {
  const key = `${name}@${module}`;
  const known = definitions.get(key);
  if (known) return known;
  let mod: unknown;
  try {
    mod = await moduleAt(module);
  } catch (error) {
    modules.delete(module);
    throw new Error(`cannot load the handler of "${name}" from ${module}: ${(error as Error)?.message ?? String(error)}`);
  }
  const def = findDefinition(mod, name);
  if (!def) throw new Error(`${module} exports no task definition named "${name}" (export it, as default or by name)`);
  definitions.set(key, def);
  return def;
}

/** Log data as the node stores it: JSON values (a function or a socket cannot cross). */
function cloneable(data: unknown): unknown {
  if (data === undefined || data === null || typeof data !== "object") return typeof data === "function" || typeof data === "symbol" ? String(data) : data;
  try {
    return JSON.parse(JSON.stringify(data)) as unknown;
  } catch {
    return String(data);
  }
}

/** This runner's used heap (its own isolate's, in a thread too): about a microsecond. */
function heapUsed(): number {
  return v8.getHeapStatistics().used_heap_size;
}

const controllers = new Map<number, AbortController>();

async function run(id: number, module: string, name: string, data: ContextData): Promise<void> {
  const controller = new AbortController();
  controllers.set(id, controller);
  let progress: { current: number; total: number | null | undefined; message: string | null | undefined } | null = null;
  let progressTimer: NodeJS.Timeout | null = null;
  let progressSentAt = -Infinity;
  const flushProgress = () => {
    if (progressTimer) clearTimeout(progressTimer);
    progressTimer = null;
    if (progress) {
      send({ t: "progress", id, ...progress });
      progressSentAt = performance.now();
    }
    progress = null;
  };
  const log = (level: "debug" | "info" | "warn" | "error") => (message: string, logData?: unknown) =>
    send({ t: "log", id, level, message: String(message), data: cloneable(logData) });
  const ctx: TaskContext = {
    ...data,
    signal: controller.signal,
    progress(current, total, message) {
      if (typeof current !== "number" || !Number.isFinite(current)) return;
      // Only the newest value is kept between sends, as the node keeps only the newest between writes.
      progress = { current, total, message };
      if (progressTimer) return;
      // The first value after a quiet spell goes at once, as it would be seen inline: a run that
      // reports a step and then works for 40 ms shows it (and calls onProgress) in every mode.
      const wait = progressSentAt + PROGRESS_MS - performance.now();
      if (wait <= 0) flushProgress();
      else progressTimer = setTimeout(flushProgress, wait);
    },
    log: { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") },
  };
  try {
    const def = await definitionOf(module, name);
    const value = await def.run(ctx);
    let json: string;
    try {
      json = JSON.stringify(value === undefined ? null : value);
    } catch (error) {
      flushProgress();
      send({
        t: "done",
        id,
        ok: false,
        error: { name: "ResultError", message: `result is not JSON-serialisable: ${(error as Error).message}`, nonRetryable: true },
        heapBytes: heapUsed(),
      });
      return;
    }
    flushProgress();
    send({ t: "done", id, ok: true, json, heapBytes: heapUsed() });
  } catch (error) {
    flushProgress();
    send({ t: "done", id, ok: false, error: errorData(error), heapBytes: heapUsed() });
  } finally {
    controllers.delete(id);
  }
}

function onMessage(message: ToRunner): void {
  switch (message.t) {
    case "init":
      void Promise.allSettled(message.modules.map(moduleAt)).then(() => send({ t: "ready", heapBytes: heapUsed() }));
      break;
    case "run":
      void run(message.id, message.module, message.name, message.ctx);
      break;
    case "abort":
      controllers.get(message.id)?.abort(new TaskAbortedError(message.kind as AbortCause, message.message));
      break;
  }
}

if (port) port.on("message", onMessage);
else process.on("message", onMessage as (m: unknown) => void);
