import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { KAFKA_ADMIN_USER, type KafkaCredentials } from '@ccfed/common';
import { Kafka, logLevel } from 'kafkajs';
import type { Pki } from '../pki.js';
import { freePort, LOOPBACK } from '../ports.js';
import { EngineError, startEngine, type EngineHandle } from '../supervise.js';
import { kafkaReplication, serverProperties, type KafkaReplication } from './server-properties.js';

const KAFKA_DIR = new URL('../../kafka', import.meta.url).pathname;
export const KAFKA_LIB_DIR = join(KAFKA_DIR, 'lib');

/** The three ports of one broker; a free one for each omitted. */
export interface KafkaNodePorts {
  /** Client port (SASL_SSL). */
  readonly port?: number;
  /** KRaft controller port (TLS, the broker's own certificate only). */
  readonly controllerPort?: number;
  /** Inter-broker port (TLS, the broker's own certificate only). */
  readonly internalPort?: number;
}

export interface KafkaOptions extends KafkaNodePorts {
  /**
   * Holds the broker's log segments, config, key store, pid file and log; created if missing.
   * With several brokers, each has its own `broker-<node id>` directory inside it.
   */
  readonly dataDir: string;
  /**
   * How many brokers: 1 (the default) or 3, each a combined KRaft controller and broker of one
   * quorum. With 3, topics are replicated 3 times and a write needs 2 replicas in sync
   * (kafkaReplication), so losing any one broker loses nothing and stops nothing.
   */
  readonly brokers?: number;
  /**
   * The ports of broker 2, 3… (index 0 is broker 2); broker 1 takes port, controllerPort and
   * internalPort. Free ones when omitted.
   */
  readonly morePorts?: readonly KafkaNodePorts[];
  readonly heapMb?: number;
  readonly partitions?: number;
  /** The federation CA: the broker's certificate (principal service:kafka) is issued from it. */
  readonly pki: Pki;
  /**
   * The super user's SCRAM password. It is written into the storage when the storage is
   * formatted (first start) and must be the same on every later start of the same dataDir.
   */
  readonly adminPassword: string;
}

/** One broker of a launched cluster. */
export interface KafkaNode {
  /** Its KRaft node id, 1 to N. */
  readonly nodeId: number;
  /** Its client listener, host:port. */
  readonly broker: string;
  readonly port: number;
  readonly controllerPort: number;
  readonly internalPort: number;
  readonly dataDir: string;
  /** The running process: the one restart() started when it was called. */
  readonly handle: EngineHandle;
  /** Starts this broker again on the same data and ports (after it stopped or was killed). */
  restart(): Promise<void>;
}

export interface KafkaInstance {
  /** Every broker's client listener (the bootstrap list). */
  readonly brokers: string[];
  /** Broker 1's client port. */
  readonly port: number;
  /** Broker 1's inter-broker port. */
  readonly internalPort: number;
  /** The CA certificate (PEM path) clients trust the broker through. */
  readonly caFile: string;
  /** The super user's credentials: topics, users and ACLs are made with them (provision.ts). */
  readonly admin: KafkaCredentials;
  /** Broker 1's process (the only one with a single broker). */
  readonly handle: EngineHandle;
  /** Every broker, by node id order. */
  readonly nodes: readonly KafkaNode[];
  /** How the cluster's topics are replicated (its brokers' defaults, and what provision.ts asks for). */
  readonly replication: KafkaReplication;
  /** Stops every broker. */
  stop(): Promise<void>;
}

/** What the launcher accepts as the admin password: it goes into StorageTool's --add-scram. */
const ADMIN_PASSWORD = /^[A-Za-z0-9_-]{16,128}$/;

/**
 * Starts Apache Kafka 3.9 in KRaft combined mode (broker and controller in one JVM per node, no
 * ZooKeeper) on loopback, with the jars `scripts/install.sh` resolved from Maven Central: one
 * broker, or a cluster of `brokers` whose controllers form one quorum. Clients get in only over
 * TLS with a SCRAM-SHA-512 user, and only as far as the ACLs let them (docs/security.md,
 * "Kafka"); the brokers talk to each other over TLS with their own certificates.
 */
