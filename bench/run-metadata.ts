// What every benchmark result records about its run, so that a figure can be traced to the code,
// the machine and the load it was measured under (the machine may be shared).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, hostname, loadavg, release, totalmem, type } from 'node:os';

/** What every result records about its run: what was measured, where, when and how busy. */
export interface RunMetadata {
  readonly bench: string;
  /** A smoke run: the code path at a tiny size, not a measurement. */
  readonly smoke: boolean;
  /** `git rev-parse HEAD`, and whether tracked or new files differed from it (bench/results/
   * aside); null outside a git checkout. */
  readonly commit: { readonly sha: string | null; readonly dirty: boolean | null };
  readonly machine: {
    readonly cpu_model: string;
    readonly cores: number;
    readonly memory_gib: number;
    readonly os: string;
    readonly node: string;
    readonly host: string;
  };
  /** 1, 5 and 15 minute load averages: the machine may be shared. */
  readonly load_average: { readonly start: number[]; readonly end: number[] };
  readonly started_at: string;
  readonly finished_at: string;
  /** The options the run used (sizes, rates, runs). */
  readonly args: Readonly<Record<string, string>>;
}

/** The metadata of a run that started at `started` and ends now. */
export function runMetadata(p: {
  /** The checkout measured. */
  root: string;
  name: string;
  smoke: boolean;
  started: { at: Date; load: number[] };
  values: Readonly<Record<string, string>>;
}): RunMetadata {
  const git = (...args: string[]): string | null => {
    try {
      return execFileSync('git', args, { cwd: p.root, stdio: ['ignore', 'pipe', 'ignore'] })
        .toString()
        .trim();
    } catch {
      return null;
    }
  };
  const sha = git('rev-parse', 'HEAD');
  const status = sha === null ? null : git('status', '--porcelain', '--', '.', ':!bench/results');
  const two = (x: number) => Math.round(x * 100) / 100;
  return {
    bench: p.name,
    smoke: p.smoke,
    commit: { sha, dirty: status === null ? null : status !== '' },
    machine: {
      cpu_model: cpus()[0]?.model.trim() ?? '',
      cores: cpus().length,
      memory_gib: Math.round((totalmem() / 2 ** 30) * 10) / 10,
      os: `${osName()} (${type()} ${release()})`,
      node: process.version,
      host: hostname(),
    },
    load_average: { start: p.started.load.map(two), end: loadavg().map(two) },
    started_at: p.started.at.toISOString(),
    finished_at: new Date().toISOString(),
    args: p.values,
  };
}

function osName(): string {
  try {
    const release = readFileSync('/etc/os-release', 'utf8');
    return /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(release)?.[1] ?? type();
  } catch {
    return type();
  }
}
