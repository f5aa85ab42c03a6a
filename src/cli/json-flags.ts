import fs from "node:fs";
import type { FollowUp } from "../model/options.js";
import { CliError } from "./errors.js";

/**
 * A JSON-valued flag (`--params`, `--options`, `--then`): inline JSON, `@file.json` to read a
 * file, or `-` for stdin. Parsed in the command rather than by commander so the message names
 * the flag and the JSON error in one line.
 */
export function parseJsonFlag(text: string | undefined, flag: string): unknown {
  if (text === undefined) return undefined;
  let source = text;
  let where = flag;
  if (text === "-") {
    source = fs.readFileSync(0, "utf8");
    where = `${flag} (stdin)`;
  } else if (text.startsWith("@")) {
    const file = text.slice(1);
    try {
      source = fs.readFileSync(file, "utf8");
    } catch (error) {
      throw new CliError(`${flag}: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    where = `${flag} ${text}`;
  }
  try {
    return JSON.parse(source);
  } catch (error) {
    throw new CliError(`${where} is not valid JSON: ${(error as Error).message}`);
  }
}

/** `--then` / `--on-failure`: a JSON array of `{ type, params?, options? }` (checked in depth by the library). */
export function parseFollowUpsFlag(text: string | undefined, flag: string): FollowUp[] | undefined {
  const value = parseJsonFlag(text, flag);
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) throw new CliError(`${flag}: expected a JSON array of { "type": ..., "params": ..., "options": ... }`);
  return value as FollowUp[];
}

/** `--options`: a JSON object of task options. */
export function parseOptionsFlag(text: string | undefined, flag: string): Record<string, unknown> | undefined {
  const value = parseJsonFlag(text, flag);
  if (value === undefined) return undefined;
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new CliError(`${flag}: expected a JSON object of task options`);
  return value as Record<string, unknown>;
}
