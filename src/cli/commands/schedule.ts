import { Command } from "commander";
import type { ScheduleSpec } from "../../client/schedules.js";
import { ScheduleNotFoundError } from "../../model/errors.js";
import type { ScheduleTaskOptions } from "../../model/options.js";
import { withContext } from "../context.js";
import { painter, printJson, useColor } from "../format.js";
import { parseJsonFlag, parseOptionsFlag } from "../json-flags.js";
import { intArg } from "../parsers.js";
import { parseMissedFlag, scheduleDetails, scheduleTable } from "../schedule-format.js";
import { zonedIso } from "../zoned-time.js";
import { explainTypeError } from "./add.js";

interface AddFlags {
  cron: string;
  tz?: string;
  params?: string;
  options?: string;
  missed?: string;
  paused?: boolean;
  json?: boolean;
}

const SQL_FLAG = "allow the built-in sql type (env TASKLANE_SQL_TASKS=1); a worker must run with it too";

/**
 * `tasklane schedule add|ls|show|rm|pause|resume|trigger`. `add` and `trigger` build a task, so
 * like `tasklane add` they load the task types from the tasks folder to validate it; the others
 * only read or change stored schedules.
 */
export function scheduleCommand(): Command {
  const schedule = new Command("schedule")
    .description("cron schedules: each tick adds one task of a type, once across all nodes")
    .addHelpText(
      "after",
      `
Examples:
  tasklane schedule add nightly-export export-report --cron "0 3 * * *" --tz Europe/Berlin --params '{"rows":1000}'
  tasklane schedule ls                 next three fire times, in each schedule's zone
  tasklane schedule trigger nightly-export
  tasklane schedule pause nightly-export`,
    );

  schedule
    .command("add")
    .description("create or update a schedule; an update replaces its whole definition (the paused state is kept unless --paused). Validated first: nothing is stored on an error")
    .argument("<name>", "schedule name: letters, digits, '_', '-', '.', ':'")
    .argument("<type>", "task type added at each tick")
    .requiredOption("--cron <expr>", 'cron expression: 5 fields (minute hour day month weekday) or 6 (seconds first), e.g. "0 3 * * *"')
    .option("--tz <zone>", "IANA time zone the expression is read in [UTC]")
    .option("-p, --params <json>", "params of every task it adds, as JSON (@FILE, - for stdin)")
    .option("--options <json>", 'task options of every task it adds, as JSON: {"priority":1,"timeout":"5m","then":[...]}')
    .option("--missed <policy>", "ticks missed while no node ran: skip (fire the latest once) or catchUp:<window>, e.g. catchUp:1h [skip]")
    .option("--paused", "create it paused (on update: pause it; without the flag an update keeps the state)")
    .option("--json", "print the schedule as JSON")
    .option("--sql-tasks", SQL_FLAG)
    .action(async (name: string, type: string, flags: AddFlags, command: Command) => {
      const spec: ScheduleSpec = { type, cron: flags.cron };
      if (flags.tz !== undefined) spec.tz = flags.tz;
      const params = parseJsonFlag(flags.params, "--params");
      if (params !== undefined) spec.params = params;
      const options = parseOptionsFlag(flags.options, "--options");
      if (options !== undefined) spec.options = options as ScheduleTaskOptions;
      const missed = parseMissedFlag(flags.missed);
      if (missed !== undefined) spec.missed = missed;
      if (flags.paused) spec.paused = true;
      await withContext(command, { loadTasks: true }, async ({ lane, folder }) => {
        const existed = (await lane.getSchedule(name)) !== null;
        let info;
        try {
          info = await lane.schedule(name, spec);
        } catch (error) {
          throw explainTypeError(error, folder);
        }
        if (flags.json) return printJson(info);
        const next = info.nextFires.length ? `next: ${info.nextFires.map((d) => zonedIso(d, info.tz)).join(", ")}` : "paused";
        process.stdout.write(`${existed ? "updated" : "created"} schedule ${info.name}: ${info.type} at "${info.cron}" ${info.tz}; ${next}\n`);
      });
    });

  schedule
    .command("ls")
    .alias("list")
    .description("list schedules: type, cron, zone, state, next three fire times (in the schedule's zone), last task")
    .option("--json", "print { schedules } as JSON")
    .action(async (flags: { json?: boolean }, command: Command) => {
      await withContext(command, { loadTasks: false, readOnly: true }, async ({ lane }) => {
        const schedules = await lane.schedules();
        if (flags.json) return printJson({ schedules });
        if (schedules.length === 0) {
          process.stdout.write("no schedules: add one with tasklane schedule add NAME TYPE --cron EXPR\n");
          return;
        }
        process.stdout.write(scheduleTable(schedules, painter(useColor(process.stdout))));
      });
    });

  schedule
    .command("show")
    .description("a schedule's details and its latest ticks")
    .argument("<name>", "schedule name")
    .option("-n, --ticks <n>", "how many recent ticks to show, 1..1000", intArg(1, 1000), 10)
    .option("--json", "print the schedule with its ticks as JSON")
    .action(async (name: string, flags: { ticks: number; json?: boolean }, command: Command) => {
      await withContext(command, { loadTasks: false, readOnly: true }, async ({ lane }) => {
        const info = await lane.getSchedule(name);
        if (!info) throw new ScheduleNotFoundError(name);
        const ticks = await lane.scheduleTicks(name, flags.ticks);
        if (flags.json) return printJson({ ...info, ticks });
        process.stdout.write(scheduleDetails(info, ticks, painter(useColor(process.stdout))));
      });
    });

  schedule
    .command("rm")
    .alias("remove")
    .description("delete a schedule (the tasks it added stay)")
    .argument("<name>", "schedule name")
    .action(async (name: string, _flags: unknown, command: Command) => {
      await withContext(command, { loadTasks: false, mustExist: true }, async ({ lane }) => {
        if (!(await lane.unschedule(name))) throw new ScheduleNotFoundError(name);
        process.stdout.write(`removed schedule ${name}\n`);
      });
    });

  for (const [verb, description] of [
    ["pause", "stop a schedule firing until it is resumed"],
    ["resume", "resume a paused schedule (ticks that passed while paused do not fire)"],
  ] as const) {
    schedule
      .command(verb)
      .description(description)
      .argument("<name>", "schedule name")
      .option("--json", "print the schedule as JSON")
      .action(async (name: string, flags: { json?: boolean }, command: Command) => {
        await withContext(command, { loadTasks: false, mustExist: true }, async ({ lane }) => {
          const info = verb === "pause" ? await lane.pauseSchedule(name) : await lane.resumeSchedule(name);
          if (flags.json) return printJson(info);
          const next = info.nextFires[0];
          process.stdout.write(`${verb === "pause" ? "paused" : "resumed"} schedule ${name}${next ? `; next: ${zonedIso(next, info.tz)}` : ""}\n`);
        });
      });
  }

  schedule
    .command("trigger")
    .description("add the schedule's task now, outside the cron (also when paused); prints its id")
    .argument("<name>", "schedule name")
    .option("--json", "print the task as JSON")
    .option("--sql-tasks", SQL_FLAG)
    .action(async (name: string, flags: { json?: boolean }, command: Command) => {
      await withContext(command, { loadTasks: true, mustExist: true }, async ({ lane, folder }) => {
        let task;
        try {
          task = await lane.trigger(name);
        } catch (error) {
          throw explainTypeError(error, folder);
        }
        if (flags.json) return printJson(task);
        process.stdout.write(`${task.id}\n`);
      });
    });

  return schedule;
}
