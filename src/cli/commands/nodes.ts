import { Command } from "commander";
import { withContext } from "../context.js";
import { formatAge, painter, printJson, table, useColor } from "../format.js";

/** `tasklane nodes`: every process that ran a worker on this database, newest heartbeat first. */
export function nodesCommand(): Command {
  return new Command("nodes")
    .description("list the nodes of the cluster: status, heartbeat age, load, running tasks, types")
    .option("--json", "print { nodes } as JSON")
    .action(async (flags: { json?: boolean }, command: Command) => {
      await withContext(command, { loadTasks: false, readOnly: true }, async ({ lane }) => {
        const nodes = await lane.store.nodeList();
        if (flags.json) return printJson({ nodes });
        if (nodes.length === 0) {
          process.stdout.write("no nodes yet: start one with tasklane start or tasklane worker\n");
          return;
        }
        const paint = painter(useColor(process.stdout));
        const now = Date.now();
        const style = (s: string) => (s === "online" ? "green" : s === "draining" ? "yellow" : "gray");
        const rows = nodes.map((n) => [
          n.name,
          paint(style(n.status), n.status),
          formatAge(n.heartbeatAt, now),
          `${n.running}/${n.concurrency}`,
          `${n.cpuUsed}/${n.cpuCapacity}`,
          n.loadPerCore.toFixed(2),
          `${Math.round(n.memoryBytes / 1048576)} MiB`,
          n.runners ? `${n.runners.busy}/${n.runners.size}${n.runners.replaced ? ` (${n.runners.replaced} replaced)` : ""}` : "-",
          `${n.host}:${n.pid}`,
          n.version,
          n.types.join(",") || "-",
        ]);
        process.stdout.write(
          table(["NODE", "STATUS", "HEARTBEAT", "RUNNING", "CPU", "LOAD/CORE", "MEMORY", "RUNNERS", "HOST:PID", "VERSION", "TYPES"], rows, paint),
        );
      });
    });
}
