import fs from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { TaskDefinition } from "../model/options.js";
import { CliError } from "./errors.js";
import { describeSyntaxError } from "./task-file-error.js";

/** Extensions of task modules; `.d.ts` files and names starting with `_` or `.` are skipped. */
const MODULE_EXTENSIONS = [".js", ".mjs", ".ts", ".mts"];

/** The example tasks shipped with the package (`<package>/examples/tasks/`). */
export function bundledTasksDir(): string {
  // dist/cli/task-loader.js -> <package>/examples/tasks/
  return fileURLToPath(new URL("../../examples/tasks", import.meta.url));
}

export interface TaskFolder {
  dir: string;
  /** Where the folder choice came from, for the banner. */
  source: "option" | "./tasks" | "bundled examples";
}

/** `explicit` (from --tasks, TASKLANE_TASKS or the config file), else `./tasks` if it exists, else the bundled examples. */
export function chooseTasksDir(explicit: string | null, source = "--tasks", cwd: string = process.cwd()): TaskFolder {
  if (explicit !== null) {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(explicit);
    } catch {
      throw new CliError(`${source}: folder ${explicit} does not exist`);
    }
    if (!stat.isDirectory()) throw new CliError(`${source}: ${explicit} is not a folder`);
    return { dir: explicit, source: "option" };
  }
  const local = path.join(cwd, "tasks");
  if (fs.existsSync(local) && fs.statSync(local).isDirectory()) return { dir: local, source: "./tasks" };
  return { dir: bundledTasksDir(), source: "bundled examples" };
}

/** The task module files of a folder (not its subfolders), sorted by name. */
export function listTaskFiles(dir: string): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (error) {
    throw new CliError(`cannot read tasks folder ${dir}: ${(error as Error).message}`);
  }
  return entries
    .filter((e) => e.isFile() || e.isSymbolicLink())
    .map((e) => e.name)
    .filter((name) => !name.startsWith("_") && !name.startsWith("."))
    .filter((name) => !/\.d\.[mc]?ts$/.test(name))
    .filter((name) => MODULE_EXTENSIONS.includes(path.extname(name)))
    .sort()
    .map((name) => path.join(dir, name));
}

let tsxRegistered = false;

async function registerTypeScript(): Promise<void> {
  if (tsxRegistered) return;
  try {
    // ESM hooks for `import`, and CommonJS hooks because a .ts file outside a
    // `"type": "module"` package is loaded as CommonJS.
    const esm = await import("tsx/esm/api");
    esm.register();
    const cjs = await import("tsx/cjs/api");
    cjs.register();
    tsxRegistered = true;
  } catch (error) {
    throw new CliError(`cannot load TypeScript task files: tsx is not available (${(error as Error).message})`);
  }
}

function looksLikeDefinition(value: unknown): value is TaskDefinition {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { name?: unknown }).name === "string" &&
    typeof (value as { run?: unknown }).run === "function"
  );
}

export interface LoadedTask {
  definition: TaskDefinition;
  file: string;
}

/**
 * Imports every task module of `dir`; each must default-export a task definition from
 * `defineTask({...})` or an array of them. Throws a `CliError` naming the file otherwise.
 */
export async function loadTaskFolder(dir: string): Promise<LoadedTask[]> {
  const files = listTaskFiles(dir);
  if (files.some((f) => /\.m?ts$/.test(f))) await registerTypeScript();
  const loaded: LoadedTask[] = [];
  const seen = new Map<string, string>();
  for (const file of files) {
    const shown = path.relative(process.cwd(), file) || file;
    let mod: { default?: unknown };
    try {
      mod = (await import(pathToFileURL(file).href)) as { default?: unknown };
    } catch (error) {
      const syntax = describeSyntaxError(file, shown, error);
      if (syntax) throw new CliError(`cannot load task file ${syntax}`);
      const message = ((error as Error)?.message ?? String(error)).split("\n")[0]!;
      const hint = /Cannot find (module|package) 'tasklane'/.test(message) ? " (install it in this project: npm install tasklane)" : "";
      throw new CliError(`cannot load task file ${shown}: ${message}${hint}`);
    }
    let exported = mod.default;
    // A module compiled to CommonJS (a .ts file outside a `"type": "module"` package) arrives
    // as `{ __esModule: true, default: ... }`.
    if (exported && typeof exported === "object" && !Array.isArray(exported) && "default" in exported && !looksLikeDefinition(exported)) {
      exported = (exported as { default: unknown }).default;
    }
    const definitions = Array.isArray(exported) ? exported : [exported];
    if (exported === undefined || definitions.length === 0 || !definitions.every(looksLikeDefinition)) {
      throw new CliError(
        `task file ${shown}: the default export must be a task definition from defineTask({ name, run }) or an array of them`,
      );
    }
    for (const definition of definitions) {
      const other = seen.get(definition.name);
      if (other) throw new CliError(`task type "${definition.name}" is defined twice: in ${other} and in ${shown}`);
      seen.set(definition.name, shown);
      // An isolated runner imports the handler from the file it came from.
      loaded.push({ definition: definition.module ? definition : { ...definition, module: pathToFileURL(path.resolve(file)).href }, file: shown });
    }
  }
  return loaded;
}
