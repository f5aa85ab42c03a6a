import { ValidationError } from "./errors.js";

/** Edit distance (insertions, deletions, substitutions, adjacent swaps) between two short names. */
function distance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/** The known name nearest to `name`, if it is close enough to be a slip (at most a third of its letters off). */
export function nearest(name: string, known: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  const lower = name.toLowerCase();
  for (const candidate of known) {
    const dist = distance(lower, candidate.toLowerCase());
    if (dist < bestDistance) {
      best = candidate;
      bestDistance = dist;
    }
  }
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(name.length / 3)) ? best : undefined;
}

/** `unknown option priorty; did you mean priority?` (the hint only when a known name is close). */
export function unknownName(what: string, name: string, known: Iterable<string>): string {
  const near = nearest(name, known);
  return `unknown ${what} ${name}${near ? `; did you mean ${near}?` : ""}`;
}

interface ZodLike {
  _zod?: { def?: { type?: string; shape?: Record<string, unknown>; innerType?: unknown; options?: unknown[]; element?: unknown; in?: unknown } };
}

/** The keys an object schema (zod 4) accepts at `path`, looking through optional, nullable, union, array and pipe. */
export function knownKeysAt(schema: unknown, path: ReadonlyArray<PropertyKey>): string[] {
  const keys = new Set<string>();
  const visit = (node: unknown, rest: ReadonlyArray<PropertyKey>, depth: number): void => {
    const def = (node as ZodLike | undefined)?._zod?.def;
    if (!def || depth > 20) return;
    switch (def.type) {
      case "object":
        if (rest.length === 0) for (const k of Object.keys(def.shape ?? {})) keys.add(k);
        else visit(def.shape?.[String(rest[0])], rest.slice(1), depth + 1);
        return;
      case "array":
        if (rest.length > 0) visit(def.element, rest.slice(1), depth + 1);
        return;
      case "union":
        for (const option of def.options ?? []) visit(option, rest, depth + 1);
        return;
      case "pipe":
        visit(def.in, rest, depth + 1);
        return;
      default:
        if (def.innerType) visit(def.innerType, rest, depth + 1);
    }
  };
  visit(schema, path, 0);
  return [...keys];
}

/**
 * Throws a `ValidationError` for the first key of `value` not in `known`, naming the nearest known
 * one: `where: unknown option crom; did you mean cron?`.
 */
export function refuseUnknownKeys(where: string, value: object, known: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) throw new ValidationError(key, `${where}: ${unknownName("option", key, known)}`);
  }
}
