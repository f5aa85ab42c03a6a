/** `tasklane user …` and the HTTP server of `tasklane start` (first start creates an admin and prints its login URL). */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { background, cli, tempDir, waitFor, type Background } from "../cli/helpers.js";
import { documentedJson } from "./openapi-check.js";

let dir: string;
let db: string;
let node: Background | null = null;
beforeAll(() => {
  dir = tempDir("tasklane-http-cli-");
  db = `sqlite:${path.join(dir, "x.db")}`;
});
afterAll(() => {
  if (node && node.child.exitCode === null) node.child.kill("SIGKILL");
  fs.rmSync(dir, { recursive: true, force: true });
});

const run = (...args: string[]) => cli([...args, "--db", db], { cwd: dir });

describe("tasklane start serves the HTTP API", () => {
  it("creates an admin on the first start, prints a login URL with its token, and the token works", async () => {
    node = background(["start", "--db", db, "--port", "0", "--grace", "1s"], { cwd: dir });
    const login = await waitFor("the login URL", () => /login\s+(http:\/\/127\.0\.0\.1:\d+)\/\?token=(tl_\S+)/.exec(node!.stderr()) ?? (node!.child.exitCode !== null ? Promise.reject(new Error(node!.stderr())) : null));
    const [, url, token] = login;
    const me = await fetch(`${url}/api/me`, { headers: { authorization: `Bearer ${token}` } });
    expect(await documentedJson("GET", "/api/me", me)).toEqual({ name: "admin", role: "admin" });
    // The token is never written to the JSON logs on stdout.
    const add = await fetch(`${url}/api/tasks`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ type: "sleep", params: { ms: 1 } }),
    });
    expect(add.status).toBe(201);
    expect(await documentedJson("POST", "/api/tasks", add)).toMatchObject({ type: "sleep", created: true });
    await waitFor("a request log line", () => node!.stdout().includes('"msg":"request"'));
    expect(node!.stdout()).not.toContain(token!);

    // user add / token / ls / revoke / rm against the same database, while the server runs.
    const added = await run("user", "add", "dana");
    expect(added.code, added.stderr).toBe(0);
    const danaToken = added.stdout.trim();
    expect(danaToken).toMatch(/^tl_[0-9a-f]{16}_[\w-]{43}$/);
    const auth = (t: string) => ({ headers: { authorization: `Bearer ${t}` } });
    expect((await fetch(`${url}/api/me`, auth(danaToken))).status).toBe(200);
    const second = (await run("user", "token", "dana", "--label", "ci")).stdout.trim();
    expect((await fetch(`${url}/api/me`, auth(second))).status).toBe(200);
    const ls = await run("user", "ls", "--json");
    const users = JSON.parse(ls.stdout) as Array<{ name: string; role: string; tokens: Array<{ id: string }> }>;
    expect(users.map((u) => [u.name, u.role])).toEqual([["admin", "admin"], ["dana", "user"]]);
    expect(ls.stdout).not.toContain(danaToken.slice(20));
    expect((await run("user", "revoke", danaToken)).stdout).toContain("revoked");
    expect((await fetch(`${url}/api/me`, auth(danaToken))).status).toBe(401);
    expect((await fetch(`${url}/api/me`, auth(second))).status).toBe(200);
    expect((await run("user", "rm", "dana")).code).toBe(0);
    expect((await fetch(`${url}/api/me`, auth(second))).status).toBe(401);
    const dup = await run("user", "add", "admin");
    expect(dup.code).toBe(1);
    expect(dup.stderr).toBe('tasklane: user "admin" already exists\n');
    const badName = await run("user", "add", "no spaces");
    expect(badName.code).toBe(1);
    expect(badName.stderr).toMatch(/^tasklane: name: /);

    node.child.kill("SIGTERM");
    expect((await node.exited).code).toBe(0);

    // A second start does not create another admin nor print a token.
    const again = background(["start", "--db", db, "--port", "0", "--grace", "1s"], { cwd: dir });
    await waitFor("the second start", () => again.stderr().includes("http ") || again.child.exitCode !== null);
    expect(again.stderr()).not.toContain("login");
    again.child.kill("SIGTERM");
    expect((await again.exited).code).toBe(0);
  });
});
