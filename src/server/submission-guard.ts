import type { UserRow } from "../store/store.js";
import { HttpError } from "./errors.js";
import { isAdmin } from "./request.js";
import type { FollowUpBody } from "./schemas.js";

/** Types only admins may add (the built-in `sql` type runs statements on the task database). */
export const ADMIN_ONLY_TYPES: ReadonlySet<string> = new Set(["sql"]);

interface Submission {
  type: string;
  owner?: string;
  group?: string;
  then?: FollowUpBody[];
  onFailure?: FollowUpBody[];
}

/**
 * What a plain user may not submit, checked over the whole request before anything is stored:
 * an admin-only type or another owner, at the top level or in any follow-up at any depth. A
 * follow-up is a task added later on the submitter's behalf, so it gets exactly the checks of
 * a task added now; otherwise `then: [{ type: "sql" }]` would run SQL for a tenant, and
 * `options.owner` would plant a task in another user's list. Nor may a plain user choose a
 * `group`: groups partition fair dispatch and cluster-wide limits, so a tenant naming its own
 * could take a turn per task or use up another tenant's limit. (A type's `group(params)` still
 * applies.)
 */
export function assertMaySubmit(user: UserRow, body: Submission): void {
  if (isAdmin(user)) return;
  check(user, body.type, body.owner, body.group, "");
  walk(user, body.then, "then");
  walk(user, body.onFailure, "onFailure");
}

function walk(user: UserRow, list: FollowUpBody[] | undefined, path: string): void {
  for (const [i, f] of (list ?? []).entries()) {
    const at = `${path}[${i}]`;
    check(user, f.type, f.options?.owner, f.options?.group, `${at}.`);
    walk(user, f.options?.then, `${at}.options.then`);
    walk(user, f.options?.onFailure, `${at}.options.onFailure`);
  }
}

function check(user: UserRow, type: string, owner: unknown, group: unknown, prefix: string): void {
  if (group !== undefined) {
    const field = prefix ? `${prefix}options.group` : "group";
    throw new HttpError(403, "FORBIDDEN", `${field}: only admins may set a task's flow-control group`, { field });
  }
  if (ADMIN_ONLY_TYPES.has(type)) {
    throw new HttpError(403, "FORBIDDEN", `${prefix}type: "${type}" tasks are for admins only`, { field: `${prefix}type` });
  }
  if (owner !== undefined && owner !== user.name) {
    const field = prefix ? `${prefix}options.owner` : "owner";
    throw new HttpError(403, "FORBIDDEN", `${field}: only admins may add tasks on behalf of another user`, { field });
  }
}
