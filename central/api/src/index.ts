// The central API process: reads its config and the users file, serves HTTP.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createClient } from '@clickhouse/client';
import {
  clickhouseClientOptions,
  createKafka,
  createLogger,
  kafkaCredentialsFromEnv,
  Lifecycle,
  parseEnvConfig,
  parseSipSecrets,
  principalLabel,
  processGroupId,
  startProcess,
  systemClock,
  tlsFromEnv,
} from '@ccfed/common';
import { topicNames } from '@ccfed/proto';
import { allAgents, loadTopology } from '@ccfed/topology';
import { createConsoleServer } from './app.js';
import { loadUsers, UsersFileError, usersTopologyProblems } from './auth/users.js';
import { DesktopFeed } from './desktop/desktop-feed.js';
import { SiteDesks } from './desktop/site-desks.js';
import { trustedProxies } from './http/client-address.js';
import { clickhouseRunner } from './clickhouse.js';
import { apiConfigSchema } from './config.js';
import { LiveFeed } from './live/live-feed.js';
import { LiveState, type AgentDirectoryEntry } from './live/live-state.js';
import { RoutingPolicyStore } from './routing-policy/policy-store.js';
import { SiteRecordings } from './recordings/site-recordings.js';
import { SiteMonitors } from './monitor/site-monitors.js';
import { SiteCallbacks } from './callbacks/site-callbacks.js';
import { SiteCampaigns } from './campaigns/site-campaigns.js';

/** Where npm run console:build puts the console, next to this package. */
const BUILT_CONSOLE = fileURLToPath(new URL('../../console/dist', import.meta.url));
const BUILT_DESKTOP = fileURLToPath(new URL('../../desktop/dist', import.meta.url));

