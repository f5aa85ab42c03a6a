// The handlers of bench/isolation-bench.ts, in their own plain-JS module: runners import it
// without a TypeScript loader, as they would a built task module.

/** Does nothing: the per-task overhead and the drain. */
export const noop = { name: "noop", module: import.meta.url, run: () => null };

/** When its handler started, ms since the epoch with fractions (comparable across threads and processes). */
export const stamp = { name: "stamp", module: import.meta.url, run: () => performance.timeOrigin + performance.now() };

/** Spins synchronously for `params.ms`; returns when it started and ended (as `stamp`). */
export const spin = {
  name: "spin",
  module: import.meta.url,
  run: (ctx) => {
    const start = performance.timeOrigin + performance.now();
    const end = performance.now() + ctx.params.ms;
    while (performance.now() < end);
    return { start, end: performance.timeOrigin + performance.now() };
  },
};
