import { pino, type DestinationStream, type Logger } from "pino";
import { painter, useColor, type Style } from "./format.js";

export type LogFormat = "json" | "pretty";

export interface LoggerOptions {
  /** `json`: one pino JSON object per line (for log collectors); `pretty`: for people [pretty on a TTY, else json]. */
  format?: LogFormat | "auto";
  /** pino level [info]. */
  level?: string;
  /** This node's name, added to every line. */
  node: string;
}

const LEVEL_NAMES: Record<number, { name: string; style: Style }> = {
  10: { name: "trace", style: "gray" },
  20: { name: "debug", style: "gray" },
  30: { name: "info", style: "green" },
  40: { name: "warn", style: "yellow" },
  50: { name: "error", style: "red" },
  60: { name: "fatal", style: "red" },
};

const HIDDEN_KEYS = new Set(["level", "time", "msg", "pid", "hostname", "node"]);

/**
 * A tiny human formatter for pino lines (pino-pretty is not a dependency):
 * `09:00:00.123 info  task succeeded id=01k… type=export-report ms=4120`.
 */
function prettyDestination(): DestinationStream {
  const paint = painter(useColor(process.stdout));
  return {
    write(line: string) {
      let record: Record<string, unknown>;
      try {
        record = JSON.parse(line) as Record<string, unknown>;
      } catch {
        process.stdout.write(line);
        return;
      }
      const level = LEVEL_NAMES[Number(record.level)] ?? { name: String(record.level), style: "bold" as Style };
      const time = new Date(Number(record.time)).toISOString().slice(11, 23);
      const fields = Object.entries(record)
        .filter(([k]) => !HIDDEN_KEYS.has(k))
        .map(([k, v]) => {
          if (k === "err" && v && typeof v === "object") {
            const e = v as { message?: string; stack?: string };
            return `err=${JSON.stringify(e.message ?? "")}` + (e.stack && process.env.TASKLANE_DEBUG === "1" ? `\n${e.stack}` : "");
          }
          return `${k}=${typeof v === "string" && !/\s/.test(v) ? v : JSON.stringify(v)}`;
        })
        .join(" ");
      process.stdout.write(
        `${paint("dim", time)} ${paint(level.style, level.name.padEnd(5))} ${String(record.msg ?? "")}${fields ? " " + paint("dim", fields) : ""}\n`,
      );
    },
  };
}

/** The worker's logger: pino to stdout, synchronous writes so nothing is lost at exit. */
export function createLogger(options: LoggerOptions): Logger {
  const format = !options.format || options.format === "auto" ? (process.stdout.isTTY ? "pretty" : "json") : options.format;
  const destination = format === "pretty" ? prettyDestination() : pino.destination({ dest: 1, sync: true });
  return pino(
    {
      level: options.level ?? "info",
      base: { pid: process.pid, node: options.node },
    },
    destination,
  );
}
