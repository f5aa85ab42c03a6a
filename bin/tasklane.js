#!/usr/bin/env node
// The `tasklane` command: a shim over the compiled CLI in dist/ (built by `npm run build`).
let cli;
try {
  cli = await import("../dist/cli/main.js");
} catch (error) {
  if (error && error.code === "ERR_MODULE_NOT_FOUND" && String(error.message).includes("dist/cli/main.js")) {
    process.stderr.write("tasklane: the CLI is not built yet; run `npm run build` in the tasklane package\n");
    process.exit(1);
  }
  throw error;
}
process.exitCode = await cli.main(process.argv);
