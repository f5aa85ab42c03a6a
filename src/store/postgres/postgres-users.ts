import type { ApiTokenRow, NewApiToken, NewUser, UserRow } from "../store.js";
import { PgPart } from "./postgres-db.js";
import { pgRowToToken, pgRowToUser } from "./postgres-rows.js";

/** Users and their API tokens. */
export class PgUsers extends PgPart {
  async userInsert(user: NewUser): Promise<UserRow | null> {
    const [row] = await this.query(`INSERT INTO ${this.S}.users (name, role) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING RETURNING *`, [
      user.name,
      user.role,
    ]);
    return row ? pgRowToUser(row) : null;
  }

  async userGet(name: string): Promise<UserRow | null> {
    const [row] = await this.query(`SELECT * FROM ${this.S}.users WHERE name = $1`, [name]);
    return row ? pgRowToUser(row) : null;
  }

  async userList(): Promise<UserRow[]> {
    return (await this.query(`SELECT * FROM ${this.S}.users ORDER BY name`)).map(pgRowToUser);
  }

  async userCount(): Promise<number> {
    const [row] = await this.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${this.S}.users`);
    return row!.n;
  }

  async userDelete(name: string): Promise<boolean> {
    const [row] = await this.query<{ n: number }>(
      `WITH t AS (DELETE FROM ${this.S}.api_tokens WHERE user_name = $1), u AS (DELETE FROM ${this.S}.users WHERE name = $1 RETURNING 1)
       SELECT count(*)::int AS n FROM u`,
      [name],
    );
    return row!.n === 1;
  }

  async tokenInsert(token: NewApiToken): Promise<ApiTokenRow | null> {
    const [row] = await this.query(
      `INSERT INTO ${this.S}.api_tokens (id, user_name, hash, label)
       SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM ${this.S}.users WHERE name = $2)
       RETURNING *`,
      [token.id, token.userName, token.hash, token.label],
    );
    return row ? pgRowToToken(row) : null;
  }

  async tokenGet(id: string): Promise<{ token: ApiTokenRow; user: UserRow } | null> {
    const [row] = await this.query(
      `SELECT t.*, u.role AS user_role, u.created_at AS user_created_at
       FROM ${this.S}.api_tokens t JOIN ${this.S}.users u ON u.name = t.user_name WHERE t.id = $1`,
      [id],
    );
    if (!row) return null;
    return { token: pgRowToToken(row), user: { name: row.user_name, role: row.user_role, createdAt: row.user_created_at } };
  }

  async tokenList(userName: string): Promise<ApiTokenRow[]> {
    return (await this.query(`SELECT * FROM ${this.S}.api_tokens WHERE user_name = $1 ORDER BY created_at, id`, [userName])).map(pgRowToToken);
  }

  async tokenRevoke(match: { id: string } | { userName: string }): Promise<number> {
    const result = await this.pool.query(
      `UPDATE ${this.S}.api_tokens SET revoked_at = now() WHERE ${"id" in match ? "id" : "user_name"} = $1 AND revoked_at IS NULL`,
      ["id" in match ? match.id : match.userName],
    );
    return result.rowCount ?? 0;
  }
}