export async function startKafka(opts: KafkaOptions): Promise<KafkaInstance> {
  const count = opts.brokers ?? 1;
  if (!Number.isInteger(count) || count < 1 || count > 9)
    throw new EngineError(`kafka cannot start: brokers must be a whole number 1-9, got ${count}`);
  if (!ADMIN_PASSWORD.test(opts.adminPassword))
    throw new EngineError(
      'kafka cannot start: the admin password must be 16-128 characters of A-Z, a-z, 0-9, _ and -',
    );
  if (
    !existsSync(KAFKA_LIB_DIR) ||
    !readdirSync(KAFKA_LIB_DIR).some((f) => f.startsWith('kafka_2.13-'))
  ) {
    throw new EngineError(
      `kafka cannot start: no Kafka jars in ${KAFKA_LIB_DIR}; run 'bash scripts/install.sh'`,
    );
  }
  const replication = kafkaReplication(count);
  const specs: NodeSpec[] = [];
  for (let nodeId = 1; nodeId <= count; nodeId++) {
    const wanted = nodeId === 1 ? opts : (opts.morePorts?.[nodeId - 2] ?? {});
    // A single broker keeps the layout it always had, so an existing local federation's data
    // is still found.
    const dataDir = count === 1 ? opts.dataDir : join(opts.dataDir, `broker-${nodeId}`);
    specs.push({
      nodeId,
      dataDir,
      port: wanted.port ?? (await freePort()),
      controllerPort: wanted.controllerPort ?? (await freePort()),
      internalPort: wanted.internalPort ?? (await freePort()),
    });
  }
  const voters = specs.map((n) => `${n.nodeId}@${LOOPBACK}:${n.controllerPort}`).join(',');
  // Every node of a cluster must be formatted with the same cluster id: the one a node already
  // holds, when some were formatted before.
  const clusterId =
    specs.map((n) => formattedClusterId(n.dataDir)).find((id) => id !== undefined) ??
    randomBytes(16).toString('base64url');

  const admin: KafkaCredentials = {
    username: KAFKA_ADMIN_USER,
    password: opts.adminPassword,
    ca: readFileSync(opts.pki.caFile),
  };
  const prepared = await Promise.all(
    specs.map((spec) =>
      prepareNode(spec, {
        voters,
        clusterId,
        replication,
        partitions: opts.partitions ?? 3,
        pki: opts.pki,
        adminPassword: opts.adminPassword,
        single: count === 1,
      }),
    ),
  );
  const heapMb = opts.heapMb ?? 512;
  const launch = (spec: PreparedNode) => launchNode(spec, admin, heapMb, count);
  // The controllers elect a leader only once a majority is up: the nodes start side by side.
  const started = await Promise.allSettled(prepared.map((spec) => launch(spec)));
  const handles = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) {
    await Promise.allSettled(handles.map((h) => h.stop()));
    throw failed.reason;
  }
  const nodes = prepared.map((spec, i) => {
    let handle = handles[i]!;
    const node: KafkaNode = {
      nodeId: spec.nodeId,
      broker: `${LOOPBACK}:${spec.port}`,
      port: spec.port,
      controllerPort: spec.controllerPort,
      internalPort: spec.internalPort,
      dataDir: spec.dataDir,
      get handle() {
        return handle;
      },
      restart: async () => {
        await handle.stop();
        handle = await launch(spec);
      },
    };
    return node;
  });
  const first = nodes[0]!;
  return {
    brokers: nodes.map((n) => n.broker),
    port: first.port,
    internalPort: first.internalPort,
    caFile: opts.pki.caFile,
    admin,
    get handle() {
      return first.handle;
    },
    nodes,
    replication,
    stop: async () => {
      const stopped = await Promise.allSettled(nodes.map((n) => n.handle.stop()));
      const failure = stopped.find((s) => s.status === 'rejected');
      if (failure) throw failure.reason;
    },
  };
}

interface NodeSpec {
  readonly nodeId: number;
  readonly dataDir: string;
  readonly port: number;
  readonly controllerPort: number;
  readonly internalPort: number;
}

