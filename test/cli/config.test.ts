/** The worker's overload guard as configured for `tasklane start`/`worker`: environment over file, off or with limits. */
import fs from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { resolveConfig } from "../../src/cli/config.js";
import { tempDir } from "./helpers.js";

const dir = tempDir();
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function withFile(config: unknown): string {
  const sub = fs.mkdtempSync(path.join(dir, "c-"));
  fs.writeFileSync(path.join(sub, "tasklane.config.json"), JSON.stringify(config));
  return sub;
}

describe("overload configuration", () => {
  it("leaves the guard at its defaults when nothing is said", async () => {
    expect((await resolveConfig({}, {}, dir)).overload).toBeUndefined();
  });

  it("takes the file's limits, or false", async () => {
    expect((await resolveConfig({}, {}, withFile({ overload: { maxLoadPerCore: 3 } }))).overload).toEqual({ maxLoadPerCore: 3 });
    expect((await resolveConfig({}, {}, withFile({ overload: false }))).overload).toBe(false);
  });

  it("lets TASKLANE_OVERLOAD override the file either way", async () => {
    const limits = withFile({ overload: { maxLoadPerCore: 3 } });
    expect((await resolveConfig({}, { TASKLANE_OVERLOAD: "0" }, limits)).overload).toBe(false);
    expect((await resolveConfig({}, { TASKLANE_OVERLOAD: "1" }, limits)).overload).toEqual({ maxLoadPerCore: 3 });
    expect((await resolveConfig({}, { TASKLANE_OVERLOAD: "1" }, withFile({ overload: false }))).overload).toEqual({});
  });

  it("refuses a malformed value, naming where it came from", async () => {
    await expect(resolveConfig({}, { TASKLANE_OVERLOAD: "sometimes" }, dir)).rejects.toThrow(/^TASKLANE_OVERLOAD: expected 1 or 0/);
    await expect(resolveConfig({}, {}, withFile({ overload: { maxLoad: 3 } }))).rejects.toThrow(/overload/);
  });
});
