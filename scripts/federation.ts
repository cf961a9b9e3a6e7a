// The local federation: real Kafka and ClickHouse, the central router and ingester, and every site
// of the topology (its Kamailio, its site agent, sipp agents and callers, with a surge of calls
// at HQ now and then), each in its own process, until Ctrl-C.
// Started by `npm start` (scripts/start.sh).
//
//   npm start [-- --topology FILE] [-- --site ID] [-- --kafka-brokers 3]
//
// --kafka-brokers 3 runs Kafka as three KRaft brokers (replication factor 3, min.insync.replicas
// 2; docs/operations.md, "Broker lost") on ports 19092, 19192 and 19292, with its data in
// .ccfed/local/kafka-cluster; the default is one broker on 19092, data in .ccfed/local/kafka.
//
// Data and logs live under .ccfed/local/ and survive restarts; so does the federation's CA
// (.ccfed/local/pki), created on first start, which gives every process its certificate and the
// operator one for `ccfed` (operator:local).
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger, loadTls, type Principal } from '@ccfed/common';
import { topicNames } from '@ccfed/proto';
import {
  clickhouseProcessEnv,
  kafkaUserOf,
  migrate,
  openPki,
  provisionKafka,
  startClickHouse,
  startEngine,
  startKafka,
  startKamailio,
  startSiteRtpengine,
  type EngineHandle,
  type KafkaPrincipal,
} from '@ccfed/services';
import { loadTopology, siteById, TopologyError } from '@ccfed/topology';
import { startDemoTraffic } from './demo-traffic.js';
import {
  buildConsoleIfStale,
  buildDesktopIfStale,
  CONSOLE_DIST,
  DESKTOP_DIST,
} from './console-build.js';
import { deskAgentsOf, localApiConfig, localSecret } from './local-api.js';
import { localSipSecrets } from './local-sip-secrets.js';
import { localKafkaUsers } from './local-kafka.js';
import { localRecordingKeys } from './local-recording-keys.js';

const ROOT = new URL('..', import.meta.url).pathname;
const DATA = join(ROOT, '.ccfed', 'local');
const log = createLogger('federation');

const { values } = parseArgs({
  options: {
    topology: { type: 'string', default: join(ROOT, 'topology', 'example.yaml') },
    site: { type: 'string' },
    'kafka-brokers': { type: 'string', default: '1' },
  },
});

// One broker, or a cluster that survives losing one (replication 3, min.insync.replicas 2).
const kafkaBrokers = Number(values['kafka-brokers']);
if (kafkaBrokers !== 1 && kafkaBrokers !== 3) {
  console.error(`--kafka-brokers must be 1 or 3, got ${values['kafka-brokers']}`);
  process.exit(2);
}

const running: { name: string; stop: () => Promise<void> }[] = [];

