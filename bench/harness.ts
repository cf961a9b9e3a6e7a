// What every benchmark shares: its sizes at full scale and in smoke mode, a fresh work directory,
// the engines and ccfed processes it starts (the one place their settings live, security
// included: the run's CA, certificates, Kafka and ClickHouse users), everything stopped in reverse
// order however the run ends (Ctrl-C included), latency percentiles, and the result written with
// the commit, machine, load and dates it was measured with (run-metadata.ts).
//
// Smoke mode (`npm run bench:<name> -- --smoke`, or BENCH_SMOKE=1) runs the same code at a tiny
// size in seconds: its work directory is a new temporary one, and its result goes to
// .ccfed/bench/smoke-results/ (or BENCH_SMOKE_RESULTS), never to bench/results/, so smoke figures
// cannot pass for measurements. tests/bench/smoke.test.ts runs every bench this way.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import {
  loadTls,
  principalLabel,
  samePrincipal,
  secureChannel,
  type ClickHouseRole,
  type Principal,
} from '@ccfed/common';
import {
  adminKafka,
  clickhouseProcessEnv,
  kafkaUserOf,
  newKafkaPassword,
  openPki,
  provisionKafka,
  startClickHouse,
  startKafka,
  startKamailio,
  startSiteRtpengine,
  type ClickHouseInstance,
  type ClickHouseOptions,
  type KafkaInstance,
  type KafkaOptions,
  type KafkaPrincipal,
  type KamailioInstance,
  type KamailioOptions,
  type Pki,
  type RtpengineInstance,
} from '@ccfed/services';
import type { Kafka } from 'kafkajs';
import { createClient as createGrpcClient, type Channel, type Client } from 'nice-grpc';
import { site as siteApi } from '@ccfed/proto';
import { siteById, type Topology } from '@ccfed/topology';
import { runMetadata } from './run-metadata.js';

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
  /** The run's own federation CA, in <dir>/pki (created on first use): every certificate the
   * benchmark hands out comes from it, the Kafka broker's included. */
  pki(): Promise<Pki>;
  /** The key every site of the run signs the SIP context of overflowed calls with (fresh). */
  readonly federationKey: string;
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
  let pki: Promise<Pki> | undefined;
  const run: BenchRun = {
    name,
    smoke: args.smoke,
    dir,
    onCleanup: (stop) => void cleanup.push(stop),
    pki: () => (pki ??= openPki(join(dir, 'pki'))),
    federationKey: randomBytes(32).toString('base64url'),
    writeResult: (result) =>
      writeResultFile(name, args.smoke, {
        run: runMetadata({ root: ROOT, name, smoke: args.smoke, started, values: args.values }),
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

// --- The engines and ccfed processes a benchmark starts --------------------------------------
// Each stops when the benchmark ends. Everything security needs (the run's CA, certificates,
// Kafka and ClickHouse users, the federation key) is set up here, once, as production has it:
// there is no insecure mode for a benchmark to measure instead.

/** The Kafka broker of a run: TLS from the run's CA, SCRAM users and ACLs only. */
export interface BenchKafka extends KafkaInstance {
  /**
   * The CCFED_KAFKA_* and CCFED_TLS_CA variables of a process running as `principal`, whose user
   * is created (one password per user for the run) and granted its row of the ACL table on the
   * topics under `prefix`, which are created first when missing.
   */
  env(principal: KafkaPrincipal, prefix: string): Promise<Record<string, string>>;
}

export async function benchKafka(
  run: BenchRun,
  opts: Omit<KafkaOptions, 'dataDir' | 'pki' | 'adminPassword'> = {},
): Promise<BenchKafka> {
  const engine = await startKafka({
    dataDir: join(run.dir, 'kafka'),
    pki: await run.pki(),
    adminPassword: newKafkaPassword(),
    ...opts,
  });
  run.onCleanup(() => engine.stop());
  const passwords = new Map<string, string>();
  return {
    ...engine,
    env: async (principal, prefix) => {
      const user = kafkaUserOf(principal);
      const password = passwords.get(user) ?? newKafkaPassword();
      passwords.set(user, password);
      await provisionKafka({
        brokers: engine.brokers,
        admin: engine.admin,
        prefix,
        ...(opts.partitions !== undefined && { partitions: opts.partitions }),
        users: [{ principal, password }],
      });
      return {
        CCFED_KAFKA_BROKERS: engine.brokers.join(','),
        CCFED_KAFKA_USERNAME: user,
        CCFED_KAFKA_PASSWORD: password,
        CCFED_TLS_CA: engine.caFile,
      };
    },
  };
}

/**
 * A Kafka client for the benchmark's own producers, admin and checks, as the super user: the
 * bench stands in for every site and the admin at once.
 */
export function benchKafkaClient(kafka: KafkaInstance, clientId: string): Kafka {
  return adminKafka(kafka, clientId);
}

/** ClickHouse with one user per role and fresh passwords (users.ts), none without one. */
export async function benchClickHouse(
  run: BenchRun,
  opts: Omit<ClickHouseOptions, 'dataDir'> & { dataDir?: string } = {},
): Promise<ClickHouseInstance> {
  const server = await startClickHouse({ dataDir: join(run.dir, 'clickhouse'), ...opts });
  run.onCleanup(() => server.stop());
  return server;
}

/** A ClickHouse client for the benchmark's own queries, logged in as `role`. */
export function benchClickHouseClient(
  server: ClickHouseInstance,
  role: ClickHouseRole,
  opts: { database?: string; requestTimeoutMs?: number } = {},
): ClickHouseClient {
  return createClient({
    ...server.as(role),
    ...(opts.database === undefined ? {} : { database: opts.database }),
    ...(opts.requestTimeoutMs === undefined ? {} : { request_timeout: opts.requestTimeoutMs }),
  });
}

/**
 * Sends one statement to ClickHouse's HTTP interface as `role`, with the URL parameters `params`
 * (e.g. `database=ccfed&max_memory_usage=…`): the body of the answer, or an error with ClickHouse's
 * message and the statement.
 */
export function benchClickHouseHttp(
  server: ClickHouseInstance,
  role: ClickHouseRole,
): (text: string, params: string) => Promise<string> {
  const { url, username, password } = server.as(role);
  const authorization = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
  return async (text, params) => {
    const res = await fetch(`${url}/?${params}`, {
      method: 'POST',
      body: text,
      headers: { authorization },
    });
    const body = await res.text();
    if (!res.ok) throw new Error(`ClickHouse ${res.status}: ${body.trim()}\n${text}`);
    return body;
  };
}

/** The site agent's control API as the site's supervisor sees it. */
export interface BenchSite {
  readonly rtpengine: RtpengineInstance;
  readonly kamailio: KamailioInstance;
  readonly control: Client<typeof siteApi.AgentControlDefinition>;
  readonly status: Client<typeof siteApi.SiteAgentDefinition>;
}

/**
 * One site as production runs it: its rtpengine first (Kamailio anchors every call's media
 * there), its Kamailio on ccfed.cfg, its site agent as the site principal (its certificate, its
 * Kafka user on topics created here as the local federation's start creates them, the federation
 * key), and a control API client with the site's supervisor's certificate (mutual TLS only), to
 * log agents in. Resolves once the site agent is connected to Kamailio.
 */
export async function benchSite(
  run: BenchRun,
  opts: {
    readonly topology: Topology;
    readonly topologyFile: string;
    readonly siteId: string;
    /** The broker, or its start still under way: the site's rtpengine and Kamailio need no
     * Kafka, and start meanwhile. */
    readonly kafka: BenchKafka | Promise<BenchKafka>;
    /** More of the site agent's variables (e.g. CCFED_CALLER_HASH_KEY). */
    readonly env?: Record<string, string>;
    /**
     * Entries already on the customer directory topic: resolves only once the site agent has
     * read them all, so that the first call's caller is identified.
     */
    readonly directoryEntries?: number;
  },
): Promise<BenchSite> {
  const { topology, siteId } = opts;
  const site = siteById(topology, siteId);
  // The site agent's Kafka user (topics created first) while its media and SIP engines start.
  const siteKafka = Promise.resolve(opts.kafka).then((broker) =>
    broker.env({ role: 'site', site: siteId }, 'ccfed'),
  );
  siteKafka.catch(() => undefined); // awaited below, once the engines are up
  const rtpengine = await startSiteRtpengine({
    topology,
    siteId,
    dataDir: join(run.dir, 'rtpengine'),
  });
  run.onCleanup(() => rtpengine.stop());
  const kamailio = await benchKamailio(run, {
    topology,
    siteId,
    tuning: { queueTimeoutMs: 60_000, ringTimeoutMs: 20_000, children: 8, quiet: true },
    sharedMemoryMb: 256,
  });
  const kafkaEnv = await siteKafka;
  let directoryRead: () => void = () => undefined;
  const directory = new Promise<void>((r) => (directoryRead = r));
  const wanted = opts.directoryEntries;
  await benchService(run, {
    name: 'site-agent',
    entry: 'site-agent/src/index.ts',
    tls: { kind: 'site', site: siteId },
    kafkaEnv,
    env: {
      CCFED_TOPOLOGY: opts.topologyFile,
      CCFED_SITE: siteId,
      CCFED_DATA_DIR: join(run.dir, 'site-agent'),
      ...opts.env,
    },
    // The directory's progress is logged at info only.
    ...(wanted !== undefined && {
      logLevel: 'info',
      onLine: (line: string) => {
        if (!line.includes('"event":"customer_directory_caught_up"')) return;
        const entries = (JSON.parse(line) as { entries?: number }).entries ?? 0;
        if (entries >= wanted) directoryRead();
      },
    }),
  });
  const channel = await benchChannel(run, `${site.grpc.host}:${site.grpc.port}`, {
    as: { kind: 'supervisor', site: siteId },
    server: { kind: 'site', site: siteId },
  });
  const control = createGrpcClient(siteApi.AgentControlDefinition, channel);
  const status = createGrpcClient(siteApi.SiteAgentDefinition, channel);
  for (let i = 0; ; i++) {
    const up = await status
      .getStatus({}, { signal: AbortSignal.timeout(1000) })
      .then((s) => s.evapiConnected)
      .catch(() => false);
    if (up) break;
    if (i > 600) throw new Error(`site agent did not come up; see ${run.dir}/site-agent.log`);
    await new Promise((r) => setTimeout(r, 100));
  }
  if (wanted !== undefined) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      directory,
      new Promise((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new Error(
                `the site agent did not read ${wanted} directory entries; see ${run.dir}/site-agent.log`,
              ),
            ),
          60_000,
        );
      }),
    ]).finally(() => clearTimeout(timer));
  }
  return { rtpengine, kamailio, control, status };
}

