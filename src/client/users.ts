import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { TasklaneError, UserExistsError, UserNotFoundError, ValidationError } from "../model/errors.js";
import type { Store, UserRole, UserRow } from "../store/store.js";

/** A token as listed: never its secret nor its hash. */
export interface ApiTokenInfo {
  id: string;
  userName: string;
  label: string | null;
  createdAt: Date;
  revokedAt: Date | null;
}

/** A newly issued token: `token` is shown once and never stored. */
export interface IssuedToken {
  /** `tl_<id>_<secret>`: what clients send as `Authorization: Bearer <token>`. */
  token: string;
  /** The public id, to list or revoke the token later. */
  id: string;
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
const TOKEN_RE = /^tl_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
/** Compared against when the token id is unknown, so a miss costs what a hit costs. */
const DUMMY_HASH = Buffer.alloc(32);

function hashSecret(secret: string): Buffer {
  return createHash("sha256").update(secret, "utf8").digest();
}

/** Checks a user name; throws `ValidationError` naming the field. */
export function checkUserName(name: unknown, field = "name"): asserts name is string {
  if (typeof name !== "string" || !NAME_RE.test(name)) {
    throw new ValidationError(field, `${field}: expected 1-64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit`);
  }
}

/**
 * Users and API tokens. A token is `tl_<id>_<secret>`: the id is public (used to find and
 * revoke it), the 256-bit secret is stored only as its SHA-256 and compared in constant time.
 * A fast hash is right here: the secret is random, not a password, so there is nothing to brute-force.
 */
export class UserDirectory {
  private readonly store: Store;

  constructor(store: Store) {
    this.store = store;
  }

  /** Creates a user with a first token; throws `UserExistsError` when the name is taken. */
  async add(name: string, options: { role?: UserRole; label?: string } = {}): Promise<{ user: UserRow; token: IssuedToken }> {
    checkUserName(name);
    const role = options.role ?? "user";
    if (role !== "admin" && role !== "user") throw new ValidationError("role", `role: expected "admin" or "user"`);
    const user = await this.store.userInsert({ name, role });
    if (!user) throw new UserExistsError(name);
    const token = await this.issueToken(name, options.label ?? "initial");
    return { user, token };
  }

  /** Issues another token for a user (the old ones stay valid until revoked). */
  async issueToken(name: string, label: string | null = null): Promise<IssuedToken> {
    checkUserName(name);
    if (label !== null && (typeof label !== "string" || label.length > 200)) throw new ValidationError("label", "label: at most 200 characters");
    for (let i = 0; ; i++) {
      const id = randomBytes(8).toString("hex");
      const secret = randomBytes(32).toString("base64url");
      try {
        const row = await this.store.tokenInsert({ id, userName: name, hash: hashSecret(secret).toString("hex"), label });
        if (!row) throw new UserNotFoundError(name);
        return { token: `tl_${id}_${secret}`, id };
      } catch (error) {
        // A 64-bit id collision is all but impossible; try once more rather than fail.
        if (error instanceof TasklaneError || i > 0) throw error;
      }
    }
  }

  /** The user a token belongs to, or null (unknown, malformed, revoked, or its user removed). */
  async authenticate(token: string): Promise<UserRow | null> {
    const m = typeof token === "string" ? TOKEN_RE.exec(token) : null;
    const presented = hashSecret(m ? m[2]! : "-");
    const found = m ? await this.store.tokenGet(m[1]!) : null;
    const stored = found ? Buffer.from(found.token.hash, "hex") : DUMMY_HASH;
    const same = stored.length === presented.length && timingSafeEqual(stored, presented);
    if (!found || !same || found.token.revokedAt !== null) return null;
    return found.user;
  }

  async get(name: string): Promise<UserRow | null> {
    return this.store.userGet(name);
  }

  async list(): Promise<UserRow[]> {
    return this.store.userList();
  }

  async count(): Promise<number> {
    return this.store.userCount();
  }

  /** Deletes a user and all its tokens (its tasks stay, owned by the name). */
  async remove(name: string): Promise<void> {
    checkUserName(name);
    if (!(await this.store.userDelete(name))) throw new UserNotFoundError(name);
  }

  /** The user's tokens, without secrets or hashes. */
  async tokens(name: string): Promise<ApiTokenInfo[]> {
    if (!(await this.store.userGet(name))) throw new UserNotFoundError(name);
    return (await this.store.tokenList(name)).map(({ hash: _hash, ...info }) => info);
  }

  /** Revokes one token by its id (or the whole token); returns whether one was revoked now. */
  async revokeToken(idOrToken: string): Promise<boolean> {
    const id = TOKEN_RE.exec(idOrToken)?.[1] ?? idOrToken;
    if (!/^[0-9a-f]{16}$/.test(id)) throw new ValidationError("token", "token: expected a token id (16 hex digits) or a token");
    return (await this.store.tokenRevoke({ id })) === 1;
  }

  /** Revokes every token of a user; returns how many. */
  async revokeAll(name: string): Promise<number> {
    if (!(await this.store.userGet(name))) throw new UserNotFoundError(name);
    return this.store.tokenRevoke({ userName: name });
  }
}
