/**
 * Renders a results file (default results/latest.json) into docs/benchmarks.md — between the
 * `<!-- peers:begin -->` and `<!-- peers:end -->` markers, the rest of the page is hand-written —
 * and the chart docs/benchmarks-peers.svg. Separate from the run so a page can be re-rendered
 * without re-measuring:
 *
 *   npx tsx bench/peers/render.ts [results.json]
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { adapterById } from "./adapters/index.js";
import { chartSvg, type Panel } from "./svg.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
const PAGE = path.join(root, "docs/benchmarks.md");
const SVG = path.join(root, "docs/benchmarks-peers.svg");
const BEGIN = "<!-- peers:begin -->";
const END = "<!-- peers:end -->";

interface Column {
  key: string;
  label: string;
  better: "higher" | "lower";
  digits?: number;
}
interface Row {
  system: string;
  case?: string;
  values: Record<string, number | null>;
  note?: string;
}
interface Scenario {
  id: string;
  title: string;
  what: string;
  columns: Column[];
  rows: Row[];
  seconds: number;
}
interface SystemInfo {
  id: string;
  label: string;
  version: string;
  backend: string;
  settings: string;
  progressNote: string;
  unavailable: string | null;
  failover: { defaultSettings: string; shortSettings: string };
}
interface Results {
  generatedAt: string;
  command: string;
  quick: boolean;
  durationSeconds: number;
  loadavgBefore: string;
  loadavgAfter: string;
  machine: { cores: number; cpu: string; ramGiB: number; os: string };
  versions: Record<string, string | null>;
  postgres: Record<string, string>;
  systems: SystemInfo[];
  scenarios: Scenario[];
  sizes: { backlog: number };
}

const COLORS: Record<string, string> = {
  "tasklane-sqlite": "#1f77b4",
  "tasklane-sqlite-inproc": "#6baed6",
  "tasklane-pg": "#08306b",
  "graphile-worker": "#ff7f0e",
  "graphile-worker-batched": "#d94801",
  "pg-boss": "#2ca02c",
  bullmq: "#d62728",
};

export function fmt(v: number | null | undefined, digits = 0): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "–";
  return v.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function labelOf(r: Results, id: string): string {
  if (id === "tasklane-sqlite-inproc") return "Tasklane (SQLite), worker in-process";
  return r.systems.find((s) => s.id === id)?.label ?? id;
}

function table(r: Results, s: Scenario): string {
  const hasCase = s.rows.some((x) => x.case);
  const hasNote = s.rows.some((x) => x.note);
  const head = ["system", ...(hasCase ? ["case"] : []), ...s.columns.map((c) => c.label), ...(hasNote ? ["note"] : [])];
  // Bold the best figure of each column within each case.
  const best = new Map<string, number>();
  for (const c of s.columns) {
    for (const kase of new Set(s.rows.map((x) => x.case ?? ""))) {
      const vals = s.rows.filter((x) => (x.case ?? "") === kase).map((x) => x.values[c.key]).filter((v): v is number => typeof v === "number" && Number.isFinite(v));
      if (vals.length > 1) best.set(`${kase}|${c.key}`, c.better === "higher" ? Math.max(...vals) : Math.min(...vals));
    }
  }
  // Grouped by case in the order the scenario ran them; systems that did not run go last.
  const cases = [...new Set(s.rows.filter((x) => x.case).map((x) => x.case!))];
  const rank = (x: Row) => (x.case ? cases.indexOf(x.case) : cases.length);
  const rows = [...s.rows].sort((a, b) => rank(a) - rank(b));
  const lines = [`| ${head.join(" | ")} |`, `|${head.map((_, i) => (i === 0 || (hasCase && i === 1) || (hasNote && i === head.length - 1) ? "---" : "---:")).join("|")}|`];
  for (const x of rows) {
    const cells = s.columns.map((c) => {
      const v = x.values[c.key];
      const text = fmt(v, c.digits ?? 0);
      return typeof v === "number" && best.get(`${x.case ?? ""}|${c.key}`) === v ? `**${text}**` : text;
    });
    const unavailable = r.systems.find((y) => y.id === x.system)?.unavailable;
    const note = unavailable ? "not run (see the systems table)" : (x.note ?? "");
    lines.push(`| ${[labelOf(r, x.system), ...(hasCase ? [x.case ?? ""] : []), ...cells, ...(hasNote ? [note.replace(/\|/g, "\\|")] : [])].join(" | ")} |`);
  }
  return lines.join("\n");
}

/** The figures the chart shows: one panel per (scenario, key figure[, case]). */
function panels(r: Results): Panel[] {
  const out: Panel[] = [];
  // Unmeasured failover: the bound follows from the peer's code and settings (adapters/*.ts), not from a run.
  const brief = (system: string, kase?: string) => {
    try {
      const f = adapterById(system).failover;
      return kase === "default" ? f.defaultBrief : kase === "short" ? f.shortBrief : undefined;
    } catch {
      return undefined;
    }
  };
  const add = (s: Scenario | undefined, key: string, title: string, kase?: string) => {
    if (!s) return;
    const col = s.columns.find((c) => c.key === key)!;
    const rows = s.rows.filter((x) => (kase === undefined ? true : x.case === kase));
    if (!rows.length) return;
    out.push({
      title,
      better: col.better,
      format: (v) => fmt(v, col.digits ?? 0),
      bars: rows.map((x) => {
        const v = x.values[key];
        const unavailable = r.systems.find((sy) => sy.id === x.system)?.unavailable;
        return {
          label: labelOf(r, x.system).replace(", worker in-process", " in-proc"),
          value: typeof v === "number" ? v : null,
          color: COLORS[x.system] ?? "#777",
          missing: unavailable
            ? "not run (no Redis driver installed)"
            : x.note?.startsWith("failed")
              ? "failed"
              : (brief(x.system, s.id === "failover" ? kase : undefined) ?? "not measured (see table)"),
        };
      }),
    });
  };
  const by = (id: string) => r.scenarios.find((s) => s.id === id);
  add(by("add"), "oneByOne", "1. add one by one, awaited (tasks/s)");
  add(by("add"), "batched", "1. batched add (tasks/s)");
  for (const kase of ["c10×1", "c100×1", "c10×2", "c100×2"]) add(by("drain"), "rate", `2. drain no-ops, ${kase.replace("c", "concurrency ").replace("×", " × ")} proc (tasks/s)`, kase);
  add(by("latency"), "p50", "3. add→start latency p50 (ms)");
  add(by("latency"), "p99", "3. add→start latency p99 (ms)");
  add(by("realistic"), "rate", "4. realistic tasks with progress (tasks/s)");
  add(by("backlog"), "rate", "5. drain rate with a deep backlog (tasks/s)", deepestBacklog(r));
  add(by("failover"), "allSeconds", "6. failover, defaults (s until all restarted)", "default");
  add(by("failover"), "allSeconds", "6. failover, shortest settings (s until all restarted)", "short");
  return out;
}

