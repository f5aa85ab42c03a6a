import { spawnSync } from "node:child_process";
import fs from "node:fs";

/** Where a task file fails to compile, as the compiler says it. */
interface SyntaxLocation {
  line: number;
  column: number;
  message: string;
}

/**
 * The location of a syntax error in a task file. esbuild (through tsx, for .ts files) puts
 * `file:line:col: ERROR: text` on the second line of its message, which the first line alone
 * cut off; V8 keeps the location of an ES module's SyntaxError out of the error, so a `.js` or
 * `.mjs` file is checked again with `node --check` (only after it failed), which prints it.
 */
function locate(file: string, error: unknown): SyntaxLocation | null {
  const message = (error as Error)?.message ?? "";
  const esbuild = /:(\d+):(\d+): ERROR: (.*)$/m.exec(message);
  if (esbuild) return { line: Number(esbuild[1]), column: Number(esbuild[2]) + 1, message: esbuild[3]! };
  if ((error as Error)?.name !== "SyntaxError" || !/\.[cm]?js$/.test(file)) return null;
  let source: string;
  try {
    source = fs.readFileSync(file, "utf8");
  } catch {
    return null;
  }
  // Checked as an ES module, then as CommonJS (a .js file may be either); the one that fails
  // with the import's message is the one that was loaded.
  const found: SyntaxLocation[] = [];
  for (const inputType of ["module", "commonjs"]) {
    const check = spawnSync(process.execPath, ["--check", `--input-type=${inputType}`], { input: source, encoding: "utf8", timeout: 10_000 });
    // [stdin]:<line>\n<source line>\n<spaces>^…\n\nSyntaxError: <message>
    const m = /:(\d+)\n(.*)\n( *)\^+\s*\n\s*\n?SyntaxError: (.*)/.exec(check.stderr ?? "");
    if (m) found.push({ line: Number(m[1]), column: m[3]!.length + 1, message: m[4]! });
  }
  return found.find((f) => f.message === message) ?? found[0] ?? null;
}

/** One line: `tasks/broken.ts:5:31: Unexpected ";" (line 5: run: async () => { return 1 +; },)`, or null if no location is known. */
export function describeSyntaxError(file: string, shown: string, error: unknown): string | null {
  const at = locate(file, error);
  if (!at) return null;
  let source = "";
  try {
    source = fs.readFileSync(file, "utf8").split(/\r?\n/)[at.line - 1]?.trim() ?? "";
  } catch {
    // The location alone still helps.
  }
  const quoted = source.length > 200 ? `${source.slice(0, 200)}…` : source;
  return `${shown}:${at.line}:${at.column}: ${at.message}${quoted ? ` (line ${at.line}: ${quoted})` : ""}`;
}