async function main(): Promise<void> {
  const topologyFile = values.topology!;
  const topology = loadTopology(topologyFile);
  // One site when asked for, else the whole federation.
  const sites = values.site ? [siteById(topology, values.site)] : topology.sites;
  // Every process gets its own certificate from the federation's CA: gRPC is mutual TLS only.
  const pki = await openPki(join(DATA, 'pki'));
  const tlsEnv = async (principal: Principal) => {
    const files = await pki.issue(principal);
    return { CCFED_TLS_CA: files.ca, CCFED_TLS_CERT: files.cert, CCFED_TLS_KEY: files.key };
  };
  // The operator's, for `ccfed status`, `drain`, `undrain` (cli/src/tls.ts looks here).
  await pki.issue({ kind: 'operator', name: 'local' });

  // The Kafka users' passwords, made on first start like the CA.
  const kafkaUsers = localKafkaUsers(join(DATA, 'kafka-users.json'), topology);
  const kafkaPort = Number(process.env.CCFED_KAFKA_PORT ?? 19092);
  const kafkaControllerPort = Number(process.env.CCFED_KAFKA_CONTROLLER_PORT ?? 19093);
  const kafkaInternalPort = Number(process.env.CCFED_KAFKA_INTERNAL_PORT ?? 19094);
  const [kafka, clickhouse] = await Promise.all([
    startKafka({
      // A cluster keeps its own data: a single broker's storage cannot join a quorum.
      dataDir: join(DATA, kafkaBrokers === 1 ? 'kafka' : 'kafka-cluster'),
      brokers: kafkaBrokers,
      port: kafkaPort,
      controllerPort: kafkaControllerPort,
      internalPort: kafkaInternalPort,
      // Broker n (2, 3) on the same ports plus 100 × (n - 1).
      morePorts: [100, 200].map((offset) => ({
        port: kafkaPort + offset,
        controllerPort: kafkaControllerPort + offset,
        internalPort: kafkaInternalPort + offset,
      })),
      pki,
      adminPassword: kafkaUsers.adminPassword,
    }),
    startClickHouse({
      dataDir: join(DATA, 'clickhouse'),
      httpPort: Number(process.env.CCFED_CLICKHOUSE_HTTP_PORT ?? 18123),
      tcpPort: Number(process.env.CCFED_CLICKHOUSE_TCP_PORT ?? 19000),
    }),
  ]);
  running.push(
    { name: 'kafka', stop: () => kafka.stop() },
    { name: 'clickhouse', stop: () => clickhouse.stop() },
  );
  await migrate(clickhouse.as('admin'), 'ccfed');
  // Each process logs in as its own ClickHouse user, with this start's passwords (users.ts).
  const chEnv = (role: 'ingester' | 'api' | 'analytics') =>
    clickhouseProcessEnv(clickhouse.as(role), 'ccfed');
  // Processes create no topics and hold only their own ACLs: the admin sets both up here.
  await provisionKafka({
    brokers: kafka.brokers,
    admin: kafka.admin,
    replication: kafka.replication,
    prefix: 'ccfed',
    users: kafkaUsers.users,
  });

  const env = { CCFED_TOPIC_PREFIX: 'ccfed' };
  /** Kafka as `principal` reaches it: its own user, over TLS trusting the federation CA. */
  const kafkaAs = (principal: KafkaPrincipal) => ({
    CCFED_KAFKA_BROKERS: kafka.brokers.join(','),
    CCFED_KAFKA_USERNAME: kafkaUserOf(principal),
    CCFED_KAFKA_PASSWORD: kafkaUsers.passwordOf(principal),
    CCFED_TLS_CA: pki.caFile,
  });
  // The router pair (docs/operations.md, "Router down"): router-a on CCFED_ROUTER_PORT (50051),
  // router-b on the next port; they share reservations through ccfed.route-decisions.
  const routerPort = Number(process.env.CCFED_ROUTER_PORT ?? 50051);
  const routerTls = await tlsEnv({ kind: 'service', service: 'router' });
  // One after the other, each in `running` as soon as it is up: a failed start of the second
  // must not leave the first behind.
  const routers: { name: string; address: string; logFile: string }[] = [];
  for (const [i, r] of (['a', 'b'] as const).entries()) {
    const address = `127.0.0.1:${routerPort + i}`;
    const service = await startNodeService(
      `router-${r}`,
      'central/router/src/index.ts',
      {
        ...env,
        ...kafkaAs({ role: 'router' }),
        CCFED_TOPOLOGY: topologyFile,
        CCFED_ROUTER_PORT: String(routerPort + i),
        CCFED_ROUTER_ID: `router-${r}`,
        ...routerTls,
      },
      'router_started',
    );
    running.push({ name: `router-${r}`, stop: () => service.stop() });
    routers.push({ name: `router-${r}`, address, logFile: service.logFile });
  }
  const routerAddresses = routers.map((r) => r.address);
  const ingester = await startNodeService(
    'ingester',
    'central/ingester/src/index.ts',
    {
      ...env,
      ...chEnv('ingester'),
      ...kafkaAs({ role: 'ingester' }),
      ...(await tlsEnv({ kind: 'service', service: 'ingester' })),
    },
    'ingester_started',
  );
  const apiConfig = await localApiConfig(join(DATA, 'api'), topology);
  // Browser agents' SIP credentials: the API issues them, each site's Kamailio checks its own.
  const sipSecrets = localSipSecrets(
    join(DATA, 'sip-secrets'),
    sites.map((s) => s.id),
  );
  buildConsoleIfStale();
  buildDesktopIfStale();
  const apiPort = Number(process.env.CCFED_API_PORT ?? 8080);
  const api = await startNodeService(
    'api',
    'central/api/src/index.ts',
    {
      CCFED_API_PORT: String(apiPort),
      CCFED_API_SECRET: apiConfig.secret,
      CCFED_API_USERS: apiConfig.usersFile,
      CCFED_SIP_SECRETS_FILE: sipSecrets.file,
      // The live wall: site snapshots and agent states from Kafka, agents' tenants from the topology.
      ...env,
      ...kafkaAs({ role: 'api' }),
      CCFED_TOPOLOGY: topologyFile,
      CCFED_CONSOLE_DIR: CONSOLE_DIST,
      CCFED_DESKTOP_DIR: DESKTOP_DIST,
      ...chEnv('api'),
      ...(await tlsEnv({ kind: 'service', service: 'api' })),
    },
    'api_listening',
  );
  // Stopped after the sites, before the routers and the engines.
  running.push(
    { name: 'ingester', stop: () => ingester.stop() },
    { name: 'api', stop: () => api.stop() },
  );

  // The cross-sell rules behind the next best offer, mined again every ten minutes (a CronJob in
  // a deployment).
  const refresh = every(10 * 60_000, () =>
    runJob('central/analytics/src/refresh-cross-sell-cli.ts', chEnv('analytics')),
  );
  running.push({ name: 'cross-sell refresh', stop: async () => refresh.stop() });
  // The churn scoring the call-back list reads, stored again every ten minutes (a CronJob in a
  // deployment).
  const scoring = every(10 * 60_000, () =>
    runJob('central/analytics/src/score-churn-cli.ts', chEnv('analytics')),
  );
  running.push({ name: 'churn scoring', stop: async () => scoring.stop() });

  const callerHashKey = localSecret(join(DATA, 'caller-hash-key'), 32);
  // Signs the X-CC-* context of overflowed calls (docs/security.md, "SIP").
  const federationKey = localSecret(join(DATA, 'federation-key'), 32);
  // Each site's Kamailio speaks TLS to its peer sites with its site principal's certificate from
  // the same CA.
  const lines: string[] = [];
  // Each site's desk agent is left logged out by the demo traffic, for a person at the desktop.
  const deskAgents = deskAgentsOf(topology);
  for (const [i, site] of sites.entries()) {
    // rtpengine first, checked with an ng ping: Kamailio anchors every call's media there.
    const rtpengine = await startSiteRtpengine({
      topology,
      siteId: site.id,
      dataDir: join(DATA, `rtpengine-${site.id}`),
    });
    running.push({ name: `rtpengine ${site.id}`, stop: () => rtpengine.stop() });
    const kamailio = await startKamailio({
      topology,
      siteId: site.id,
      dataDir: join(DATA, `kamailio-${site.id}`),
      tls: await pki.issue({ kind: 'site', site: site.id }),
      agentSecret: sipSecrets.secrets.get(site.id)!,
    });
    running.push({ name: `kamailio ${site.id}`, stop: () => kamailio.stop() });
    const agent = await startNodeService(
      `site-agent ${site.id}`,
      'site-agent/src/index.ts',
      {
        ...env,
        ...kafkaAs({ role: 'site', site: site.id }),
        CCFED_TOPOLOGY: topologyFile,
        CCFED_SITE: site.id,
        CCFED_DATA_DIR: join(DATA, `site-agent-${site.id}`),
        CCFED_CALLER_HASH_KEY: callerHashKey,
        CCFED_FEDERATION_KEY: federationKey,
        // Every other site prefers router-b, so both routers serve at once.
        CCFED_ROUTER: (i % 2 === 0 ? routerAddresses : [...routerAddresses].reverse()).join(','),
        // The calls the tenants' policies record are recorded by the site's rtpengine and sealed
        // with this site's keys.
        CCFED_RECORDING_KEYS_FILE: localRecordingKeys(join(DATA, 'recording-keys'), site.id),
        CCFED_RTPENGINE_NG: `${rtpengine.ng.host}:${rtpengine.ng.port}`,
        CCFED_RTPENGINE_RECORDING_DIR: rtpengine.recordingDir,
        ...(await tlsEnv({ kind: 'site', site: site.id })),
      },
      'site_agent_started',
    );
    running.push({ name: `site agent ${site.id}`, stop: () => agent.stop() });
    const traffic = await startDemoTraffic({
      topology,
      site,
      // The site's supervisor logs the demo agents in, as a supervisor's desk would.
      tls: loadTls(await pki.issue({ kind: 'supervisor', site: site.id })),
      sip: kamailio.sip,
      logDir: join(DATA, 'logs', 'sipp', site.id),
      surge: site.id === topology.federation.hqSite && sites.length > 1,
      deskAgent: deskAgents.get(site.id),
      kafkaBrokers: kafka.brokers,
      kafkaCredentials: {
        username: kafkaUserOf({ role: 'crm' }),
        password: kafkaUsers.passwordOf({ role: 'crm' }),
        ca: readFileSync(pki.caFile),
      },
      topics: topicNames(env.CCFED_TOPIC_PREFIX),
      callerHashKey,
      log,
    });
    running.push({ name: `demo traffic ${site.id}`, stop: () => traffic.stop() });
    lines.push(
      `  ${site.id.padEnd(14)}  sip:${kamailio.sip.host}:${kamailio.sip.port}  control API ${site.grpc.host}:${site.grpc.port}  rtpengine ng ${rtpengine.ngUrl} RTP ${rtpengine.rtpPorts.min}-${rtpengine.rtpPorts.max}  ${traffic.describe}`,
    );
  }

  console.log(`
ccfed local federation "${topology.federation.name}" is running (Ctrl-C stops it):
  Kafka           ${kafka.brokers.join(',')} (SASL_SSL, SCRAM-SHA-512; CA ${pki.caFile})   topics ccfed.*${kafka.nodes.length > 1 ? `\n                  ${kafka.nodes.length} brokers, replication factor ${kafka.replication.factor}, min.insync.replicas ${kafka.replication.minInsyncReplicas}; logs ${join(DATA, 'kafka-cluster')}/broker-<id>/logs` : ''}
                  users and passwords: ${kafkaUsers.file}
  ClickHouse      ${clickhouse.url}    database ccfed   (native port ${clickhouse.tcpPort})
                  users for this run: ${Object.values(clickhouse.logins)
                    .map((l) => `${l.username} / ${l.password}`)
                    .join(', ')}
${routers.map((r) => `  ${r.name.padEnd(15)} ${r.address} (gRPC)   decisions on ccfed.route-decisions   log ${r.logFile}`).join('\n')}
  ingester        every ccfed.* topic → ClickHouse database ccfed               log ${ingester.logFile}
  console         http://127.0.0.1:${apiPort}/   API http://127.0.0.1:${apiPort}/api/v1 (OpenAPI: /api/v1/openapi.json)   log ${api.logFile}
                  log-ins (POST /api/v1/session): ${apiConfig.logins
                    .filter((l) => l.role !== 'agent')
                    .map((l) => `${l.username} / ${l.password}`)
                    .join(', ')}
  desktop         http://127.0.0.1:${apiPort}/desktop/   agents (browser softphone; the demo leaves them to you): ${apiConfig.logins
    .filter((l) => l.role === 'agent')
    .map((l) => `${l.username} / ${l.password} (${l.agentId})`)
    .join(', ')}
                  supervisors: the <site>.supervisor log-ins above
  sites (Kamailio, site agent, sipp agents and callers):
${lines.join('\n')}
  ccfed CLI       npx ccfed status   (operator certificate: ${join(DATA, 'pki', 'operator', 'local.crt')})
  data and logs   ${DATA}   (site agents: logs/site-agent-<site>.log; sipp per-call logs: logs/sipp/<site>/)
Watch overflow:  grep call_overflowed_out ${join(DATA, 'logs')}/site-agent-*.log
Try:  clickhouse-client --port ${clickhouse.tcpPort} --user ${clickhouse.logins.api.username} --password ${clickhouse.logins.api.password} -q 'SELECT kind, count() FROM ccfed.call_events GROUP BY kind'
Decisions (as Kafka user operator):  CCFED_KAFKA_BROKERS=${kafka.brokers.join(',')} CCFED_TLS_CA=${pki.caFile} CCFED_KAFKA_PASSWORD=$(node -p 'require("${kafkaUsers.file}").operator') npm run ccfed -- decisions --follow
`);
}