/** The case of the deepest backlog (runs before the claim-cost curve had one row per system: none). */
function deepestBacklog(r: Results): string | undefined {
  const rows = r.scenarios.find((s) => s.id === "backlog")?.rows ?? [];
  if (!rows.some((x) => x.case)) return undefined;
  return `${r.sizes.backlog.toLocaleString("en-US")} queued`;
}

/** Where Tasklane stands against the best peer, per headline figure. */
function standings(r: Results): string {
  const lines = ["| figure | Tasklane (SQLite) | Tasklane (PostgreSQL) | best peer |", "|---|---:|---:|---|"];
  const pick = (sid: string, key: string, kase?: string, title?: string) => {
    const s = r.scenarios.find((x) => x.id === sid);
    if (!s) return;
    const col = s.columns.find((c) => c.key === key)!;
    const rows = s.rows.filter((x) => kase === undefined || x.case === kase);
    const val = (id: string) => rows.find((x) => x.system === id)?.values[key] ?? null;
    const peers = rows.filter((x) => !x.system.startsWith("tasklane") && typeof x.values[key] === "number");
    const bestPeer = peers.sort((a, b) => (col.better === "higher" ? b.values[key]! - a.values[key]! : a.values[key]! - b.values[key]!))[0];
    // No peer figure at all (failover at defaults): the peers' bounds are in the table's notes.
    const peersBeyond = !bestPeer && rows.some((x) => !x.system.startsWith("tasklane") && x.note && !x.note.startsWith("not run"));
    const mark = (v: number | null) => {
      if (v === null) return "–";
      if (!bestPeer) return `${fmt(v, col.digits ?? 0)}${peersBeyond ? " ahead" : ""}`;
      const best = bestPeer.values[key]!;
      if (fmt(v, col.digits ?? 0) === fmt(best, col.digits ?? 0)) return `${fmt(v, col.digits ?? 0)} even`;
      const ahead = col.better === "higher" ? v > best : v < best;
      return `${fmt(v, col.digits ?? 0)} ${ahead ? "ahead" : "**behind**"}`;
    };
    // Latency on SQLite: the embedded figure (its intended use), with the cross-process one beside it.
    const embedded = val("tasklane-sqlite-inproc");
    const sqliteCell =
      embedded !== null ? `${mark(embedded)} embedded; ${fmt(val("tasklane-sqlite"), col.digits ?? 0)} cross-process` : mark(val("tasklane-sqlite"));
    lines.push(
      `| ${title ?? `${s.title}: ${col.label}`} | ${sqliteCell} | ${mark(val("tasklane-pg"))} | ${bestPeer ? `${labelOf(r, bestPeer.system)}: ${fmt(bestPeer.values[key], col.digits ?? 0)}` : peersBeyond ? "none measurable within the run (see 6.)" : "–"} |`,
    );
  };
  pick("add", "oneByOne", undefined, "1. add one by one (tasks/s)");
  pick("add", "batched", undefined, "1. batched add (tasks/s)");
  for (const k of ["c10×1", "c100×1", "c10×2", "c100×2"]) pick("drain", "rate", k, `2. drain ${k} (tasks/s)`);
  pick("latency", "p50", undefined, "3. latency p50 (ms)");
  pick("latency", "p99", undefined, "3. latency p99 (ms)");
  pick("realistic", "rate", undefined, "4. realistic (tasks/s)");
  pick("backlog", "firstClaimMs", deepestBacklog(r), "5. backlog: first claim (ms)");
  pick("backlog", "rate", deepestBacklog(r), "5. backlog: drain rate (tasks/s)");
  pick("failover", "allSeconds", "default", "6. failover, defaults (s)");
  pick("failover", "allSeconds", "short", "6. failover, shortest settings (s)");
  pick("held", "maxBacklogSeconds", undefined, "7. held transaction: largest backlog (s of load)");
  pick("held", "holdRate", undefined, "7. held transaction: finished/s while held");
  return lines.join("\n");
}

