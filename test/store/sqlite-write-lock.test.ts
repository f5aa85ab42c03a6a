import { describe, expect, it } from "vitest";
import { isBusyError, retryWhileBusy } from "../../src/store/sqlite/sqlite-write-lock.js";

const busy = () => Object.assign(new Error("database is locked"), { code: "SQLITE_BUSY" });

describe("retryWhileBusy", () => {
  it("retries a busy attempt with short sleeps growing to 1 ms", () => {
    const sleeps: number[] = [];
    let tries = 0;
    const out = retryWhileBusy(
      () => {
        if (++tries < 12) throw busy();
        return "done";
      },
      60_000,
      () => true,
      (ms) => sleeps.push(ms),
    );
    expect(out).toBe("done");
    expect(tries).toBe(12);
    expect(sleeps).toHaveLength(11);
    expect(sleeps[0]).toBeLessThan(0.05);
    expect(Math.max(...sleeps)).toBeLessThanOrEqual(1.5);
    // Past the first few, every sleep is near the 1 ms cap (jitter 0.5–1.5×).
    for (const ms of sleeps.slice(7)) expect(ms).toBeGreaterThanOrEqual(0.5);
  });

  it("throws the last busy error once the budget is spent", () => {
    let tries = 0;
    const errors: Error[] = [];
    const t0 = performance.now();
    expect(() =>
      retryWhileBusy(() => {
        tries += 1;
        const e = busy();
        errors.push(e);
        throw e;
      }, 20),
    ).toThrow(/database is locked/);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(20);
    expect(tries).toBeGreaterThan(1);
  });

  it("does not retry other errors, nor a busy error it is told not to", () => {
    let tries = 0;
    expect(() =>
      retryWhileBusy(() => {
        tries += 1;
        throw new Error("constraint");
      }, 1000),
    ).toThrow("constraint");
    expect(tries).toBe(1);
    expect(() =>
      retryWhileBusy(
        () => {
          tries += 1;
          throw busy();
        },
        1000,
        () => false,
      ),
    ).toThrow("database is locked");
    expect(tries).toBe(2);
  });

  it("knows SQLite's busy codes", () => {
    expect(isBusyError(busy())).toBe(true);
    expect(isBusyError({ code: "SQLITE_BUSY_RECOVERY" })).toBe(true);
    expect(isBusyError({ code: "SQLITE_LOCKED" })).toBe(false);
    expect(isBusyError(null)).toBe(false);
  });
});