/** Runs `job` now and then every `intervalMs`, one run at a time, until stopped. */
function every(intervalMs: number, job: () => Promise<void>): { stop(): void } {
  let running: Promise<void> = job();
  const timer = setInterval(() => {
    running = running.then(job);
  }, intervalMs);
  return { stop: () => clearInterval(timer) };
}

/** Runs a one-shot ccfed job to its end, its output appended to its log; failures are logged. */
function runJob(entry: string, env: Record<string, string>): Promise<void> {
  const logFile = join(DATA, 'logs', `${basename(entry, '.ts')}.log`);
  mkdirSync(dirname(logFile), { recursive: true });
  return new Promise((resolve) => {
    const out = openSync(logFile, 'a');
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, entry)], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', out, out],
    });
    child.on('close', (code) => {
      closeSync(out);
      if (code !== 0) log.warn({ event: 'job_failed', entry, code, logFile });
      resolve();
    });
    child.on('error', (err) => {
      closeSync(out);
      log.warn({ event: 'job_failed', entry, err, logFile });
      resolve();
    });
  });
}

async function startNodeService(
  name: string,
  entry: string,
  env: Record<string, string>,
  readyEvent: string,
): Promise<EngineHandle> {
  const logFile = join(DATA, 'logs', `${name.replace(/\s+/g, '-')}.log`);
  // Readiness is read from the log: last run's log moves aside so it cannot answer for this one.
  if (existsSync(logFile)) renameSync(logFile, `${logFile}.previous`);
  return startEngine({
    name,
    command: process.execPath,
    args: ['--import', 'tsx', join(ROOT, entry)],
    cwd: ROOT,
    env: { ...process.env, ...env },
    logFile,
    pidFile: join(DATA, `${name.replace(/\s+/g, '-')}.pid`),
    ports: [],
    ready: async () => readFileSync(logFile, 'utf8').includes(`"event":"${readyEvent}"`),
    readyTimeoutMs: 60_000,
  });
}

async function shutdown(code: number): Promise<never> {
  for (const r of running.reverse()) {
    await r.stop().catch((err: unknown) => log.error({ event: 'stop_failed', name: r.name, err }));
  }
  process.exit(code);
}

process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));
main().catch(async (err: unknown) => {
  console.error(err instanceof TopologyError || err instanceof Error ? err.message : String(err));
  await shutdown(1);
});
