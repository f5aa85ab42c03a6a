/** Small helpers every benchmark script shares: arguments, sleeping, percentiles, rates. */

/** Parses `--name value`, `--name=value` and bare `--flag` arguments. */
export function parseArgs(argv: string[]): { flag(name: string): boolean; option(name: string): string | undefined } {
  return {
    flag: (name) => argv.includes(`--${name}`),
    option: (name) => {
      const i = argv.indexOf(`--${name}`);
      if (i >= 0 && argv[i + 1] !== undefined && !argv[i + 1]!.startsWith("--")) return argv[i + 1];
      const eq = argv.find((a) => a.startsWith(`--${name}=`));
      return eq?.slice(name.length + 3);
    },
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Nearest-rank percentile of an ascending array (NaN when empty). */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** `n` events in `ms` milliseconds, per second. */
export const perSec = (n: number, ms: number): number => (n / ms) * 1000;
