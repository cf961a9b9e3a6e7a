import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, LOOPBACK } from '../ports.js';
import { startEngine, type EngineHandle } from '../supervise.js';
import type { ClickHouseLogins, ClickHouseRole, ClickHouseTarget } from '@ccfed/common';
import { clickhouseUsersXml, generateClickHouseLogins } from './users.js';

export const CLICKHOUSE_SERVER = '/usr/sbin/clickhouse-server';

export interface ClickHouseOptions {
  readonly dataDir: string;
  readonly httpPort?: number;
  readonly tcpPort?: number;
  /** The users' passwords; fresh random ones when not given (every start gets its own). */
  readonly logins?: ClickHouseLogins;
  /**
   * A member of a cluster (cluster.ts): its remote_servers, ZooKeeper, macros and interserver
   * settings go into conf/config.d/cluster.xml (readable by the owner only: it holds passwords),
   * and its extra default-profile settings into users.xml. Absent, the server is the single one.
   */
  readonly cluster?: {
    readonly configXml: string;
    readonly interserverPort: number;
    readonly defaultProfile: Readonly<Record<string, number | string>>;
  };
  /**
   * How long stop() waits after SIGTERM before SIGKILL; default 3 s (see below). A cluster member
   * stopped mid-INSERT to show a graceful stop loses nothing waits longer (cluster.ts).
   */
  readonly stopTimeoutMs?: number;
}

export interface ClickHouseInstance {
  /** HTTP interface, what @clickhouse/client talks to. */
  readonly url: string;
  readonly httpPort: number;
  readonly tcpPort: number;
  readonly handle: EngineHandle;
  /** Who may log in, one user per role (users.ts); there is no user without a password. */
  readonly logins: ClickHouseLogins;
  /** The URL and login of `role`, what a client or a process's CCFED_CLICKHOUSE_* needs. */
  as(role: ClickHouseRole): ClickHouseTarget;
  stop(): Promise<void>;
}

/** Starts Debian's clickhouse-server on loopback with everything it writes under dataDir. */
export async function startClickHouse(opts: ClickHouseOptions): Promise<ClickHouseInstance> {
  const httpPort = opts.httpPort ?? (await freePort());
  const tcpPort = opts.tcpPort ?? (await freePort());
  const conf = join(opts.dataDir, 'conf');
  const logDir = join(opts.dataDir, 'log');
  for (const d of [conf, logDir, join(opts.dataDir, 'data', 'tmp')])
    mkdirSync(d, { recursive: true });
  writeFileSync(join(conf, 'config.xml'), configXml({ dataDir: opts.dataDir, httpPort, tcpPort }));
  const clusterXml = join(conf, 'config.d', 'cluster.xml');
  rmSync(clusterXml, { force: true });
  if (opts.cluster) {
    mkdirSync(join(conf, 'config.d'), { recursive: true });
    writeFileSync(clusterXml, opts.cluster.configXml, { mode: 0o600 });
  }
  const logins = opts.logins ?? generateClickHouseLogins();
  // Loopback only, and still no user without a password: this machine may be shared, and any
  // local process can reach a loopback port. users.xml holds only sha256 of the passwords.
  writeFileSync(
    join(conf, 'users.xml'),
    clickhouseUsersXml(logins, {
      networks: ['::1', '127.0.0.1'],
      defaultProfile: { ...DEFAULT_PROFILE, ...opts.cluster?.defaultProfile },
    }),
    { mode: 0o600 },
  );
  const url = `http://${LOOPBACK}:${httpPort}`;
  const handle = await startEngine({
    name: 'clickhouse',
    command: CLICKHOUSE_SERVER,
    args: [`--config-file=${join(conf, 'config.xml')}`],
    cwd: opts.dataDir,
    logFile: join(logDir, 'stdout.log'),
    pidFile: join(opts.dataDir, 'clickhouse.pid'),
    ports: [
      { port: httpPort, protocol: 'tcp', role: 'ClickHouse HTTP' },
      { port: tcpPort, protocol: 'tcp', role: 'ClickHouse native' },
      ...(opts.cluster
        ? [
            {
              port: opts.cluster.interserverPort,
              protocol: 'tcp' as const,
              role: 'ClickHouse interserver',
            },
          ]
        : []),
    ],
    ready: async () => {
      const res = await fetch(`${url}/ping`, { signal: AbortSignal.timeout(1000) });
      return res.ok && (await res.text()).startsWith('Ok.');
    },
    readyTimeoutMs: 60_000,
    // 18.16 takes 15 s to stop on SIGTERM with no client connected (20 s and more with one: its
    // HTTP server waits out keep-alive sockets, keep_alive_timeout above), measured. Everything it
    // acknowledged is already in its data files (an INSERT's part is renamed into place before
    // the answer), which a killed process keeps: after 3 s the supervisor's SIGKILL loses nothing
    // acknowledged and saves every test and local stop that wait.
    stopTimeoutMs: opts.stopTimeoutMs ?? 3_000,
  });
  return {
    url,
    httpPort,
    tcpPort,
    handle,
    logins,
    as: (role) => ({ url, ...logins[role] }),
    stop: () => handle.stop(),
  };
}

