import { Command } from "commander";
import { describeDb } from "../../store/open-store.js";
import type { MigrationState } from "../../store/store.js";
import { withContext } from "../context.js";
import { painter, printJson, table, useColor } from "../format.js";

interface JsonFlag {
  json?: boolean;
}

function migrationRows(states: MigrationState[], appliedNow: Set<number>): string[][] {
  return states.map((m) => [
    String(m.version),
    m.name,
    m.appliedAt === null ? "pending" : appliedNow.has(m.version) ? "applied now" : "applied",
    m.appliedAt ? m.appliedAt.toISOString() : "-",
  ]);
}

export function dbCommand(): Command {
  const db = new Command("db").description("database schema: apply and inspect migrations");

  db.command("migrate")
    .description("apply pending migrations (start does this too)")
    .option("--json", "print { applied, migrations } as JSON")
    .action(async (flags: JsonFlag, command: Command) => {
      await withContext(command, { loadTasks: false, migrate: false }, async ({ lane, config }) => {
        const appliedNow = new Set(await lane.store.migrate());
        const states = await lane.store.migrationStatus();
        if (flags.json) return printJson({ db: describeDb(config.db), applied: [...appliedNow].sort((a, b) => a - b), migrations: states });
        const latest = Math.max(0, ...states.filter((m) => m.appliedAt).map((m) => m.version));
        process.stdout.write(
          appliedNow.size > 0
            ? `applied ${appliedNow.size} migration(s) to ${describeDb(config.db)}: ${[...appliedNow].join(", ")}; schema at version ${latest}\n`
            : `${describeDb(config.db)} is up to date (schema version ${latest})\n`,
        );
      });
    });

  db.command("status")
    .description("list migrations and whether each is applied")
    .option("--json", "print { db, migrations } as JSON")
    .action(async (flags: JsonFlag, command: Command) => {
      await withContext(command, { loadTasks: false, migrate: false, mustExist: true }, async ({ lane, config }) => {
        const states = await lane.store.migrationStatus();
        if (flags.json) return printJson({ db: describeDb(config.db), migrations: states });
        const paint = painter(useColor(process.stdout));
        const appliedNow = new Set<number>();
        process.stdout.write(`database ${describeDb(config.db)}\n`);
        process.stdout.write(table(["VERSION", "NAME", "STATE", "APPLIED AT"], migrationRows(states, appliedNow), paint));
        const pending = states.filter((m) => m.appliedAt === null).length;
        process.stdout.write(pending ? `${pending} pending: run tasklane db migrate\n` : "up to date\n");
      });
    });

  return db;
}
