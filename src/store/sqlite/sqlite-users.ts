import type Database from "better-sqlite3";
import type { ApiTokenRow, NewApiToken, NewUser, UserRow } from "../store.js";
import { SqlitePart } from "./sqlite-db.js";
import type { SqlRow } from "./sqlite-rows.js";

/** Statements of users and API tokens. */
function userStatements(db: Database.Database) {
  return {
    userInsert: db.prepare("INSERT INTO users (name, role, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING"),
    userGet: db.prepare("SELECT name, role, created_at FROM users WHERE name = ?"),
    userList: db.prepare("SELECT name, role, created_at FROM users ORDER BY name"),
    userCount: db.prepare("SELECT COUNT(*) AS n FROM users"),
    userDelete: db.prepare("DELETE FROM users WHERE name = ?"),
    userTokensDelete: db.prepare("DELETE FROM api_tokens WHERE user_name = ?"),
    tokenInsert: db.prepare(`INSERT INTO api_tokens (id, user_name, hash, label, created_at)
      SELECT @id, @userName, @hash, @label, @now WHERE EXISTS (SELECT 1 FROM users WHERE name = @userName)`),
    tokenById: db.prepare("SELECT * FROM api_tokens WHERE id = ?"),
    tokenGet: db.prepare(`SELECT t.*, u.role AS user_role, u.created_at AS user_created_at
      FROM api_tokens t JOIN users u ON u.name = t.user_name WHERE t.id = ?`),
    tokenList: db.prepare("SELECT * FROM api_tokens WHERE user_name = ? ORDER BY created_at, id"),
    tokenRevokeId: db.prepare("UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL"),
    tokenRevokeUser: db.prepare("UPDATE api_tokens SET revoked_at = ? WHERE user_name = ? AND revoked_at IS NULL"),
  };
}

/** Users and their API tokens. */
export class SqliteUsers extends SqlitePart {
  private prepared: ReturnType<typeof userStatements> | null = null;

  /** Prepared on first use, once the schema exists. */
  private get stmt(): ReturnType<typeof userStatements> {
    this.prepared ??= userStatements(this.db);
    return this.prepared;
  }

  async userInsert(user: NewUser): Promise<UserRow | null> {
    return this.write(true, () => {
      const now = Date.now();
      if (this.stmt.userInsert.run(user.name, user.role, now).changes === 0) return null;
      return { name: user.name, role: user.role, createdAt: new Date(now) };
    });
  }

  async userGet(name: string): Promise<UserRow | null> {
    const row = this.stmt.userGet.get(name) as SqlRow | undefined;
    return row ? rowToUser(row) : null;
  }

  async userList(): Promise<UserRow[]> {
    return (this.stmt.userList.all() as SqlRow[]).map(rowToUser);
  }

  async userCount(): Promise<number> {
    return (this.stmt.userCount.get() as { n: number }).n;
  }

  async userDelete(name: string): Promise<boolean> {
    return this.write(true, () => {
      this.stmt.userTokensDelete.run(name);
      return this.stmt.userDelete.run(name).changes === 1;
    });
  }

  async tokenInsert(token: NewApiToken): Promise<ApiTokenRow | null> {
    return this.write(true, () => {
      const now = Date.now();
      if (this.stmt.tokenInsert.run({ ...token, now }).changes === 0) return null;
      return rowToToken(this.stmt.tokenById.get(token.id) as SqlRow);
    });
  }

  async tokenGet(id: string): Promise<{ token: ApiTokenRow; user: UserRow } | null> {
    const row = this.stmt.tokenGet.get(id) as SqlRow | undefined;
    if (!row) return null;
    return {
      token: rowToToken(row),
      user: { name: row.user_name, role: row.user_role, createdAt: new Date(row.user_created_at) },
    };
  }

  async tokenList(userName: string): Promise<ApiTokenRow[]> {
    return (this.stmt.tokenList.all(userName) as SqlRow[]).map(rowToToken);
  }

  async tokenRevoke(match: { id: string } | { userName: string }): Promise<number> {
    return this.write(true, () => {
      const now = Date.now();
      return "id" in match
        ? this.stmt.tokenRevokeId.run(now, match.id).changes
        : this.stmt.tokenRevokeUser.run(now, match.userName).changes;
    });
  }
}

function rowToUser(row: SqlRow): UserRow {
  return { name: row.name, role: row.role, createdAt: new Date(row.created_at) };
}

function rowToToken(row: SqlRow): ApiTokenRow {
  return {
    id: row.id,
    userName: row.user_name,
    hash: row.hash,
    label: row.label,
    createdAt: new Date(row.created_at),
    revokedAt: row.revoked_at === null ? null : new Date(row.revoked_at),
  };
}
