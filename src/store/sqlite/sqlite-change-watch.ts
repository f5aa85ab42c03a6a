/**
 * Noticing another connection's commit to a SQLite file in WAL mode, within microseconds.
 *
 * Every commit in WAL mode appends its pages to the `-wal` file with write(2), and on Linux
 * inotify (`fs.watch`) reports every such write, by any process, at once. The event alone says
 * "someone wrote", not "someone else committed": this connection's own commits write there too,
 * and the event comes after the pages are written but before the commit is published in the
 * wal-index (with synchronous FULL the writer fsyncs in between). So each event is checked
 * against `PRAGMA data_version`, which changes only when *another* connection has committed, and
 * when it has not changed yet the check is repeated a few times over the next ~30 ms (1, 1, 2, 4,
 * 8, 16 ms apart) to catch a commit still on its way. A slow safety poll stays, for what the
 * watch can miss: the `-wal` file not existing yet or being replaced, a file system without
 * inotify (network mounts), `fs.watch` failing. While no watch is set, the poll runs at the old
 * 10 ms pace.
 */
import fs from "node:fs";

export interface WalChangeWatchOptions {
  /** The database file's `-wal` file. */
  walPath: string;
  /** `PRAGMA data_version` of the connection; throws once the connection is closed. */
  dataVersion: () => number;
  /** Another connection has committed. */
  onChange: () => void;
  /** The poll while the watch is set, ms [250]. */
  safetyPollMs?: number;
  /** The poll while no watch could be set, ms [10]. */
  fallbackPollMs?: number;
}

/** Re-checks after an event that found no change yet, ms apart: a commit between write and publish. */
const SETTLE_STEPS_MS = [1, 1, 2, 4, 8, 16];

/** Watches until the returned function is called. */
export function watchWalChanges(options: WalChangeWatchOptions): () => void {
  const safetyPollMs = options.safetyPollMs ?? 250;
  const fallbackPollMs = options.fallbackPollMs ?? 10;
  let stopped = false;
  let last = options.dataVersion();
  let watcher: fs.FSWatcher | null = null;
  let pollTimer: NodeJS.Timeout | null = null;
  let settleTimer: NodeJS.Timeout | null = null;
  let settleStep = 0;

  /** True when another connection committed since the last check (and reports it). */
  const check = (): boolean => {
    if (stopped) return false;
    let version: number;
    try {
      version = options.dataVersion();
    } catch {
      stop(); // the connection is closed
      return false;
    }
    if (version === last) return false;
    last = version;
    options.onChange();
    return true;
  };

  const settle = () => {
    settleTimer = null;
    if (check() || stopped || settleStep >= SETTLE_STEPS_MS.length) return;
    settleTimer = setTimeout(settle, SETTLE_STEPS_MS[settleStep++]);
  };

  const onWalEvent = (event: string) => {
    if (stopped) return;
    // The file was removed or replaced: this watch follows the old inode, so set a new one.
    if (event === "rename") rearm();
    if (check()) return;
    // Each event starts the re-checks over from the shortest step: a busy process's own commits
    // keep them at a 1 ms pace (a 2.5 µs PRAGMA each), so another process's commit arriving
    // meanwhile is never left waiting for a long step.
    settleStep = 0;
    if (settleTimer) clearTimeout(settleTimer);
    settleTimer = setTimeout(settle, SETTLE_STEPS_MS[settleStep++]);
  };

  const arm = () => {
    if (watcher || stopped) return;
    try {
      // Not persistent: the poll timer keeps the process alive exactly as before this watch.
      const w = fs.watch(options.walPath, { persistent: false }, onWalEvent);
      w.on("error", () => {
        if (watcher === w) rearm();
      });
      watcher = w;
    } catch {
      watcher = null; // no -wal file yet, or no inotify: the fallback poll runs until it can be set
    }
  };

  const schedulePoll = () => {
    if (pollTimer) clearTimeout(pollTimer);
    pollTimer = stopped ? null : setTimeout(poll, watcher ? safetyPollMs : fallbackPollMs);
  };

  /** Drops the watch and sets a new one on the file now at the path (the fallback poll if none). */
  const rearm = () => {
    watcher?.close();
    watcher = null;
    arm();
    schedulePoll();
  };

  const poll = () => {
    pollTimer = null;
    if (stopped) return;
    // A watch set just now cannot report writes made before it: the check right after covers them.
    arm();
    check();
    schedulePoll();
  };

  const stop = () => {
    stopped = true;
    watcher?.close();
    watcher = null;
    if (pollTimer) clearTimeout(pollTimer);
    if (settleTimer) clearTimeout(settleTimer);
    pollTimer = settleTimer = null;
  };

  arm();
  schedulePoll();
  return stop;
}