/** A site's Kamailio, with the site's certificate from the run's CA for SIP over TLS. */
export async function benchKamailio(
  run: BenchRun,
  opts: Omit<KamailioOptions, 'dataDir' | 'tls'>,
): Promise<KamailioInstance> {
  const kam = await startKamailio({
    dataDir: join(run.dir, 'kamailio'),
    tls: await (await run.pki()).issue({ kind: 'site', site: opts.siteId }),
    ...opts,
  });
  run.onCleanup(() => kam.stop());
  return kam;
}

/**
 * A mutual-TLS gRPC channel to the ccfed server `server` at `address`, with the certificate of
 * `as`: the principal the benchmark's requests stand for (a site asking the router, a supervisor
 * logging agents in).
 */
export async function benchChannel(
  run: BenchRun,
  address: string,
  p: { as: Principal; server: Principal },
): Promise<Channel> {
  const channel = secureChannel(
    address,
    loadTls(await (await run.pki()).issue(p.as)),
    (peer) => samePrincipal(peer, p.server),
    principalLabel(p.server),
  );
  run.onCleanup(async () => channel.close());
  return channel;
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
 * output in <dir>/<name>.log; `onLine` also sees each line of its stdout. It gets the variables of
 * whom it runs as: its certificate (and a site's the run's federation key), its Kafka user, its
 * ClickHouse login.
 */
export async function benchService(
  run: BenchRun,
  p: {
    name: string;
    entry: string;
    env: Record<string, string>;
    /** Its certificate from the run's CA (CCFED_TLS_*); a site also gets CCFED_FEDERATION_KEY. */
    tls?: Principal;
    /** Its Kafka user, granted on the topics under `prefix` (benchKafka's env). */
    kafka?: { broker: BenchKafka; as: KafkaPrincipal; prefix: string };
    /** Instead of `kafka`: the variables its env already gave (the user is provisioned). */
    kafkaEnv?: Record<string, string>;
    /** Its ClickHouse login (CCFED_CLICKHOUSE_*) to `database`. */
    clickhouse?: { server: ClickHouseInstance; as: ClickHouseRole; database: string };
    logLevel?: string;
    /** Extra node arguments, e.g. from BENCH_<X>_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/p'. */
    nodeArgs?: string;
    onLine?: (line: string) => void;
  },
): Promise<BenchService> {
  const tls = p.tls && (await (await run.pki()).issue(p.tls));
  const env = {
    ...(p.kafka ? await p.kafka.broker.env(p.kafka.as, p.kafka.prefix) : p.kafkaEnv),
    ...(tls && { CCFED_TLS_CA: tls.ca, CCFED_TLS_CERT: tls.cert, CCFED_TLS_KEY: tls.key }),
    ...(p.tls?.kind === 'site' && { CCFED_FEDERATION_KEY: run.federationKey }),
    ...(p.clickhouse &&
      clickhouseProcessEnv(p.clickhouse.server.as(p.clickhouse.as), p.clickhouse.database)),
    ...p.env,
  };
  const logFile = join(run.dir, `${p.name}.log`);
  const log = createWriteStream(logFile);
  const child = spawn(
    process.execPath,
    [...(p.nodeArgs ?? '').split(' ').filter(Boolean), '--import', 'tsx', join(ROOT, p.entry)],
    {
      cwd: ROOT,
      env: { ...process.env, LOG_LEVEL: p.logLevel ?? 'warn', ...env },
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
