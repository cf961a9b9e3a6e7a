// What every benchmark shares: its sizes at full scale and in smoke mode, a fresh work directory,
// the engines and ccfed processes it starts (the one place their settings live), everything
// stopped in reverse order however the run ends (Ctrl-C included), latency percentiles, and the
// result written with the commit, machine, load and dates it was measured with.
//
// Smoke mode (`npm run bench:<name> -- --smoke`, or BENCH_SMOKE=1) runs the same code at a tiny
// size in seconds: its work directory is a new temporary one, and its result goes to
// .ccfed/bench/smoke-results/ (or BENCH_SMOKE_RESULTS), never to bench/results/, so smoke figures
// cannot pass for measurements. tests/bench/smoke.test.ts runs every bench this way.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import {
  createWriteStream,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { cpus, hostname, loadavg, release, tmpdir, totalmem, type } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { createKafka, silentLogger } from '@ccfed/common';
import {
  startClickHouse,
  startKafka,
  startKamailio,
  type ClickHouseInstance,
  type ClickHouseOptions,
  type KafkaInstance,
  type KafkaOptions,
  type KamailioInstance,
  type KamailioOptions,
} from '@ccfed/services';
import type { Kafka } from 'kafkajs';

export const ROOT = new URL('..', import.meta.url).pathname;
export const RESULTS_DIR = join(ROOT, 'bench', 'results');

/** One option's value at full size and in smoke mode ('' for none). */
export interface Size {
  readonly full: string;
  readonly smoke: string;
}

export interface BenchArgs<K extends string> {
  readonly smoke: boolean;
  /** Each option as given on the command line, else its size for the mode. */
  readonly values: Readonly<Record<K, string>>;
}

/**
 * Reads a benchmark's options (`--name value`) and `--smoke`. Every option states its smoke
 * size next to its full one, so a new option cannot leave smoke mode running at full size.
 */
export function benchArgs<K extends string>(sizes: Record<K, Size>): BenchArgs<K> {
  const names = Object.keys(sizes) as K[];
  const { values } = parseArgs({
    options: {
      smoke: { type: 'boolean' },
      ...Object.fromEntries(names.map((k) => [k, { type: 'string' as const }])),
    },
  });
  const smoke = values.smoke === true || process.env.BENCH_SMOKE === '1';
  const given = values as Record<string, string | undefined>;
  return {
    smoke,
    values: Object.fromEntries(
      names.map((k) => [k, given[k] ?? (smoke ? sizes[k].smoke : sizes[k].full)]),
    ) as Record<K, string>,
  };
}

export interface BenchRun {
  readonly name: string;
  readonly smoke: boolean;
  /** Empty at start: .ccfed/bench/<name>-<pid>, or a new temporary directory in smoke mode. */
  readonly dir: string;
  /** Runs `stop` when the benchmark ends, last registered first. */
  onCleanup(stop: () => Promise<void>): void;
  /** Writes the result with the run's metadata (runMetadata); returns the file written. */
  writeResult(result: Record<string, unknown>): string;
}

/**
 * Runs a benchmark in its own empty directory and stops what it started, whatever happens. The
 * directory is removed when the benchmark succeeds (BENCH_KEEP_DATA=1 keeps it) and kept, with
 * its logs, when it fails.
 */