function configXml(p: { dataDir: string; httpPort: number; tcpPort: number }): string {
  const d = join(p.dataDir, 'data');
  return `<?xml version="1.0"?>
<!-- Written by services/src/clickhouse/launcher.ts for one local server. -->
<yandex>
    <logger>
        <level>warning</level>
        <log>${join(p.dataDir, 'log', 'clickhouse-server.log')}</log>
        <errorlog>${join(p.dataDir, 'log', 'clickhouse-server.err.log')}</errorlog>
        <size>100M</size>
        <count>2</count>
    </logger>
    <listen_host>${LOOPBACK}</listen_host>
    <http_port>${p.httpPort}</http_port>
    <tcp_port>${p.tcpPort}</tcp_port>
    <max_connections>256</max_connections>
    <!-- Longer than the HTTP clients keep an idle socket (@clickhouse/client: 2.5 s), with room
         for a starved event loop: at 3 s a client could reuse a socket the server had just
         closed, and the request died with EPIPE or "socket hang up". -->
    <keep_alive_timeout>30</keep_alive_timeout>
    <max_concurrent_queries>100</max_concurrent_queries>
    <uncompressed_cache_size>268435456</uncompressed_cache_size>
    <mark_cache_size>268435456</mark_cache_size>
    <path>${d}/</path>
    <tmp_path>${d}/tmp/</tmp_path>
    <user_files_path>${d}/user_files/</user_files_path>
    <format_schema_path>${d}/format_schemas/</format_schema_path>
    <users_config>users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <umask>022</umask>
    <mlock_executable>false</mlock_executable>
    <max_session_timeout>3600</max_session_timeout>
    <default_session_timeout>60</default_session_timeout>
    <!-- With a merge pool of two (users.xml), the default (8 free threads before merges may be
         large) would hold every merge to a few MB and let parts pile up. -->
    <merge_tree>
        <number_of_free_entries_in_pool_to_lower_max_size_of_merge>1</number_of_free_entries_in_pool_to_lower_max_size_of_merge>
    </merge_tree>
</yandex>
`;
}

/**
 * The server-wide default profile: the settings every user starts from, and where 18.16 reads its
 * background pool sizes. Nobody logs in with it (users.ts).
 */
const DEFAULT_PROFILE = {
  max_memory_usage: 4_000_000_000,
  // Merges on at most two threads, not sixteen: this server shares a small machine with Kafka and
  // the services, and each merge thread took as much CPU as an INSERT thread, so under live
  // traffic INSERTs of 40 KB took 150-250 ms (bench:ingest, 2026-11-23). With two: freshness p99
  // 1.75 s against 2.1-2.6 s, one run each, steady state after a warm-up.
  background_pool_size: 2,
  use_uncompressed_cache: 0,
  load_balancing: 'random',
};
