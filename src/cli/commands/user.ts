import { Command } from "commander";
import { withContext } from "../context.js";
import { isoTime, painter, printJson, table, useColor } from "../format.js";

interface JsonFlag {
  json?: boolean;
}

/** `tasklane user add|ls|token|revoke|rm`: users and API tokens of the HTTP API. */
export function userCommand(): Command {
  const user = new Command("user").description("users and API tokens of the HTTP API (tokens are shown once, stored only as hashes)");

  user
    .command("add")
    .description("add a user and print its first API token (shown once)")
    .argument("<name>", "user name (letters, digits, '.', '_', '@', '-')")
    .option("--admin", "an admin sees and controls every task; a user only its own")
    .option("--json", "print { name, role, token, tokenId } as JSON")
    .action(async (name: string, flags: JsonFlag & { admin?: boolean }, command: Command) => {
      await withContext(command, { loadTasks: false }, async ({ lane }) => {
        const { user: row, token } = await lane.users.add(name, { role: flags.admin ? "admin" : "user" });
        if (flags.json) return printJson({ name: row.name, role: row.role, token: token.token, tokenId: token.id });
        process.stdout.write(`${token.token}\n`);
        process.stderr.write(`added ${row.role} "${row.name}"; the token above is shown only once (send it as Authorization: Bearer <token>)\n`);
      });
    });

  user
    .command("token")
    .description("issue another API token for a user (printed once; earlier tokens stay valid until revoked)")
    .argument("<name>", "user name")
    .option("--label <text>", "a note to tell tokens apart in `user ls`")
    .option("--json", "print { name, token, tokenId } as JSON")
    .action(async (name: string, flags: JsonFlag & { label?: string }, command: Command) => {
      await withContext(command, { loadTasks: false, mustExist: true }, async ({ lane }) => {
        const token = await lane.users.issueToken(name, flags.label ?? null);
        if (flags.json) return printJson({ name, token: token.token, tokenId: token.id });
        process.stdout.write(`${token.token}\n`);
        process.stderr.write(`new token ${token.id} for "${name}"; it is shown only once\n`);
      });
    });

  user
    .command("ls")
    .description("list users and their tokens (ids only, never secrets)")
    .option("--json", "print the users with their tokens as JSON")
    .action(async (flags: JsonFlag, command: Command) => {
      await withContext(command, { loadTasks: false, readOnly: true }, async ({ lane }) => {
        const users = await Promise.all((await lane.users.list()).map(async (u) => ({ ...u, tokens: await lane.users.tokens(u.name) })));
        if (flags.json) return printJson(users);
        const rows = users.map((u) => [
          u.name,
          u.role,
          isoTime(u.createdAt),
          u.tokens.map((t) => `${t.id}${t.revokedAt ? " (revoked)" : ""}${t.label ? ` ${t.label}` : ""}`).join(", ") || "-",
        ]);
        process.stdout.write(table(["NAME", "ROLE", "CREATED", "TOKENS"], rows, painter(useColor(process.stdout))));
      });
    });

  user
    .command("revoke")
    .description("revoke one token (by its id or the token itself), or every token of a user with --all")
    .argument("<token-or-name>", "token id, token, or (with --all) user name")
    .option("--all", "revoke every token of the user named")
    .action(async (target: string, flags: { all?: boolean }, command: Command) => {
      await withContext(command, { loadTasks: false, mustExist: true }, async ({ lane }) => {
        if (flags.all) {
          const n = await lane.users.revokeAll(target);
          process.stdout.write(`revoked ${n} token(s) of "${target}"\n`);
          return;
        }
        const done = await lane.users.revokeToken(target);
        process.stdout.write(done ? "revoked\n" : "no such active token\n");
        if (!done) process.exitCode = 1;
      });
    });

  user
    .command("rm")
    .description("remove a user and all its tokens (its tasks stay)")
    .argument("<name>", "user name")
    .action(async (name: string, _flags: unknown, command: Command) => {
      await withContext(command, { loadTasks: false, mustExist: true }, async ({ lane }) => {
        await lane.users.remove(name);
        process.stdout.write(`removed user "${name}" and its tokens\n`);
      });
    });

  return user;
}
