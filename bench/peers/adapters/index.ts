/** Every system under test, in the order the results page lists them. */
import { bullmq } from "./bullmq.js";
import { graphileWorker, graphileWorkerBatched } from "./graphile-worker.js";
import { pgBoss } from "./pg-boss.js";
import { tasklanePg, tasklaneSqlite } from "./tasklane.js";
import type { Adapter } from "./types.js";

export const ADAPTERS: Adapter[] = [tasklaneSqlite, tasklanePg, graphileWorker, graphileWorkerBatched, pgBoss, bullmq];

export function adapterById(id: string): Adapter {
  const a = ADAPTERS.find((x) => x.id === id);
  if (!a) throw new Error(`unknown system "${id}" (one of ${ADAPTERS.map((x) => x.id).join(", ")})`);
  return a;
}
