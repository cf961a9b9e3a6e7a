import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { KAFKA_LIB_DIR } from '../kafka/launcher.js';
import { freePort, LOOPBACK } from '../ports.js';
import { EngineError, startEngine, type EngineHandle } from '../supervise.js';

// ZooKeeper coordinates ClickHouse's replicated tables (docs/clickhouse-cluster.md). Its jars come
// from Maven Central with Kafka's (services/kafka/pom.xml: Kafka 3.9 still ships the ZooKeeper
// client, and the server is in the same jar), so no other download is needed.
const KAFKA_DIR = new URL('../../kafka', import.meta.url).pathname;

export interface ZooKeeperOptions {
  /** Holds the snapshots, transaction log, config, pid file and log; created if missing. */
  readonly dataDir: string;
  /** Client port on loopback; a free one when omitted (give the same one to restart on a dataDir). */
  readonly port?: number;
  readonly heapMb?: number;
}

export interface ZooKeeperInstance {
  readonly host: string;
  readonly port: number;
  readonly handle: EngineHandle;
  stop(): Promise<void>;
}

/**
 * Starts one standalone Apache ZooKeeper 3.8 server on loopback. One node is what a test or a
 * laptop needs; production runs an ensemble of three (deploy/src/clickhouse-cluster.ts), which
 * survives the loss of one. ZooKeeper 3.8's client port has no TLS that ClickHouse 18.16 can use,
 * so access control is by ACL: ClickHouse logs in with a digest identity and creates every node
 * readable and writable by that identity only (docs/clickhouse-cluster.md, "Security"). The
 * admin HTTP server is off and the four-letter commands are limited to `ruok` (readiness).
 */
export async function startZooKeeper(opts: ZooKeeperOptions): Promise<ZooKeeperInstance> {
  if (
    !existsSync(KAFKA_LIB_DIR) ||
    !readdirSync(KAFKA_LIB_DIR).some((f) => f.startsWith('zookeeper-3.'))
  )
    throw new EngineError(
      `zookeeper cannot start: no ZooKeeper jar in ${KAFKA_LIB_DIR}; run 'bash scripts/install.sh'`,
    );
  const port = opts.port ?? (await freePort());
  const data = join(opts.dataDir, 'data');
  const logDir = join(opts.dataDir, 'logs');
  for (const d of [data, logDir]) mkdirSync(d, { recursive: true });
  const cfg = join(opts.dataDir, 'zoo.cfg');
  writeFileSync(
    cfg,
    [
      '# Written by services/src/zookeeper/launcher.ts for one standalone server.',
      `dataDir=${data}`,
      `clientPort=${port}`,
      `clientPortAddress=${LOOPBACK}`,
      'tickTime=2000',
      'initLimit=10',
      'syncLimit=5',
      'maxClientCnxns=64',
      'admin.enableServer=false',
      '4lw.commands.whitelist=ruok',
      // Old snapshots and logs are purged hourly, three kept: a long-running local cluster does
      // not fill the disk.
      'autopurge.snapRetainCount=3',
      'autopurge.purgeInterval=1',
      '',
    ].join('\n'),
  );
  const heap = opts.heapMb ?? 128;
  const handle = await startEngine({
    name: 'zookeeper',
    command: 'java',
    args: [
      `-Xmx${heap}m`,
      `-Xms${Math.min(heap, 64)}m`,
      '-XX:+UseSerialGC',
      '-XX:TieredStopAtLevel=1',
      '-Djava.awt.headless=true',
      `-Dlog4j.configuration=file:${join(KAFKA_DIR, 'log4j.properties')}`,
      `-Dkafka.logs.dir=${logDir}`,
      '-cp',
      `${KAFKA_LIB_DIR}/*`,
      'org.apache.zookeeper.server.quorum.QuorumPeerMain',
      cfg,
    ],
    logFile: join(logDir, 'stdout.log'),
    pidFile: join(opts.dataDir, 'zookeeper.pid'),
    ports: [{ port, protocol: 'tcp', role: 'ZooKeeper clients' }],
    ready: () => ruok(port),
    readyTimeoutMs: 60_000,
  });
  return { host: LOOPBACK, port, handle, stop: () => handle.stop() };
}

/** ZooKeeper's own liveness probe: `ruok` answered `imok`. */
function ruok(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    let answer = '';
    const socket = connect({ host: LOOPBACK, port }, () => socket.end('ruok'));
    socket.setTimeout(1000, () => socket.destroy());
    socket.setEncoding('utf8').on('data', (d: string) => (answer += d));
    socket.on('error', () => resolve(false));
    socket.on('close', () => resolve(answer === 'imok'));
  });
}
