import type { Logger } from "pino";
import type { Tasklane } from "../client/tasklane.js";
import type { CliConfig } from "./config.js";

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

/** Extensions `tasklane start` runs, in order. Empty in this build (HTTP arrives with its own issue). */
export const START_EXTENSIONS: StartExtension[] = [];
