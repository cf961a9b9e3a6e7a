// What every benchmark shares: a fresh work directory, engines stopped in reverse order however
// the run ends (Ctrl-C included), latency percentiles, and the result written to bench/results/.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = new URL('..', import.meta.url).pathname;

export interface BenchRun {
  /** .ccfed/bench/<name>-<pid>, empty at start. */
  readonly dir: string;
  /** Runs `stop` when the benchmark ends, last registered first. */
  onCleanup(stop: () => Promise<void>): void;
}

/** Runs a benchmark in its own directory and stops what it started, whatever happens. */
export async function runBench(
  name: string,
  body: (run: BenchRun) => Promise<void>,
): Promise<void> {
  const dir = join(ROOT, '.ccfed', 'bench', `${name}-${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const cleanup: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const c of cleanup.reverse()) await c().catch(() => undefined);
  };
  process.on('SIGINT', () => void stopAll().then(() => process.exit(130)));
  // A stray rejection (a poller's socket hang-up) would end the process without the finally
  // below, leaving engines and child processes running: stop them first.
  const crash = (err: unknown) => {
    console.error(err);
    void stopAll().then(() => process.exit(1));
  };
  process.on('unhandledRejection', crash);
  process.on('uncaughtException', crash);
  try {
    await body({ dir, onCleanup: (stop) => cleanup.push(stop) });
  } finally {
    await stopAll();
  }
}

/** Writes bench/results/<name>.json. */
export function writeResult(name: string, result: unknown): void {
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(
    join(ROOT, 'bench', 'results', `${name}.json`),
    `${JSON.stringify(result, null, 2)}\n`,
  );
}

/** The p-th percentile of an ascending list (nearest rank); NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Three decimals: microseconds when the unit is milliseconds. */
export const round = (x: number) => Math.round(x * 1000) / 1000;
