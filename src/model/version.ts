import fs from "node:fs";

/** This package's version (read once from its package.json; "0.0.0" if it cannot be found). */
export const PACKAGE_VERSION: string = (() => {
  try {
    return (JSON.parse(fs.readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version?: string }).version ?? "0.0.0";
  } catch {
    return "0.0.0";
  }
})();
