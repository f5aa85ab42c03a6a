/**
 * The lease renewer's thread. It holds its own database connection and renews the last set of
 * runs the main thread told it about, on its own timer: a handler that blocks the main thread
 * (CPU-bound work, a sync call) cannot starve the heartbeat and lose its task.
 */
import { parentPort, workerData } from "node:worker_threads";
import { openStoreFromThreadConfig } from "../store/open-store.js";
import type { StoreThreadConfig } from "../store/store.js";
import type { RenewableRun } from "./lease-renewer.js";

const { config, heartbeatMs, leaseMs } = workerData as { config: StoreThreadConfig; heartbeatMs: number; leaseMs: number };
const store = await openStoreFromThreadConfig(config);
let refs: RenewableRun[] = [];
let busy = false;

parentPort!.on("message", (message: { type: "set"; refs: RenewableRun[] } | { type: "stop" }) => {
  if (message.type === "set") refs = message.refs;
  else {
    clearInterval(timer);
    void store.close().then(() => parentPort!.close());
  }
});

parentPort!.postMessage({ type: "ready" });

const timer = setInterval(async () => {
  if (busy || refs.length === 0) return;
  busy = true;
  // A run past its deadline is left to lapse: its handler is stuck past its timeout.
  const now = Date.now();
  const asked = refs.filter((r) => r.renewUntil === null || r.renewUntil > now);
  if (asked.length === 0) {
    busy = false;
    return;
  }
  try {
    const held = await store.leaseRenewMany(asked, leaseMs);
    parentPort!.postMessage({ type: "held", asked, held });
  } catch (error) {
    parentPort!.postMessage({ type: "error", message: (error as Error).message });
  } finally {
    busy = false;
  }
}, heartbeatMs);
