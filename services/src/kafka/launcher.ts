import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { KAFKA_ADMIN_USER, type KafkaCredentials } from '@ccfed/common';
import { Kafka, logLevel } from 'kafkajs';
import type { Pki } from '../pki.js';
import { freePort, LOOPBACK } from '../ports.js';
import { EngineError, startEngine, type EngineHandle } from '../supervise.js';

const KAFKA_DIR = new URL('../../kafka', import.meta.url).pathname;
export const KAFKA_LIB_DIR = join(KAFKA_DIR, 'lib');

export interface KafkaOptions {
  /** Holds the broker's log segments, config, key store, pid file and log; created if missing. */
  readonly dataDir: string;
  /** Client port (SASL_SSL); a free one when omitted. */
  readonly port?: number;
  /** KRaft controller port (TLS, the broker's own certificate only); a free one when omitted. */
  readonly controllerPort?: number;
  /** Inter-broker port (TLS, the broker's own certificate only); a free one when omitted. */
  readonly internalPort?: number;
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

export interface KafkaInstance {
  readonly brokers: string[];
  readonly port: number;
  readonly internalPort: number;
  /** The CA certificate (PEM path) clients trust the broker through. */
  readonly caFile: string;
  /** The super user's credentials: topics, users and ACLs are made with them (provision.ts). */
  readonly admin: KafkaCredentials;
  readonly handle: EngineHandle;
  stop(): Promise<void>;
}

/** The broker's principal on its TLS-only listeners: its certificate's subject (services/src/pki.ts). */
export const BROKER_TLS_PRINCIPAL = 'CN=service:kafka,O=ccfed';

/** What the launcher accepts as the admin password: it goes into StorageTool's --add-scram. */
const ADMIN_PASSWORD = /^[A-Za-z0-9_-]{16,128}$/;

/**
 * Starts a single Apache Kafka 3.9 broker in KRaft combined mode (broker and controller in one
 * JVM, no ZooKeeper) on loopback, with the jars `scripts/install.sh` resolved from Maven Central.
 * Clients get in only over TLS with a SCRAM-SHA-512 user, and only as far as the ACLs let them
 * (docs/security.md, "Kafka").
 */
export async function startKafka(opts: KafkaOptions): Promise<KafkaInstance> {
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
  const port = opts.port ?? (await freePort());
  const controllerPort = opts.controllerPort ?? (await freePort());
  const internalPort = opts.internalPort ?? (await freePort());
  const logDir = join(opts.dataDir, 'logs');
  const segments = join(opts.dataDir, 'segments');
  mkdirSync(logDir, { recursive: true });
  const keyStore = await writeKeyStore(opts.pki, join(opts.dataDir, 'tls'));
  const props = join(opts.dataDir, 'server.properties');
  writeFileSync(
    props,
    serverProperties({
      port,
      controllerPort,
      internalPort,
      segments,
      partitions: opts.partitions ?? 3,
      keyStore,
      trustStore: opts.pki.caFile,
    }),
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
          // The super user exists from the start (KIP-900): every other user, topic and ACL is
          // created through it over the client listener.
          '--add-scram',
          `SCRAM-SHA-512=[name=${KAFKA_ADMIN_USER},password=${opts.adminPassword}]`,
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
  const admin: KafkaCredentials = {
    username: KAFKA_ADMIN_USER,
    password: opts.adminPassword,
    ca: readFileSync(opts.pki.caFile),
  };
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
      { port: internalPort, protocol: 'tcp', role: 'Kafka inter-broker' },
    ],
    ready: () => brokerReady(brokers, admin, opts.dataDir),
    readyTimeoutMs: 90_000,
    stopTimeoutMs: 30_000,
  });
  return {
    brokers,
    port,
    internalPort,
    caFile: opts.pki.caFile,
    admin,
    handle,
    stop: () => handle.stop(),
  };
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

async function brokerReady(
  brokers: string[],
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
    return cluster.brokers.length > 0 && cluster.controller !== null;
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

function serverProperties(p: {
  port: number;
  controllerPort: number;
  internalPort: number;
  segments: string;
  partitions: number;
  keyStore: string;
  trustStore: string;
}): string {
  return `# Written by services/src/kafka/launcher.ts: one broker, KRaft combined mode, loopback only.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@${LOOPBACK}:${p.controllerPort}
# Clients: TLS, then SCRAM-SHA-512. Broker and controller talk to each other over TLS with the
# broker's own certificate (client authentication required): no password in this file, and
# only that certificate is a super user there (docs/security.md, "Kafka").
listeners=SASL_SSL://${LOOPBACK}:${p.port},INTERNAL://${LOOPBACK}:${p.internalPort},CONTROLLER://${LOOPBACK}:${p.controllerPort}
advertised.listeners=SASL_SSL://${LOOPBACK}:${p.port},INTERNAL://${LOOPBACK}:${p.internalPort}
controller.listener.names=CONTROLLER
inter.broker.listener.name=INTERNAL
listener.security.protocol.map=SASL_SSL:SASL_SSL,INTERNAL:SSL,CONTROLLER:SSL
sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.internal.ssl.client.auth=required
listener.name.controller.ssl.client.auth=required
ssl.keystore.type=PEM
ssl.keystore.location=${p.keyStore}
ssl.truststore.type=PEM
ssl.truststore.location=${p.trustStore}
ssl.enabled.protocols=TLSv1.3,TLSv1.2
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
# The TLS principal is the certificate's subject: only the broker's own (CN service:kafka, from
# the federation CA) is a super user; any other certificate on those two ports gets no rights.
super.users=User:${KAFKA_ADMIN_USER};User:${BROKER_TLS_PRINCIPAL}
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
