import type { NodeHeartbeat, NodeRow } from "../../model/node-row.js";
import { SqlitePart } from "./sqlite-db.js";
import { rowToNode, type SqlRow } from "./sqlite-rows.js";

/** Nodes: heartbeats, listing, marking the silent offline, pruning. */
export class SqliteNodes extends SqlitePart {
  async nodeHeartbeat(node: NodeHeartbeat): Promise<void> {
    this.write(false, () => {
      this.db
        .prepare(
          `INSERT INTO nodes (name, host, pid, version, started_at, heartbeat_at, status, types, concurrency, running,
             cpu_capacity, cpu_used, load_per_core, memory_bytes, runners)
           VALUES (@name, @host, @pid, @version, @startedAt, @now, @status, @types, @concurrency, @running,
             @cpuCapacity, @cpuUsed, @loadPerCore, @memoryBytes, @runners)
           ON CONFLICT (name) DO UPDATE SET host = excluded.host, pid = excluded.pid, version = excluded.version,
             started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at, status = excluded.status,
             types = excluded.types, concurrency = excluded.concurrency, running = excluded.running,
             cpu_capacity = excluded.cpu_capacity, cpu_used = excluded.cpu_used, load_per_core = excluded.load_per_core,
             memory_bytes = excluded.memory_bytes, runners = excluded.runners`,
        )
        .run({
          ...node,
          startedAt: node.startedAt.getTime(),
          now: Date.now(),
          types: JSON.stringify(node.types),
          runners: node.runners === null ? null : JSON.stringify(node.runners),
        });
    });
  }

  async nodeList(): Promise<NodeRow[]> {
    return (this.db.prepare("SELECT * FROM nodes ORDER BY heartbeat_at DESC, name").all() as SqlRow[]).map(rowToNode);
  }

  async nodeMarkStale(staleMs: number): Promise<NodeRow[]> {
    return this.write(false, () =>
      (
        this.db
          .prepare("UPDATE nodes SET status = 'offline' WHERE status <> 'offline' AND heartbeat_at < ? RETURNING *")
          .all(Date.now() - staleMs) as SqlRow[]
      ).map(rowToNode),
    );
  }

  async nodePrune(olderThanMs: number): Promise<number> {
    return this.write(false, () =>
      this.db.prepare("DELETE FROM nodes WHERE status = 'offline' AND heartbeat_at < ?").run(Date.now() - olderThanMs).changes,
    );
  }
}
