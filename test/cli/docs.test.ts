/**
 * docs/cli.md kept true: its examples with documented output are run as written (in a fresh
 * folder, on the default database) and their output compared line by line in shape; every
 * command and option of the program is documented.
 */
import fs from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import type { Command } from "commander";
import { buildProgram } from "../../src/cli/program.js";
import { cli, tempDir } from "./helpers.js";

const DOC = fs.readFileSync(fileURLToPath(new URL("../../docs/cli.md", import.meta.url)), "utf8");

interface Example {
  command: string;
  /** The `# ` lines under it: what it prints on stdout. */
  output: string[];
}

/** The ```sh blocks that document some output, as their commands in order. */
function examplesWithOutput(): Example[][] {
  const blocks = [...DOC.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!.split("\n").filter((l) => l.trim() !== ""));
  return blocks
    .map((lines) => {
      const examples: Example[] = [];
      for (const line of lines) {
        if (line.startsWith("# ")) examples.at(-1)?.output.push(line.slice(2));
        else examples.push({ command: line, output: [] });
      }
      return examples;
    })
    .filter((examples) => examples.some((e) => e.output.length > 0));
}

/** Splits a shell line into words (single and double quotes, no expansion). */
function words(line: string): string[] {
  return [...line.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]!);
}

/** What may differ between the documented and a real run: times, ids, secrets, column widths. */
function shape(line: string): string {
  return line
    .replace(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3}Z|[+-]\d{2}:\d{2})/g, "<time>")
    .replace(/\btl_[0-9a-f]{16}_[\w-]+/g, "<token>")
    .replace(/\b[0-9a-f]{16}\b/g, "<token id>")
    .replace(/\s+/g, " ")
    .trim();
}

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe("docs/cli.md examples", () => {
  const runnable = examplesWithOutput().filter((block) =>
    // Those needing a task id or a PostgreSQL node of their own are covered by other tests.
    block.every((e) => e.command.startsWith("tasklane ") && !e.command.includes("$") && !e.command.includes("postgres://")),
  );

  it("covers the db, prune and user examples", () => {
    const commands = runnable.flat().map((e) => words(e.command).slice(1, 3).join(" "));
    for (const c of ["db migrate", "db status", "prune", "user add", "user token", "user ls", "user revoke", "user rm"]) {
      expect(commands.some((x) => x.startsWith(c)), c).toBe(true);
    }
  });

  for (const block of runnable) {
    it(`${block[0]!.command} …: each documented output has the shape of the real one`, async () => {
      const dir = tempDir("tasklane-docs-");
      dirs.push(dir);
      // Token ids in the doc stand for the ones this run prints.
      const ids = new Map<string, string>();
      // Each block starts from a database made as the docs say first.
      if (!block[0]!.command.startsWith("tasklane db migrate")) expect((await cli(["db", "migrate"], { cwd: dir })).code).toBe(0);
      for (const example of block) {
        const args = words(example.command.replace(/\s+#\s.*$/, ""))
          .slice(1)
          .map((w) => ids.get(w) ?? w);
        const r = await cli(args, { cwd: dir });
        // A documented error is the one line on stderr, exit code 1.
        const refused = example.output[0]?.startsWith("tasklane: ") === true;
        expect(r.code, `${example.command}: ${r.stderr}`).toBe(refused ? 1 : 0);
        if (example.output.length === 0) continue;
        const actual = (refused ? r.stderr : r.stdout).split("\n").filter((l) => l !== "");
        expect(actual.map(shape), example.command).toEqual(example.output.map(shape));
        example.output.forEach((line, i) => {
          const doc = /\btl_([0-9a-f]{16})_/.exec(line);
          const real = /\btl_([0-9a-f]{16})_/.exec(actual[i]!);
          if (doc && real) ids.set(doc[1]!, real[1]!);
        });
      }
    });
  }
});

describe("docs/cli.md reference", () => {
  const all = (command: Command): Command[] => [command, ...command.commands.flatMap(all)];
  const program = buildProgram();

  it("documents every command, and lists each top-level one in the contents", () => {
    const contents = DOC.slice(DOC.indexOf("Contents:"), DOC.indexOf("## Global options"));
    for (const command of program.commands) {
      const name = command.name();
      expect(DOC, `section for ${name}`).toMatch(new RegExp(`^## \`tasklane ${name}\\b`, "m"));
      expect(contents, `contents: ${name}`).toMatch(new RegExp(`\\(#tasklane-${name}[-)]`));
    }
    for (const command of all(program).filter((c) => c.parent && c.parent !== program)) {
      expect(DOC, `${command.parent!.name()} ${command.name()}`).toContain(`${command.parent!.name()} ${command.name()}`);
    }
  });

  it("documents every option of every command", () => {
    for (const command of all(program)) {
      for (const option of command.options) {
        if (option.long === "--help" || option.long === "--version") continue;
        expect(DOC, `${command.name()} ${option.long}`).toMatch(new RegExp(`[\`,/[] ?${option.long}(?![\\w-])`));
      }
    }
  });
});