await startProcess('api', async () => {
  const log = createLogger('api');
  const config = parseEnvConfig(apiConfigSchema);
  const users = loadUsers(config.CCFED_API_USERS);
  const topology = config.CCFED_TOPOLOGY ? loadTopology(config.CCFED_TOPOLOGY) : undefined;
  // An agent user is one agent at one site: the topology must have it (and nobody else be it).
  const agentUsers = [...users.values()].filter((u) => u.role === 'agent');
  if (agentUsers.length > 0) {
    if (!topology)
      throw new UsersFileError(config.CCFED_API_USERS, [
        'agent users need the topology to be checked against: set CCFED_TOPOLOGY',
      ]);
    const problems = usersTopologyProblems(
      users,
      new Map(topology.sites.map((s) => [s.id, new Set(s.agents.map((a) => a.id))])),
    );
    if (problems.length > 0) throw new UsersFileError(config.CCFED_API_USERS, problems);
  }
  const lifecycle = new Lifecycle({ log });
  lifecycle.install();

  // The API's own ClickHouse user may only read (readonly=1: docs/security.md, ClickHouse).
  const clickhouse = createClient(clickhouseClientOptions(config));
  const runQuery = clickhouseRunner(clickhouse);

  let live: LiveFeed | undefined;
  let desktop: DesktopFeed | undefined;
  let routingPolicy: RoutingPolicyStore | undefined;
  if (config.CCFED_KAFKA_BROKERS) {
    const kafka = createKafka({
      brokers: config.CCFED_KAFKA_BROKERS,
      clientId: 'ccfed-api',
      // The schema requires all three with the brokers.
      credentials: kafkaCredentialsFromEnv({
        CCFED_KAFKA_USERNAME: config.CCFED_KAFKA_USERNAME!,
        CCFED_KAFKA_PASSWORD: config.CCFED_KAFKA_PASSWORD!,
        CCFED_TLS_CA: config.CCFED_TLS_CA!,
      }),
      log,
    });
    const topics = topicNames(config.CCFED_TOPIC_PREFIX);
    const directory = new Map<string, AgentDirectoryEntry>(
      (topology ? allAgents(topology) : []).map(({ site, agent }) => [
        agent.id,
        { siteId: site.id, tenantId: agent.tenant, skills: Object.keys(agent.skills) },
      ]),
    );
    live = new LiveFeed({
      kafka,
      topics,
      runQuery,
      state: new LiveState(directory),
      clock: systemClock,
      log,
    });
    // The desktops follow agents by the topology's sites.
    if (topology) desktop = new DesktopFeed({ kafka, topics, runQuery, clock: systemClock, log });
    // The routing policy is edited against the topology, so it needs the file too.
    if (topology)
      routingPolicy = new RoutingPolicyStore({
        kafka,
        topic: topics.routingPolicy,
        topology,
        groupId: `${processGroupId('ccfed-api')}-policy`,
        log,
      });
  } else {
    log.warn({ event: 'live_feed_disabled' }, 'no CCFED_KAFKA_BROKERS: /api/v1/live answers 503');
  }

  // Recordings are streamed from the sites over mutual TLS as service:api, the one principal the
  // sites stream them to.
  let siteRecordings: SiteRecordings | undefined;
  let siteDesks: SiteDesks | undefined;
  // Supervisors' silent monitoring, asked of the sites as service:api on the supervisor's behalf.
  let siteMonitors: SiteMonitors | undefined;
  // Callbacks, asked of the sites as service:api on the supervisor's behalf.
  let siteCallbacks: SiteCallbacks | undefined;
  // Outbound campaigns, asked of the sites as service:api on the supervisor's behalf.
  let siteCampaigns: SiteCampaigns | undefined;
  if (config.CCFED_TLS_CERT && config.CCFED_TLS_KEY && config.CCFED_TLS_CA) {
    const tls = tlsFromEnv({
      CCFED_TLS_CA: config.CCFED_TLS_CA,
      CCFED_TLS_CERT: config.CCFED_TLS_CERT,
      CCFED_TLS_KEY: config.CCFED_TLS_KEY,
    });
    if (tls.self.kind !== 'service' || tls.self.service !== 'api')
      throw new Error(
        `${config.CCFED_TLS_CERT} names ${principalLabel(tls.self)}; the API needs a certificate for service:api`,
      );
    if (topology) {
      siteRecordings = new SiteRecordings({ topology, tls });
      siteDesks = new SiteDesks({ topology, tls });
      siteMonitors = new SiteMonitors({ topology, tls });
      siteCallbacks = new SiteCallbacks({ topology, tls });
      siteCampaigns = new SiteCampaigns({ topology, tls });
    }
  }
  if (!siteRecordings)
    log.warn(
      { event: 'recording_playback_disabled' },
      'no CCFED_TOPOLOGY or no certificate (CCFED_TLS_CERT, CCFED_TLS_KEY): recordings are listed but not played',
    );

  const consoleDir =
    config.CCFED_CONSOLE_DIR ?? (existsSync(BUILT_CONSOLE) ? BUILT_CONSOLE : undefined);
  const desktopDir =
    config.CCFED_DESKTOP_DIR ?? (existsSync(BUILT_DESKTOP) ? BUILT_DESKTOP : undefined);
  const { server } = createConsoleServer({
    runQuery,
    users,
    secret: config.CCFED_API_SECRET,
    tokenTtlSeconds: config.CCFED_API_TOKEN_TTL_SECONDS,
    clock: systemClock,
    log,
    trustedProxies: trustedProxies(config.CCFED_API_TRUSTED_PROXIES),
    timeouts: {
      headersMs: config.CCFED_API_HEADERS_TIMEOUT_MS,
      requestMs: config.CCFED_API_REQUEST_TIMEOUT_MS,
      keepAliveMs: config.CCFED_API_KEEP_ALIVE_TIMEOUT_MS,
      idleMs: config.CCFED_API_IDLE_TIMEOUT_MS,
    },
    login: {
      limits: {
        perSource: {
          burst: config.CCFED_API_LOGIN_FAILURES_PER_SOURCE,
          refillSeconds: config.CCFED_API_LOGIN_REFILL_SECONDS,
        },
        perUser: {
          burst: config.CCFED_API_LOGIN_FAILURES_PER_USER,
          refillSeconds: config.CCFED_API_LOGIN_REFILL_SECONDS,
        },
      },
    },
    live,
    ...(topology && { topology }),
    ...(routingPolicy && { routingPolicy }),
    ...(siteRecordings && { siteRecordings }),
    ...(siteDesks && { siteDesks }),
    ...(desktop && { desktop }),
    ...(config.CCFED_SIP_SECRETS_FILE && {
      sipSecrets: parseSipSecrets(
        readFileSync(config.CCFED_SIP_SECRETS_FILE, 'utf8'),
        config.CCFED_SIP_SECRETS_FILE,
      ),
    }),
    ...(siteMonitors && { siteMonitors }),
    ...(siteCallbacks && { siteCallbacks }),
    ...(siteCampaigns && { siteCampaigns }),
    ...(consoleDir !== undefined && { consoleDir }),
    ...(desktopDir !== undefined && { desktopDir }),
  });

  lifecycle.onShutdown('stop accepting requests and finish those in flight', () => server.close());
  if (live) {
    const feed = live;
    lifecycle.onShutdown('stop the live feed', () => feed.stop());
  }
  if (desktop) {
    const feed = desktop;
    lifecycle.onShutdown('stop the desktops’ feed', () => feed.stop());
  }
  if (routingPolicy) {
    const store = routingPolicy;
    lifecycle.onShutdown('stop following the routing policy', () => store.stop());
  }
  lifecycle.onShutdown('close ClickHouse client', () => clickhouse.close());
  lifecycle.onShutdown('close the sites’ channels', () => {
    siteRecordings?.close();
    siteDesks?.close();
    siteMonitors?.close();
    siteCallbacks?.close();
    siteCampaigns?.close();
  });

  await live?.start();
  await desktop?.start();
  await routingPolicy?.start();
  const port = await server.listen(config.CCFED_API_PORT, config.CCFED_API_HOST);
  log.info(
    {
      event: 'api_listening',
      host: config.CCFED_API_HOST,
      port,
      users: users.size,
      live: live !== undefined,
      console: consoleDir ?? null,
      desktop: desktopDir ?? null,
    },
    'API listening',
  );
});
