// The no-op handler of bench/isolation-bench.ts, in its own plain-JS module: runners import it
// without a TypeScript loader, as they would a built task module.
export const noop = { name: "noop", module: import.meta.url, run: () => null };
