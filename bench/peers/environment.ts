/** The machine and versions a run happened on, recorded in the results next to the figures. */
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import { createRequire } from "node:module";
import { PG_SERVER, REDIS_URL, withPg } from "./common.js";

const require = createRequire(import.meta.url);
const versionOf = (pkg: string) => {
  try {
    return (require(`${pkg}/package.json`) as { version: string }).version;
  } catch {
    return null;
  }
};

/** Redis durability settings (BullMQ's adds are only as durable as these). */
async function redisDurability(): Promise<string | null> {
  const get = (key: string) =>
    redisCommand(`CONFIG GET ${key}`, new RegExp(`${key}\\r\\n\\$\\d+\\r\\n([^\\r]*)`)).catch(() => null);
  const [aof, fsync, save] = [await get("appendonly"), await get("appendfsync"), await get("save")];
  if (aof === null) return null;
  return `appendonly ${aof}, appendfsync ${fsync}, save "${save ?? ""}"`;
}

function redisVersion(): Promise<string | null> {
  return redisCommand("INFO server", /redis_version:([^\r\n]+)/);
}

/** One inline command over a raw socket: BullMQ's driver may be absent, and this needs none. */
function redisCommand(command: string, answer: RegExp): Promise<string | null> {
  return new Promise((resolve) => {
    const url = new URL(REDIS_URL);
    const socket = net.connect(Number(url.port || 6379), url.hostname);
    let data = "";
    const done = (v: string | null) => {
      socket.destroy();
      resolve(v);
    };
    socket.setTimeout(2000, () => done(null));
    socket.on("error", () => done(null));
    socket.on("connect", () => socket.write(command + "\r\n"));
    socket.on("data", (chunk) => {
      data += chunk.toString();
      const m = answer.exec(data);
      if (m) done(m[1]!);
    });
  });
}

export async function environment(): Promise<Record<string, unknown>> {
  const cpuModel = /model name\s*:\s*(.+)/.exec(fs.readFileSync("/proc/cpuinfo", "utf8"))?.[1]?.trim() ?? os.cpus()[0]?.model ?? "unknown";
  const pgInfo = await withPg(PG_SERVER, async (c) => {
    const { rows } = await c.query<Record<string, string>>(
      `SELECT version() AS version, current_setting('shared_buffers') AS shared_buffers, current_setting('synchronous_commit') AS synchronous_commit,
              current_setting('fsync') AS fsync, current_setting('max_connections') AS max_connections`,
    );
    return rows[0]!;
  });
  return {
    machine: {
      cores: os.availableParallelism(),
      cpu: cpuModel,
      ramGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
      os: `${os.type()} ${os.release()}`,
    },
    versions: {
      node: process.version,
      postgres: pgInfo.version!.split(" on ")[0],
      redis: await redisVersion(),
      redisDurability: await redisDurability(),
      tasklane: (JSON.parse(fs.readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version,
      "graphile-worker": versionOf("graphile-worker"),
      "pg-boss": versionOf("pg-boss"),
      bullmq: versionOf("bullmq"),
      ioredis: versionOf("ioredis"),
      pg: versionOf("pg"),
      "better-sqlite3": versionOf("better-sqlite3"),
    },
    postgres: {
      shared_buffers: pgInfo.shared_buffers,
      synchronous_commit: pgInfo.synchronous_commit,
      fsync: pgInfo.fsync,
      max_connections: pgInfo.max_connections,
    },
  };
}
