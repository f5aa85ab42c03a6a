/**
 * Tasklane side by side with graphile-worker, pg-boss and BullMQ: the six scenarios of issue 7,
 * every system on this machine in the same run. Not a test; nothing is asserted.
 *
 *   npm run bench:peers                       # the full run (under 15 min on 2 cores), then render
 *   npm run bench:peers -- --quick            # small sizes, smoke test (~2–3 min)
 *   npm run bench:peers -- --only drain,latency --systems tasklane-pg,pg-boss
 *   npx tsx bench/peers/render.ts             # re-render docs/benchmarks.md from latest.json
 *
 * Options:
 *   --only a,b       scenarios: add, drain, latency, realistic, backlog, failover, held [all]
 *   --systems a,b    tasklane-sqlite, tasklane-pg, graphile-worker, graphile-worker-batched, pg-boss, bullmq [all]
 *   --quick          small sizes (results go to results/quick.json, the page is not rendered)
 *   --size k=v,…     override sizes (keys of FULL_SIZES in scenarios/types.ts), e.g. backlog=200000
 *   --out FILE       where to write the results [results/latest.json for a full run, else results/partial.json]
 *   --no-render      do not render docs/benchmarks.md after a full run
 *
 * Environment: BENCH_PG (server URL; databases bench_* are created and dropped on it), BENCH_REDIS.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ADAPTERS } from "./adapters/index.js";
import type { Adapter } from "./adapters/types.js";
import { parseArgs } from "./common.js";
import { environment } from "./environment.js";
import { SCENARIOS } from "./scenarios/index.js";
import { FULL_SIZES, QUICK_SIZES, type Row, type Sizes } from "./scenarios/types.js";
import { renderPage } from "./render.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const args = parseArgs(process.argv.slice(2));
const quick = args.flag("quick");
const only = args.option("only")?.split(",").map((s) => s.trim());
const systems = args.option("systems")?.split(",").map((s) => s.trim());
for (const s of only ?? []) if (!SCENARIOS.some((x) => x.id === s)) throw new Error(`--only: unknown scenario "${s}" (${SCENARIOS.map((x) => x.id).join(", ")})`);
for (const s of systems ?? []) if (!ADAPTERS.some((x) => x.id === s)) throw new Error(`--systems: unknown system "${s}" (${ADAPTERS.map((x) => x.id).join(", ")})`);
const full = !quick && !only && !systems && !args.option("size");
const out = args.option("out") ?? path.join(here, "results", quick ? "quick.json" : full ? "latest.json" : "partial.json");
const sizes: Sizes = { ...(quick ? QUICK_SIZES : FULL_SIZES) };
// --size key=value,…: override single sizes (e.g. --size backlog=200000) for a partial run.
for (const pair of args.option("size")?.split(",") ?? []) {
  const [key, value] = pair.split("=");
  if (!key || !(key in sizes) || typeof sizes[key as keyof Sizes] !== "number") throw new Error(`--size: unknown size "${key}"`);
  (sizes as unknown as Record<string, number>)[key] = Number(value);
}

// A peer's pool may emit an error after its database is dropped (idle client terminated): log it,
// keep the run going — the scenario that caused it has already recorded its figures or its failure.
process.on("uncaughtException", (error) => console.error(`  (uncaught: ${error.message})`));
process.on("unhandledRejection", (error) => console.error(`  (unhandled: ${error instanceof Error ? error.message : String(error)})`));

const loadavg = () => fs.readFileSync("/proc/loadavg", "utf8").trim();
const started = Date.now();
const loadBefore = loadavg();
console.log(`peer benchmark ${quick ? "(quick) " : ""}— load before: ${loadBefore}`);

const env = await environment();
const adapters: Adapter[] = ADAPTERS.filter((a) => !systems || systems.includes(a.id));
const unavailable = new Map<string, string>();
for (const a of adapters) {
  const why = await a.unavailable();
  if (why) {
    unavailable.set(a.id, why);
    console.log(`  ${a.id}: ${why}`);
  }
}

const scenarioResults = [];
for (const spec of SCENARIOS.filter((s) => !only || only.includes(s.id))) {
  console.log(`\n${spec.title}`);
  const s0 = Date.now();
  const rows: Row[] = [];
  for (const a of adapters) {
    if (unavailable.has(a.id)) {
      rows.push({ system: a.id, values: {}, note: unavailable.get(a.id)! });
      continue;
    }
    try {
      rows.push(...(await spec.run(a, { sizes, log: (m) => console.log(m) })));
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      console.log(`  ${a.id}: FAILED ${message}`);
      rows.push({ system: a.id, values: {}, note: `failed: ${message}` });
    }
  }
  scenarioResults.push({ id: spec.id, title: spec.title, what: spec.what(sizes), columns: spec.columns, rows, seconds: (Date.now() - s0) / 1000 });
  console.log(`  (${((Date.now() - s0) / 1000).toFixed(0)} s)`);
}

const results = {
  generatedAt: new Date().toISOString(),
  command: `npm run bench:peers${process.argv.slice(2).length ? " -- " + process.argv.slice(2).join(" ") : ""}`,
  quick,
  durationSeconds: Math.round((Date.now() - started) / 1000),
  loadavgBefore: loadBefore,
  loadavgAfter: loadavg(),
  ...env,
  hostname: os.hostname(),
  sizes,
  systems: adapters.map((a) => ({
    id: a.id,
    label: a.label,
    version: a.version,
    backend: a.backend,
    settings: a.settings,
    failover: a.failover,
    progressNote: a.progressNote,
    unavailable: unavailable.get(a.id) ?? null,
  })),
  scenarios: scenarioResults,
};
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(out, JSON.stringify(results, null, 2) + "\n");
console.log(`\nwrote ${path.relative(process.cwd(), out)} in ${results.durationSeconds} s; load after: ${results.loadavgAfter}`);
if (full && !args.flag("no-render")) {
  const written = renderPage(out);
  console.log(`rendered ${written.join(", ")}`);
}
// Pools of the peers' libraries may keep timers alive; the results are written.
process.exit(0);