export async function runBench<K extends string>(
  name: string,
  args: BenchArgs<K>,
  body: (run: BenchRun) => Promise<void>,
): Promise<void> {
  const started = { at: new Date(), load: loadavg() };
  const dir = args.smoke
    ? mkdtempSync(join(process.env.BENCH_WORK_ROOT ?? tmpdir(), `ccfed-bench-${name}-`))
    : join(ROOT, '.ccfed', 'bench', `${name}-${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const cleanup: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const c of cleanup.reverse()) await c().catch(() => undefined);
    cleanup.length = 0;
  };
  const keptForLogs = () => console.error(`${name}: work directory kept for its logs: ${dir}`);
  process.on(
    'SIGINT',
    () =>
      void stopAll().then(() => {
        keptForLogs();
        process.exit(130);
      }),
  );
  // A stray rejection (a poller's socket hang-up) would end the process without the finally
  // below, leaving engines and child processes running: stop them first.
  const crash = (err: unknown) => {
    console.error(err);
    void stopAll().then(() => {
      keptForLogs();
      process.exit(1);
    });
  };
  process.on('unhandledRejection', crash);
  process.on('uncaughtException', crash);
  const run: BenchRun = {
    name,
    smoke: args.smoke,
    dir,
    onCleanup: (stop) => void cleanup.push(stop),
    writeResult: (result) =>
      writeResultFile(name, args.smoke, {
        run: runMetadata({ name, smoke: args.smoke, started, values: args.values }),
        ...result,
      }),
  };
  let ok = false;
  try {
    await body(run);
    ok = true;
  } finally {
    await stopAll();
    if (ok && process.env.BENCH_KEEP_DATA !== '1') rmSync(dir, { recursive: true, force: true });
    else keptForLogs();
  }
}

function writeResultFile(name: string, smoke: boolean, result: unknown): string {
  const dir = smoke
    ? resolve(process.env.BENCH_SMOKE_RESULTS ?? join(ROOT, '.ccfed', 'bench', 'smoke-results'))
    : RESULTS_DIR;
  if (smoke && dir === resolve(RESULTS_DIR))
    throw new Error(`BENCH_SMOKE_RESULTS: smoke results never go to ${RESULTS_DIR}`);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`${smoke ? 'smoke result (not a measurement)' : 'result'} → ${file}`);
  return file;
}

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
  name: string;
  smoke: boolean;
  started: { at: Date; load: number[] };
  values: Readonly<Record<string, string>>;
}): RunMetadata {
  const git = (...args: string[]): string | null => {
    try {
      return execFileSync('git', args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] })
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

// --- The engines and ccfed processes a benchmark starts --------------------------------------
// Each stops when the benchmark ends. Settings every bench process needs (credentials, TLS)
// belong here, once, not in each benchmark.

export async function benchKafka(
  run: BenchRun,
  opts: Omit<KafkaOptions, 'dataDir'> = {},
): Promise<KafkaInstance> {
  const kafka = await startKafka({ dataDir: join(run.dir, 'kafka'), ...opts });
  run.onCleanup(() => kafka.stop());
  return kafka;
}

export async function benchClickHouse(
  run: BenchRun,
  opts: Omit<ClickHouseOptions, 'dataDir'> & { dataDir?: string } = {},
): Promise<ClickHouseInstance> {
  const server = await startClickHouse({ dataDir: join(run.dir, 'clickhouse'), ...opts });
  run.onCleanup(() => server.stop());
  return server;
}

export async function benchKamailio(
  run: BenchRun,
  opts: Omit<KamailioOptions, 'dataDir'>,
): Promise<KamailioInstance> {
  const kam = await startKamailio({ dataDir: join(run.dir, 'kamailio'), ...opts });
  run.onCleanup(() => kam.stop());
  return kam;
}

/** A Kafka client for the benchmark's own producers and admin. */
export function benchKafkaClient(brokers: readonly string[], clientId: string): Kafka {
  return createKafka({ brokers, clientId, log: silentLogger() });
}

/** A ClickHouse client for the benchmark's own queries. */
export function benchClickHouseClient(
  url: string,
  opts: { database?: string; requestTimeoutMs?: number } = {},
): ClickHouseClient {
  return createClient({
    url,
    ...(opts.database === undefined ? {} : { database: opts.database }),
    ...(opts.requestTimeoutMs === undefined ? {} : { request_timeout: opts.requestTimeoutMs }),
  });
}

/**
 * Sends one statement to ClickHouse's HTTP interface at `url` with the URL parameters `params`
 * (e.g. `database=ccfed&max_memory_usage=…`): the body of the answer, or an error with ClickHouse's
 * message and the statement.
 */
export function benchClickHouseHttp(
  url: string,
): (text: string, params: string) => Promise<string> {
  return async (text, params) => {
    const res = await fetch(`${url}/?${params}`, { method: 'POST', body: text });
    const body = await res.text();
    if (!res.ok) throw new Error(`ClickHouse ${res.status}: ${body.trim()}\n${text}`);
    return body;
  };
}

export interface BenchService {
  readonly child: ChildProcess;
  /** Settles with the exit code once the process has exited. */
  readonly exited: Promise<number | null>;
  readonly logFile: string;
  /** SIGTERM unless it has exited, then its exit code. */
  stop(): Promise<number | null>;
}

/**
 * Runs one of ccfed's own processes (e.g. central/router/src/index.ts) as production does, its
 * output in <dir>/<name>.log; `onLine` also sees each line of its stdout.
 */
export function benchService(
  run: BenchRun,
  p: {
    name: string;
    entry: string;
    env: Record<string, string>;
    logLevel?: string;
    /** Extra node arguments, e.g. from BENCH_<X>_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/p'. */
    nodeArgs?: string;
    onLine?: (line: string) => void;
  },
): BenchService {
  const logFile = join(run.dir, `${p.name}.log`);
  const log = createWriteStream(logFile);
  const child = spawn(
    process.execPath,
    [...(p.nodeArgs ?? '').split(' ').filter(Boolean), '--import', 'tsx', join(ROOT, p.entry)],
    {
      cwd: ROOT,
      env: { ...process.env, LOG_LEVEL: p.logLevel ?? 'warn', ...p.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stderr.pipe(log);
  if (p.onLine) {
    const onLine = p.onLine;
    createInterface({ input: child.stdout }).on('line', (line) => {
      log.write(`${line}\n`);
      onLine(line);
    });
  } else child.stdout.pipe(log);
  const exited = new Promise<number | null>((r) => child.once('exit', r));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    return exited;
  };
  run.onCleanup(async () => void (await stop()));
  return { child, exited, logFile, stop };
}

/** The p-th percentile of an ascending list (nearest rank); NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Three decimals: microseconds when the unit is milliseconds. */
export const round = (x: number) => Math.round(x * 1000) / 1000;
