import { parseDuration } from "../model/duration.js";
import { TasklaneError, ValidationError } from "../model/errors.js";
import type { FollowUp, TaskDefinition } from "../model/options.js";
import type { StoredFollowUp } from "../model/task-row.js";

/** Deepest chain of follow-ups below one task, and most follow-ups in all below it. */
export const MAX_FOLLOW_UP_DEPTH = 20;
export const MAX_FOLLOW_UPS = 100;

/** What a follow-up needs from the add that declares it (resolution is shared with `add`). */
export interface FollowUpResolver {
  definition(type: string): TaskDefinition;
  /** Validated params, resolved options and group of a task of this type, as `add` would build them. */
  build(def: TaskDefinition, params: unknown, options: Record<string, unknown>): Promise<Omit<StoredFollowUp, "id" | "on" | "delayMs" | "followUps">>;
}

/**
 * Resolves `then` and `onFailure` into stored follow-ups, recursively: every type must be
 * registered and every params valid now, so a chain cannot fail half-way for a typo. Ids are
 * `<parent id>.<n>`, fixed at add time, so each follow-up is added at most once.
 */
export async function resolveFollowUps(
  parentId: string,
  then: FollowUp[] | undefined,
  onFailure: FollowUp[] | undefined,
  owner: string | null,
  resolver: FollowUpResolver,
  field = "",
  depth = 0,
  budget = { left: MAX_FOLLOW_UPS },
): Promise<StoredFollowUp[] | null> {
  const items: Array<{ f: FollowUp; on: StoredFollowUp["on"]; path: string }> = [];
  for (const [list, on, name] of [[then, "success", "then"], [onFailure, "failure", "onFailure"]] as const) {
    if (list === undefined) continue;
    if (!Array.isArray(list)) throw new ValidationError(`${field}${name}`, `${field}${name}: expected an array of { type, params, options }`);
    list.forEach((f, i) => items.push({ f, on, path: `${field}${name}[${i}]` }));
  }
  if (items.length === 0) return null;
  if (depth >= MAX_FOLLOW_UP_DEPTH) throw new ValidationError(`${field}then`, `${field}then: follow-ups nest deeper than ${MAX_FOLLOW_UP_DEPTH} levels`);
  const out: StoredFollowUp[] = [];
  for (const [n, { f, on, path }] of items.entries()) {
    if (--budget.left < 0) throw new ValidationError(path, `${path}: more than ${MAX_FOLLOW_UPS} follow-ups below one task`);
    if (!f || typeof f !== "object" || typeof f.type !== "string") throw new ValidationError(`${path}.type`, `${path}.type: expected a task type name`);
    let def: TaskDefinition;
    try {
      def = resolver.definition(f.type);
    } catch (error) {
      // Same error (code), saying which follow-up: an unknown or disabled type stays what it is.
      if (error instanceof TasklaneError) throw new TasklaneError(error.code, `${path}.type: ${error.message}`, { field: `${path}.type` });
      throw error;
    }
    const { then: childThen, onFailure: childFailure, delay, ...options } = (f.options ?? {}) as Record<string, unknown> & {
      then?: FollowUp[];
      onFailure?: FollowUp[];
      delay?: string | number;
    };
    for (const refused of ["key", "runAt", "deadline", "tx"]) {
      if (refused in options) throw new ValidationError(`${path}.options.${refused}`, `${path}.options.${refused}: not allowed on a follow-up (it is added when its parent ends)`);
    }
    let built;
    try {
      built = await resolver.build(def, f.params, { owner: owner ?? undefined, ...options });
    } catch (error) {
      if (error instanceof ValidationError) throw error.under(path);
      throw error;
    }
    const id = `${parentId}.${n + 1}`;
    out.push({
      id,
      on,
      ...built,
      delayMs: delay === undefined ? 0 : parseDuration(delay, `${path}.options.delay`),
      followUps:
        (await resolveFollowUps(
          id,
          childThen ?? def.then,
          childFailure ?? def.onFailure,
          built.owner,
          resolver,
          `${path}.options.`,
          depth + 1,
          budget,
        )) ?? [],
    });
  }
  return out;
}