interface PreparedNode extends NodeSpec {
  readonly props: string;
  readonly logDir: string;
}

const JAVA = 'java';
const CLASSPATH = `${KAFKA_LIB_DIR}/*`;
const LOG4J = `-Dlog4j.configuration=file:${join(KAFKA_DIR, 'log4j.properties')}`;

/** The cluster id a node's storage was formatted with, if it was. */
function formattedClusterId(dataDir: string): string | undefined {
  const meta = join(dataDir, 'segments', 'meta.properties');
  if (!existsSync(meta)) return undefined;
  return /^cluster\.id=(.+)$/m.exec(readFileSync(meta, 'utf8'))?.[1]?.trim();
}

/** Writes a node's key store and server.properties, and formats its storage on its first start. */
async function prepareNode(
  spec: NodeSpec,
  cluster: {
    voters: string;
    clusterId: string;
    replication: KafkaReplication;
    partitions: number;
    pki: Pki;
    adminPassword: string;
    single: boolean;
  },
): Promise<PreparedNode> {
  const logDir = join(spec.dataDir, 'logs');
  const segments = join(spec.dataDir, 'segments');
  mkdirSync(logDir, { recursive: true });
  const keyStore = await writeKeyStore(cluster.pki, join(spec.dataDir, 'tls'));
  const props = join(spec.dataDir, 'server.properties');
  writeFileSync(
    props,
    serverProperties({
      ...spec,
      voters: cluster.voters,
      replication: cluster.replication,
      single: cluster.single,
      segments,
      partitions: cluster.partitions,
      keyStore,
      trustStore: cluster.pki.caFile,
    }),
  );
  if (!existsSync(join(segments, 'meta.properties'))) {
    try {
      await promisify(execFile)(
        JAVA,
        [
          LOG4J,
          `-Dkafka.logs.dir=${logDir}`,
          '-cp',
          CLASSPATH,
          'kafka.tools.StorageTool',
          'format',
          // One argument with '=': a base64url id may start with '-', which the tool's argument
          // parser would otherwise read as an option (seen: "-Phkm4...").
          `--cluster-id=${cluster.clusterId}`,
          '-c',
          props,
          '--ignore-formatted',
          // The super user exists from the start (KIP-900): every other user, topic and ACL is
          // created through it over the client listener. Every controller of a quorum is
          // formatted with it, as the metadata log starts from whichever is elected first.
          '--add-scram',
          `SCRAM-SHA-512=[name=${KAFKA_ADMIN_USER},password=${cluster.adminPassword}]`,
        ],
        { timeout: 60_000 },
      );
    } catch (err) {
      throw new EngineError(
        `kafka cannot format its storage in ${segments}: ${(err as Error).message}`,
      );
    }
  }
  return { ...spec, props, logDir };
}

/**
 * The JVM's class-data archive of the Kafka jars (AppCDS): a broker started with it maps the
 * classes it needs from this file instead of reading and verifying them from the jars, which cut
 * a broker's start from 10.5 and 9.0 s to 9.1 and 7.8 s (alternating runs on the 2-core test
 * machine, load average 13-20). The first broker that exits on its own (not killed) without one
 * writes it as the JVM exits; it sits next to the jars, so `scripts/install.sh` throws it away
 * with them when it resolves new ones. A JVM that cannot use it (another JDK) says so in the
 * broker's stdout.log and starts as it would without it.
 */
const CLASS_DATA_ARCHIVE = join(KAFKA_LIB_DIR, 'kafka-classes.jsa');

/** The JVM option that uses the archive, or writes it at exit, and what to do once the JVM exited. */
function classData(nodeId: number): { arg: string; exited: (code: number | null) => void } {
  if (existsSync(CLASS_DATA_ARCHIVE))
    return { arg: `-XX:SharedArchiveFile=${CLASS_DATA_ARCHIVE}`, exited: () => undefined };
  // Brokers started side by side each write their own; whichever is renamed last stays.
  const written = `${CLASS_DATA_ARCHIVE}.${process.pid}-${nodeId}-${randomBytes(4).toString('hex')}`;
  return {
    arg: `-XX:ArchiveClassesAtExit=${written}`,
    exited: (code) => {
      try {
        // A JVM killed by a signal may have been cut off while writing it.
        if (code !== null && existsSync(written)) renameSync(written, CLASS_DATA_ARCHIVE);
      } catch {
        // Only a faster start is lost: the next broker writes it again.
      } finally {
        rmSync(written, { force: true });
      }
    },
  };
}

