import { ValidationError } from "../model/errors.js";

/** The largest epoch ms a Date can hold: a cursor beyond it is not one `list` returned. */
const MAX_DATE_MS = 8.64e15;

/** Opaque keyset cursor over (created_at, id), so paging stays fast at any depth. */
export function encodeCursor(createdAt: number, id: string): string {
  return Buffer.from(JSON.stringify([createdAt, id])).toString("base64url");
}

export function decodeCursor(cursor: string): [number, string] {
  try {
    const value = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as unknown;
    if (Array.isArray(value) && value.length === 2 && Number.isSafeInteger(value[0]) && Math.abs(value[0]) <= MAX_DATE_MS && typeof value[1] === "string") {
      return [value[0], value[1]];
    }
  } catch {
    // fall through to the error below
  }
  throw new ValidationError("cursor", `cursor: "${cursor}" is not a cursor returned by list`);
}
