import type { Command } from "commander";
import type { Logger } from "pino";
import type { Tasklane } from "../client/tasklane.js";
import { serveHttp } from "../server/serve.js";
import type { CliConfig } from "./config.js";
import { CliError } from "./errors.js";
import { intArg, nonEmptyArg } from "./parsers.js";

/**
 * The seam where `tasklane start` grows beyond the worker: each extension starts after the
 * worker (the scheduler, the HTTP API and dashboard on `config.port`/`config.host`) and stops
 * before it, in reverse order. `tasklane worker` starts none of them.
 *
 * To add one, push a factory onto {@link START_EXTENSIONS} (for example from
 * `src/cli/start-extensions.ts` importing `../server/...`).
 */
export interface StartExtension {
  /** Short name for logs ("http", "scheduler"). */
  name: string;
  /** Starts the service; resolves once it is ready. */
  start(context: StartExtensionContext): Promise<RunningExtension | null>;
}

export interface StartExtensionContext {
  lane: Tasklane;
  config: CliConfig;
  log: Logger;
}

export interface RunningExtension {
  /** Lines added to the startup banner, e.g. `http  http://127.0.0.1:8080/`. */
  banner?: Array<[label: string, value: string]>;
  /** Stops the service; called on SIGTERM/SIGINT before the worker drains. */
  stop(): Promise<void>;
}

/** Defaults of the HTTP server of `tasklane start`. */
export const DEFAULT_HTTP_PORT = 7070;
export const DEFAULT_HTTP_HOST = "127.0.0.1";
/** Task event log rows older than this are pruned by `tasklane start` (hourly). */
const TASK_EVENT_RETENTION_MS = 7 * 86_400_000;

/** The start command's own flags of the extensions (`--port`, `--host`, `--no-http`), captured before its action runs. */
const startFlags: { port?: number; host?: string; http?: boolean } = {};

/** Adds the extensions' flags to `tasklane start`. */
export function configureStartCommand(start: Command | undefined): void {
  if (!start) return;
  start
    .option("--port <n>", `HTTP API port, 0 = any free port (env TASKLANE_PORT) [${DEFAULT_HTTP_PORT}]`, intArg(0, 65535))
    .option("--host <host>", `HTTP API interface (env TASKLANE_HOST) [${DEFAULT_HTTP_HOST}]`, nonEmptyArg)
    .option("--no-http", "do not serve the HTTP API")
    .hook("preAction", (command) => {
      const o = command.opts() as { port?: number; host?: string; http?: boolean };
      startFlags.port = o.port;
      startFlags.host = o.host;
      startFlags.http = o.http;
    });
}

/** The HTTP API (and, later, the dashboard). The first start with no users creates an admin and prints its login URL. */
const httpExtension: StartExtension = {
  name: "http",
  async start({ lane, config, log }) {
    if (startFlags.http === false) return null;
    const port = startFlags.port ?? config.port ?? DEFAULT_HTTP_PORT;
    const host = startFlags.host ?? config.host ?? DEFAULT_HTTP_HOST;
    let firstToken: string | null = null;
    if ((await lane.users.count()) === 0) {
      try {
        firstToken = (await lane.users.add("admin", { role: "admin", label: "created by the first tasklane start" })).token.token;
      } catch {
        // Another process created it at the same moment: nothing to print here.
      }
    }
    let server;
    try {
      server = await serveHttp(lane, { port, host, logger: log });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "EADDRINUSE") throw new CliError(`--port: ${host}:${port} is already in use; choose another with --port or TASKLANE_PORT (or --no-http)`);
      if (code === "EADDRNOTAVAIL" || code === "ENOTFOUND") throw new CliError(`--host: cannot listen on ${host}`);
      throw error;
    }
    const prune = setInterval(() => {
      lane.pruneTaskEvents(TASK_EVENT_RETENTION_MS).catch((err: Error) => log.error({ err }, "task event pruning failed"));
    }, 3_600_000);
    prune.unref();
    log.info({ url: server.url }, "http api listening");
    if (firstToken) log.warn({ user: "admin" }, "no users existed: created admin; its login URL with the token is printed once on stderr");
    const banner: Array<[string, string]> = [
      ["dashboard", `${server.url}/  (log in with an API token: tasklane user token <name>)`],
      ["http", `${server.url}/api  (docs/http.md)`],
    ];
    if (firstToken) banner.push(["login", `${server.url}/?token=${firstToken}  (admin token, shown once)`]);
    return {
      banner,
      stop: async () => {
        clearInterval(prune);
        await server.close();
      },
    };
  },
};

/** Extensions `tasklane start` runs, in order. */
export const START_EXTENSIONS: StartExtension[] = [httpExtension];
