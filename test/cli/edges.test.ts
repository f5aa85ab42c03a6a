/**
 * Rough edges a new user met (issue 13): values that cannot work, read-only commands that
 * created databases, misspelt options, engines, task files with syntax errors. The built CLI
 * as a child process in a fresh folder, on SQLite and PostgreSQL.
 */
import fs from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cli, expectOneLineError, tempDir } from "./helpers.js";

let dir: string;
let db: string;

beforeEach(() => {
  dir = tempDir();
  db = `sqlite:${path.join(dir, "x.db")}`;
});

afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const run = (...args: string[]) => cli([...args, "--db", db], { cwd: dir });

describe("values that cannot work", () => {
  it("start and worker refuse --lease, --poll and --grace out of range, naming the flag and the range", async () => {
    expectOneLineError(await run("start", "--lease", "0"), /--lease <duration>.*'0' is invalid\. expected a duration from 1s to 1d/);
    expectOneLineError(await run("worker", "--lease", "500ms"), /--lease <duration>.*expected a duration from 1s to 1d/);
    expectOneLineError(await run("start", "--poll", "0"), /--poll <duration>.*expected a duration from 10ms to 1h/);
    expectOneLineError(await run("start", "--grace", "2d"), /--grace <duration>.*expected a duration from 0 to 1d/);
    expectOneLineError(await run("show", "x", "--watch", "--interval", "0"), /--interval <duration>.*expected a duration from 10ms to 1h/);
    expect(fs.existsSync(path.join(dir, "x.db"))).toBe(false);
  });

  it("a config file's lease or poll out of range is refused with the file and the range", async () => {
    fs.writeFileSync(path.join(dir, "tasklane.config.json"), JSON.stringify({ lease: 0 }));
    expectOneLineError(await run("start"), /tasklane\.config\.json: lease: 0 is not allowed; use a duration from 1s to 1d/);
    fs.writeFileSync(path.join(dir, "tasklane.config.json"), JSON.stringify({ poll: "0s" }));
    expectOneLineError(await run("start"), /tasklane\.config\.json: poll: "0s" is not allowed; use a duration from 10ms to 1h/);
  });

  it("add --timeout 0 is refused and nothing is stored", async () => {
    expect((await run("db", "migrate")).code).toBe(0);
    expectOneLineError(await run("add", "sleep", "--timeout", "0"), /timeout: 0 is not allowed; use 1ms to 100 years/);
    const ls = await run("ls", "--json");
    expect(ls.code, ls.stderr).toBe(0);
    expect(JSON.parse(ls.stdout).tasks).toEqual([]);
  });
});
