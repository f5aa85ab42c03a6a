/**
 * The lease renewer's thread. It holds its own database connection and renews the last set of
 * runs the main thread told it about, on its own timer: a handler that blocks the main thread
 * (CPU-bound work, a sync call) cannot starve the heartbeat and lose its task.
 */
import { parentPort, workerData } from "node:worker_threads";
import { openStoreFromThreadConfig } from "../store/open-store.js";
import type { RunRef, StoreThreadConfig } from "../store/store.js";

const { config, heartbeatMs, leaseMs } = workerData as { config: StoreThreadConfig; heartbeatMs: number; leaseMs: number };
const store = await openStoreFromThreadConfig(config);
let refs: RunRef[] = [];
let busy = false;

parentPort!.on("message", (message: { type: "set"; refs: RunRef[] } | { type: "stop" }) => {
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
  const asked = refs;
  try {
    const held = await store.leaseRenewMany(asked, leaseMs);
    parentPort!.postMessage({ type: "held", asked, held });
  } catch (error) {
    parentPort!.postMessage({ type: "error", message: (error as Error).message });
  } finally {
    busy = false;
  }
}, heartbeatMs);
