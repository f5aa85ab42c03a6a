import { describe, expect, it } from "vitest";
import { ConfigError, ValidationError } from "../../src/model/errors.js";
import { decodeCursor, encodeCursor } from "../../src/store/cursor.js";
import { openStore } from "../../src/store/open-store.js";

describe("bad inputs get a clear error, not a stack trace", () => {
  it("refuses a cursor whose time no Date can hold (PostgreSQL would throw while formatting it)", () => {
    const forged = Buffer.from(JSON.stringify([Number.MAX_SAFE_INTEGER, "x"])).toString("base64url");
    expect(() => decodeCursor(forged)).toThrow(ValidationError);
    expect(decodeCursor(encodeCursor(1_700_000_000_000, "a"))).toEqual([1_700_000_000_000, "a"]);
  });

  it("refuses a PostgreSQL URL that does not parse, without echoing its password", async () => {
    const error = await openStore({ db: "postgres://u:secret@h:notaport/db" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/not a valid PostgreSQL URL/);
    expect((error as Error).message).not.toContain("secret");
  });
});