/** Starts one node's JVM and resolves once it answers as a broker of a cluster with a controller. */
async function launchNode(
  node: PreparedNode,
  admin: KafkaCredentials,
  heapMb: number,
  count: number,
): Promise<EngineHandle> {
  const broker = `${LOOPBACK}:${node.port}`;
  const cds = classData(node.nodeId);
  let handle: EngineHandle;
  try {
    handle = await startEngine({
      name: count === 1 ? 'kafka' : `kafka broker ${node.nodeId}`,
      command: JAVA,
      args: [
        `-Xmx${heapMb}m`,
        `-Xms${Math.min(heapMb, 256)}m`,
        '-XX:+UseSerialGC',
        '-XX:TieredStopAtLevel=1',
        cds.arg,
        '-Djava.awt.headless=true',
        LOG4J,
        `-Dkafka.logs.dir=${node.logDir}`,
        '-cp',
        CLASSPATH,
        'kafka.Kafka',
        node.props,
      ],
      logFile: join(node.logDir, 'stdout.log'),
      pidFile: join(node.dataDir, 'kafka.pid'),
      ports: [
        { port: node.port, protocol: 'tcp', role: 'Kafka clients' },
        { port: node.controllerPort, protocol: 'tcp', role: 'KRaft controller' },
        { port: node.internalPort, protocol: 'tcp', role: 'Kafka inter-broker' },
      ],
      ready: () => brokerReady([broker], node.nodeId, admin, node.dataDir),
      // A cluster's nodes wait for each other (a quorum), on a machine starting three JVMs at once.
      readyTimeoutMs: count === 1 ? 90_000 : 150_000,
      stopTimeoutMs: 30_000,
    });
  } catch (err) {
    // The JVM is gone: what it wrote, if anything, is of a start that failed.
    cds.exited(null);
    throw err;
  }
  void handle.exited.then(cds.exited);
  return handle;
}

/**
 * The broker's PEM key store (its key, then its certificate), which Kafka reads itself
 * (ssl.keystore.type=PEM): no JKS or keytool. Rewritten on every start, so a certificate the CA
 * reissued (near its expiry) is picked up by a restart.
 */
async function writeKeyStore(pki: Pki, dir: string): Promise<string> {
  const files = await pki.issue({ kind: 'service', service: 'kafka' });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const keyStore = join(dir, 'broker.pem');
  writeFileSync(
    keyStore,
    `${readFileSync(files.key, 'utf8').trim()}\n${readFileSync(files.cert, 'utf8').trim()}\n`,
    { mode: 0o600 },
  );
  return keyStore;
}

/** Whether the broker at `brokers` answers, with itself (`nodeId`) registered among the cluster's brokers. */
async function brokerReady(
  brokers: string[],
  nodeId: number,
  credentials: KafkaCredentials,
  dataDir: string,
): Promise<boolean> {
  const admin = new Kafka({
    brokers,
    clientId: 'ccfed-launcher',
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
    connectionTimeout: 1000,
    ssl: { ca: [credentials.ca] },
    sasl: {
      mechanism: 'scram-sha-512',
      username: credentials.username,
      password: credentials.password,
    },
  }).admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return cluster.brokers.some((b) => b.nodeId === nodeId) && cluster.controller !== null;
  } catch (err) {
    // The broker opens its client listener only once it has read its metadata, users included:
    // a refused password now will be refused for ever.
    if ((err as Error).name === 'KafkaJSSASLAuthenticationError')
      throw new EngineError(
        `kafka in ${dataDir} refuses the admin password it was given: its storage was formatted with another one (keep the password with the data, or remove ${join(dataDir, 'segments')} to start empty)`,
      );
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