export function renderSection(r: Results, svgName: string): string {
  const v = r.versions;
  const load1 = (s: string) => Number(s.split(" ")[0]);
  const noisy = Math.max(load1(r.loadavgBefore), load1(r.loadavgAfter)) > r.machine.cores * 0.5;
  const out: string[] = [];
  out.push(`Measured ${r.generatedAt.slice(0, 16).replace("T", " ")} UTC with \`${r.command}\`; the run took ${fmt(r.durationSeconds / 60, 1)} minutes.`);
  out.push("");
  out.push(
    `- **Machine**: ${r.machine.cores} cores (${r.machine.cpu}), ${r.machine.ramGiB} GiB RAM, ${r.machine.os}; every system, its database and the load generator on this one box.`,
  );
  out.push(
    `- **Versions**: Node ${v.node}; ${v.postgres} (shared_buffers ${r.postgres.shared_buffers}, synchronous_commit ${r.postgres.synchronous_commit}, fsync ${r.postgres.fsync}, max_connections ${r.postgres.max_connections}); Redis ${v.redis ?? "?"}${v.redisDurability ? ` (${v.redisDurability}: BullMQ's adds here are acknowledged before anything reaches disk, unlike the PostgreSQL and SQLite systems, which fsync)` : ""}; pg ${v.pg}; better-sqlite3 ${v["better-sqlite3"]}.`,
  );
  out.push(
    `- **Load average** (\`/proc/loadavg\`) before: \`${r.loadavgBefore}\`, after: \`${r.loadavgAfter}\`.${noisy ? " The machine was shared with other work during this run, so absolute figures are noisy (±20–50% between runs); the ordering of systems is what to read." : ""}`,
  );
  out.push("");
  out.push("| system | version | settings |");
  out.push("|---|---|---|");
  for (const s of r.systems) out.push(`| ${s.label} | ${s.version} | ${s.unavailable ? `**${s.unavailable}.** ` : ""}${s.settings} |`);
  out.push("");
  out.push(`![Tasklane and its peers, one bar per system](${svgName})`);
  out.push("");
  out.push("### Where Tasklane stands");
  out.push("");
  out.push("Each Tasklane figure against the best peer on that figure (ahead / behind).");
  out.push("");
  out.push(standings(r));
  for (const s of r.scenarios) {
    out.push("");
    out.push(`### ${s.title}`);
    out.push("");
    out.push(s.what);
    out.push("");
    out.push(table(r, s));
    if (s.id === "realistic") {
      // One line per distinct progress mechanism, not one per system.
      const by = new Map<string, string[]>();
      for (const x of r.systems) by.set(x.progressNote, [...(by.get(x.progressNote) ?? []), x.label]);
      out.push("");
      out.push("Progress reporting: " + [...by].map(([note, labels]) => `${labels.join(", ")}: ${note}`).join("; ") + ".");
    }
  }
  return out.join("\n");
}

export function renderPage(file: string): string[] {
  const r = JSON.parse(fs.readFileSync(file, "utf8")) as Results;
  const svgName = path.basename(SVG);
  const subtitle = `${r.machine.cores} cores (${r.machine.cpu}), Node ${r.versions.node}, ${r.versions.postgres}, Redis ${r.versions.redis}; ${r.generatedAt.slice(0, 10)}; load before/after ${r.loadavgBefore.split(" ").slice(0, 3).join(" ")} / ${r.loadavgAfter.split(" ").slice(0, 3).join(" ")}`;
  fs.writeFileSync(SVG, chartSvg("Tasklane and peers, same machine, same run", subtitle, panels(r)));
  const page = fs.readFileSync(PAGE, "utf8");
  const a = page.indexOf(BEGIN);
  const b = page.indexOf(END);
  if (a < 0 || b < a) throw new Error(`${PAGE}: markers ${BEGIN} … ${END} not found`);
  fs.writeFileSync(PAGE, page.slice(0, a + BEGIN.length) + "\n" + renderSection(r, svgName) + "\n" + page.slice(b));
  return [path.relative(process.cwd(), PAGE), path.relative(process.cwd(), SVG)];
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const file = process.argv[2] ?? path.join(here, "results/latest.json");
  console.log(`rendered ${renderPage(file).join(", ")} from ${path.relative(process.cwd(), file)}`);
}
