import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { freePort, LOOPBACK } from '../ports.js';
import { EngineError, startEngine, type EngineHandle } from '../supervise.js';

const KAFKA_DIR = new URL('../../kafka', import.meta.url).pathname;
export const KAFKA_LIB_DIR = join(KAFKA_DIR, 'lib');

export interface KafkaOptions {
  /** Holds the broker's log segments, config, pid file and log; created if missing. */
  readonly dataDir: string;
  /** Client port; a free one when omitted. */
  readonly port?: number;
  readonly controllerPort?: number;
  readonly heapMb?: number;
  readonly partitions?: number;
}

export interface KafkaInstance {
  readonly brokers: string[];
  readonly port: number;
  readonly handle: EngineHandle;
  stop(): Promise<void>;
}

/**
 * Starts a single Apache Kafka 3.9 broker in KRaft combined mode (broker and controller in one
 * JVM, no ZooKeeper) on loopback, with the jars `scripts/install.sh` resolved from Maven Central.
 */
export async function startKafka(opts: KafkaOptions): Promise<KafkaInstance> {
  if (
    !existsSync(KAFKA_LIB_DIR) ||
    !readdirSync(KAFKA_LIB_DIR).some((f) => f.startsWith('kafka_2.13-'))
  ) {
    throw new EngineError(
      `kafka cannot start: no Kafka jars in ${KAFKA_LIB_DIR}; run 'bash scripts/install.sh'`,
    );
  }
  const port = opts.port ?? (await freePort());
  const controllerPort = opts.controllerPort ?? (await freePort());
  const logDir = join(opts.dataDir, 'logs');
  const segments = join(opts.dataDir, 'segments');
  mkdirSync(logDir, { recursive: true });
  const props = join(opts.dataDir, 'server.properties');
  writeFileSync(
    props,
    serverProperties({ port, controllerPort, segments, partitions: opts.partitions ?? 3 }),
  );

  const java = 'java';
  const classpath = `${KAFKA_LIB_DIR}/*`;
  const log4j = `-Dlog4j.configuration=file:${join(KAFKA_DIR, 'log4j.properties')}`;
  if (!existsSync(join(segments, 'meta.properties'))) {
    const clusterId = randomBytes(16).toString('base64url');
    try {
      await promisify(execFile)(
        java,
        [
          log4j,
          `-Dkafka.logs.dir=${logDir}`,
          '-cp',
          classpath,
          'kafka.tools.StorageTool',
          'format',
          // One argument with '=': a base64url id may start with '-', which the tool's argument
          // parser would otherwise read as an option (seen: "-Phkm4...").
          `--cluster-id=${clusterId}`,
          '-c',
          props,
          '--ignore-formatted',
        ],
        { timeout: 60_000 },
      );
    } catch (err) {
      throw new EngineError(
        `kafka cannot format its storage in ${segments}: ${(err as Error).message}`,
      );
    }
  }

  const brokers = [`${LOOPBACK}:${port}`];
  const handle = await startEngine({
    name: 'kafka',
    command: java,
    args: [
      `-Xmx${opts.heapMb ?? 512}m`,
      `-Xms${Math.min(opts.heapMb ?? 512, 256)}m`,
      '-XX:+UseSerialGC',
      '-XX:TieredStopAtLevel=1',
      '-Djava.awt.headless=true',
      log4j,
      `-Dkafka.logs.dir=${logDir}`,
      '-cp',
      classpath,
      'kafka.Kafka',
      props,
    ],
    logFile: join(logDir, 'stdout.log'),
    pidFile: join(opts.dataDir, 'kafka.pid'),
    ports: [
      { port, protocol: 'tcp', role: 'Kafka clients' },
      { port: controllerPort, protocol: 'tcp', role: 'KRaft controller' },
    ],
    ready: () => brokerReady(brokers),
    readyTimeoutMs: 90_000,
    stopTimeoutMs: 30_000,
  });
  return { brokers, port, handle, stop: () => handle.stop() };
}

async function brokerReady(brokers: string[]): Promise<boolean> {
  const admin = new Kafka({
    brokers,
    clientId: 'ccfed-launcher',
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
    connectionTimeout: 1000,
  }).admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return cluster.brokers.length > 0 && cluster.controller !== null;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

function serverProperties(p: {
  port: number;
  controllerPort: number;
  segments: string;
  partitions: number;
}): string {
  return `# Written by services/src/kafka/launcher.ts: one broker, KRaft combined mode, loopback only.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@${LOOPBACK}:${p.controllerPort}
listeners=PLAINTEXT://${LOOPBACK}:${p.port},CONTROLLER://${LOOPBACK}:${p.controllerPort}
advertised.listeners=PLAINTEXT://${LOOPBACK}:${p.port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=${p.segments}
num.partitions=${p.partitions}
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
group.initial.rebalance.delay.ms=0
# ccfed creates its topics explicitly; a typo in a topic name must fail, not create a topic.
auto.create.topics.enable=false
delete.topic.enable=true
num.network.threads=2
num.io.threads=2
background.threads=2
num.recovery.threads.per.data.dir=1
log.cleaner.threads=1
log.cleaner.dedupe.buffer.size=8388608
# Tests create and drop many topics: remove deleted ones promptly instead of after 60 s.
log.segment.delete.delay.ms=1000
log.initial.task.delay.ms=1000
`;
}
