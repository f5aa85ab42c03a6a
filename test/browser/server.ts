/**
 * A real `tasklane start` for the browser tests: the built CLI on its own SQLite file in a temp
 * folder, any free port, and the task types of test/browser/tasks. Its login URL is read from
 * stderr, exactly as a new user would copy it.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const BIN = fileURLToPath(new URL("../../bin/tasklane.js", import.meta.url));
export const TASKS_DIR = fileURLToPath(new URL("./tasks", import.meta.url));

export interface TasklaneServer {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** The login URL printed at the first start: `${url}/?token=…`. */
  loginUrl: string;
  adminToken: string;
  /** `sqlite:/tmp/…/tasklane.db`, for the CLI and the seeding script. */
  db: string;
  dir: string;
  stderr(): string;
  /** Another process on the same database (`tasklane worker`), stopped with the server. */
  startWorker(node: string): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The environment of a child: this one without Tasklane settings, nor the colours Playwright
 * forces, nor the overload guard (the load of a shared test machine would stop its claims).
 */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith("TASKLANE_") || k === "DATABASE_URL" || k === "FORCE_COLOR" || k === "NO_COLOR") continue;
    env[k] = v;
  }
  return { ...env, TASKLANE_OVERLOAD: "0" };
}

export async function startServer(options: { dir?: string; prefix?: string; tasksDir?: string } = {}): Promise<TasklaneServer> {
  const tasksDir = options.tasksDir ?? TASKS_DIR;
  const dir = options.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), options.prefix ?? "tasklane-browser-"));
  const db = `sqlite:${path.join(dir, "tasklane.db")}`;
  const children: ChildProcess[] = [];
  const child = spawn(process.execPath, [BIN, "start", "--db", db, "--port", "0", "--grace", "1s", "--tasks", tasksDir, "--quiet"], {
    cwd: dir,
    env: childEnv(),
    stdio: ["ignore", "ignore", "pipe"],
  });
  children.push(child);
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const login = await new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tasklane start printed no login URL within 30 s:\n${stderr}`)), 30_000);
    const check = () => {
      const m = /login\s+(http:\/\/127\.0\.0\.1:\d+)\/\?token=(tl_[\w-]+)/.exec(stderr.replace(/\x1b\[[0-9;]*m/g, ""));
      if (m) {
        clearTimeout(timer);
        child.stderr!.off("data", check);
        resolve(m);
      }
    };
    child.stderr!.on("data", check);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`tasklane start exited with ${code}:\n${stderr}`));
    });
  }).catch((error: unknown) => {
    // Never leave a half-started server behind a failed test.
    child.kill("SIGKILL");
    fs.rmSync(dir, { recursive: true, force: true });
    throw error;
  });
  const [, url, adminToken] = login as unknown as [string, string, string];

  async function stopChild(c: ChildProcess): Promise<void> {
    if (c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => c.once("exit", () => resolve()));
    c.kill("SIGTERM");
    const timer = setTimeout(() => c.kill("SIGKILL"), 8_000);
    await exited;
    clearTimeout(timer);
  }

  return {
    url,
    loginUrl: `${url}/?token=${adminToken}`,
    adminToken,
    db,
    dir,
    stderr: () => stderr,
    async startWorker(node) {
      const worker = spawn(process.execPath, [BIN, "worker", "--db", db, "--node", node, "--tasks", tasksDir, "--quiet"], {
        cwd: dir,
        env: childEnv(),
        stdio: ["ignore", "pipe", "ignore"],
      });
      children.push(worker);
      let out = "";
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`tasklane worker did not start:\n${out}`)), 30_000);
        // Its JSON log on stdout says when it claims.
        worker.stdout!.setEncoding("utf8").on("data", (d: string) => {
          out += d;
          if (out.includes('"msg":"worker started"')) {
            clearTimeout(timer);
            resolve();
          }
        });
        worker.once("exit", (code) => reject(new Error(`tasklane worker exited with ${code}:\n${out}`)));
      });
    },
    async stop() {
      for (const c of children.reverse()) await stopChild(c);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs `tasklane …args` against the server's database; resolves with stdout. */
export function cli(server: TasklaneServer, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [BIN, ...args, "--db", server.db], { cwd: server.dir, env: childEnv(), timeout: 30_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`tasklane ${args.join(" ")} failed: ${stderr || error.message}`));
      else resolve(stdout);
    });
  });
}

/** A JSON call to the server's API with a token; throws on a non-2xx answer. */
export async function api<T = Record<string, unknown>>(server: TasklaneServer, token: string, method: string, route: string, body?: unknown): Promise<T> {
  const res = await fetch(`${server.url}${route}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await res.json()) as T;
  if (!res.ok) throw new Error(`${method} ${route} answered ${res.status}: ${JSON.stringify(json)}`);
  return json;
}

export interface AddedTask {
  id: string;
  status: string;
}

/** Adds a task of the `steps` type (test/browser/tasks/steps.mjs). */
export function addSteps(
  server: TasklaneServer,
  token: string,
  params: { steps: number; stepMs: number; failAt?: number },
  options: Record<string, unknown> = {},
): Promise<AddedTask> {
  return api<AddedTask>(server, token, "POST", "/api/tasks", { type: "steps", params, ...options });
}
