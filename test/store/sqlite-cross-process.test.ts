/**
 * The SQLite store with other processes on the same file: waiting for another process's write
 * lock (and giving up after busyTimeoutMs), and being woken by another process's commit through
 * watchChanges without its safety poll. Speed is not asserted here (see bench/peers).
 */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { tempDir } from "../helpers/temp.js";
import { newTask } from "./conformance.js";

const OTHER = fileURLToPath(new URL("../fixtures/sqlite-other-process.mjs", import.meta.url));
const ROOT = fileURLToPath(new URL("../..", import.meta.url));

const tmp = tempDir("tasklane-xproc-");
afterAll(() => tmp.cleanup());
let n = 0;
const stores: SqliteStore[] = [];
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  for (const s of stores.splice(0)) await s.close();
});

function open(file: string, options: { busyTimeoutMs?: number; changeSafetyPollMs?: number; changeFallbackPollMs?: number } = {}): SqliteStore {
  const store = new SqliteStore({ path: file, ...options });
  stores.push(store);
  return store;
}

/** Polls far beyond any test: only the file watch can report in time. */
const NO_POLL = { changeSafetyPollMs: 600_000, changeFallbackPollMs: 600_000 };

const epochNow = () => performance.timeOrigin + performance.now();

/** Another process on `file`; `line(prefix)` resolves with the rest of its next line starting so. */
function other(file: string, ...args: string[]) {
  const proc = spawn(process.execPath, [OTHER, file, ...args], { cwd: ROOT, stdio: ["pipe", "pipe", "pipe"] });
  children.push(proc);
  let stderr = "";
  proc.stderr!.on("data", (d) => (stderr += String(d)));
  const lines: string[] = [];
  const waiters: Array<{ prefix: string; resolve: (rest: string) => void }> = [];
  readline.createInterface({ input: proc.stdout! }).on("line", (l) => {
    const i = waiters.findIndex((w) => l.startsWith(w.prefix));
    if (i < 0) return void lines.push(l);
    const w = waiters.splice(i, 1)[0]!;
    w.resolve(l.slice(w.prefix.length));
  });
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
  return {
    proc,
    exited,
    line(prefix: string, timeoutMs = 20_000): Promise<string> {
      const i = lines.findIndex((l) => l.startsWith(prefix));
      if (i >= 0) return Promise.resolve(lines.splice(i, 1)[0]!.slice(prefix.length).trim());
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no "${prefix}" line from the other process; stderr: ${stderr}`)), timeoutMs);
        waiters.push({
          prefix,
          resolve: (rest) => {
            clearTimeout(timer);
            resolve(rest.trim());
          },
        });
        void exited.then(() => setTimeout(() => reject(new Error(`the other process exited; stderr: ${stderr}`)), 100));
      });
    },
    send: (text: string) => proc.stdin!.write(text + "\n"),
  };
}

const task = (id: string) => newTask({ id, type: "t" });
const limits = { maxQueued: new Map<string, number>() };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `promise`, or a failure after `ms` (far beyond any normal wait; speed is not asserted). */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms)));
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

describe("SQLite store, write lock held by another process", () => {
  it("waits for it and writes right after it commits", async () => {
    const file = path.join(tmp.dir, `lock${++n}.db`);
    const store = open(file);
    const holder = other(file, "hold", "50");
    const lockedAt = Number(await holder.line("locked "));
    let error: unknown = null;
    try {
      await store.taskInsertMany([task("waited")], limits);
    } catch (e) {
      error = e;
    }
    const wroteAt = epochNow();
    const committedAt = Number(await holder.line("committed "));
    expect(error).toBeNull();
    expect(await holder.exited).toBe(0);
    // It could only write after the holder's commit, so it waited at least the holding time.
    // (1 ms of slack: the two processes' clocks agree only to within a fraction of that.)
    expect(wroteAt).toBeGreaterThanOrEqual(committedAt - 1);
    expect(wroteAt - lockedAt).toBeGreaterThanOrEqual(49);
    expect((await store.taskGet("waited"))?.status).toBe("queued");
  });

  it("gives up with SQLite's own 'database is locked' after busyTimeoutMs", async () => {
    const file = path.join(tmp.dir, `lock${++n}.db`);
    const store = open(file, { busyTimeoutMs: 30 });
    const holder = other(file, "hold", "3000");
    await holder.line("locked ");
    const t0 = performance.now();
    let error: unknown = null;
    try {
      await store.taskInsertMany([task("refused")], limits);
    } catch (e) {
      error = e;
    }
    const waited = performance.now() - t0;
    expect(error).toMatchObject({ code: "SQLITE_BUSY", message: "database is locked" });
    expect(waited).toBeGreaterThanOrEqual(30);
    // It gave up at its bound, not when the holder let go.
    expect(waited).toBeLessThan(2500);
    await holder.line("committed ");
    // Nothing half-done: the busy timeout is back for reads, and the next write goes through.
    expect(await store.taskGet("refused")).toBeNull();
    await store.taskInsertMany([task("later")], limits);
    expect((await store.taskGet("later"))?.status).toBe("queued");
  });
});

describe("SQLite store, watchChanges across processes", () => {
  it("is called for another process's commit without waiting for its safety poll, not for its own commits", async () => {
    const file = path.join(tmp.dir, `watch${++n}.db`);
    const store = open(file, NO_POLL);
    const writer = other(file, "commit");
    await writer.line("ready");
    let calls = 0;
    let onCall: (() => void) | null = null;
    const unwatch = store.watchChanges(() => {
      calls += 1;
      onCall?.();
    });
    const nextCall = () => new Promise<void>((resolve) => (onCall = resolve));

    // Its own commits: never reported.
    for (let i = 0; i < 5; i++) await store.taskInsertMany([task(`own${i}`)], limits);
    await sleep(150);
    expect(calls).toBe(0);

    for (let i = 1; i <= 3; i++) {
      const called = nextCall();
      writer.send("commit");
      await writer.line("committed ");
      await within(called, 10_000, "watchChanges after the other process's commit");
      expect(calls).toBe(i);
    }

    // After unwatch: silent.
    unwatch();
    writer.send("commit");
    await writer.line("committed ");
    await sleep(150);
    expect(calls).toBe(3);
  });

  it("is called for another connection's commit in the same process, and stops at close", async () => {
    const file = path.join(tmp.dir, `watch${++n}.db`);
    const a = open(file, NO_POLL);
    const b = open(file);
    let calls = 0;
    let onCall: (() => void) | null = null;
    a.watchChanges(() => {
      calls += 1;
      onCall?.();
    });
    const called = new Promise<void>((resolve) => (onCall = resolve));
    await b.taskInsertMany([task("from-b")], limits);
    await within(called, 10_000, "watchChanges after the other connection's commit");
    expect(calls).toBe(1);
    await a.close();
    await b.taskInsertMany([task("after-close")], limits);
    await sleep(100);
    expect(calls).toBe(1);
  });

  it("keeps reporting through the file watch after a TRUNCATE checkpoint empties the -wal file", async () => {
    const file = path.join(tmp.dir, `watch${++n}.db`);
    const a = open(file, NO_POLL);
    const b = open(file);
    let calls = 0;
    a.watchChanges(() => (calls += 1));
    // TRUNCATE empties the file in place; the watch must keep working after it.
    (b as unknown as { shared: { db: { pragma(s: string): unknown } } }).shared.db.pragma("wal_checkpoint(TRUNCATE)");
    await sleep(100);
    const before = calls;
    await b.taskInsertMany([task("after-truncate")], limits);
    for (let i = 0; i < 200 && calls === before; i++) await sleep(10);
    expect(calls).toBeGreaterThan(before);
  });

  it("is a no-op for :memory:", async () => {
    const store = open(":memory:");
    const unwatch = store.watchChanges(() => {
      throw new Error("not expected");
    });
    await store.taskInsertMany([task("m")], limits);
    await sleep(30);
    unwatch();
  });
});
