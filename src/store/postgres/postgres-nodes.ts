import type { NodeHeartbeat, NodeRow } from "../../model/node-row.js";
import { PgPart } from "./postgres-db.js";
import { pgRowToNode } from "./postgres-rows.js";

/** Nodes: heartbeats, listing, marking the silent offline, pruning. */
export class PgNodes extends PgPart {
  async nodeHeartbeat(node: NodeHeartbeat): Promise<void> {
    await this.query(
      `INSERT INTO ${this.S}.nodes (name, host, pid, version, started_at, heartbeat_at, status, types, concurrency, running,
         cpu_capacity, cpu_used, load_per_core, memory_bytes, runners)
       VALUES ($1, $2, $3, $4, $5, now(), $6, $7, $8, $9, $10, $11, $12, $13, $14)
       ON CONFLICT (name) DO UPDATE SET host = excluded.host, pid = excluded.pid, version = excluded.version,
         started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at, status = excluded.status, types = excluded.types,
         concurrency = excluded.concurrency, running = excluded.running, cpu_capacity = excluded.cpu_capacity,
         cpu_used = excluded.cpu_used, load_per_core = excluded.load_per_core, memory_bytes = excluded.memory_bytes,
         runners = excluded.runners`,
      [
        node.name,
        node.host,
        node.pid,
        node.version,
        node.startedAt.toISOString(),
        node.status,
        JSON.stringify(node.types),
        node.concurrency,
        node.running,
        node.cpuCapacity,
        node.cpuUsed,
        node.loadPerCore,
        node.memoryBytes,
        node.runners === null ? null : JSON.stringify(node.runners),
      ],
    );
  }

  async nodeList(): Promise<NodeRow[]> {
    return (await this.query(`SELECT * FROM ${this.S}.nodes ORDER BY heartbeat_at DESC, name`)).map(pgRowToNode);
  }

  async nodeMarkStale(staleMs: number): Promise<NodeRow[]> {
    const rows = await this.query(
      `UPDATE ${this.S}.nodes SET status = 'offline'
       WHERE status <> 'offline' AND heartbeat_at < now() - $1 * interval '1 millisecond' RETURNING *`,
      [staleMs],
    );
    return rows.map(pgRowToNode);
  }

  async nodePrune(olderThanMs: number): Promise<number> {
    const result = await this.pool.query(
      `DELETE FROM ${this.S}.nodes WHERE status = 'offline' AND heartbeat_at < now() - $1 * interval '1 millisecond'`,
      [olderThanMs],
    );
    return result.rowCount ?? 0;
  }

  // ---- the built-in `sql` task type ----
}
