// One whole site as production runs it: the site's Kamailio, the site agent process (ACD, evapi
// bridge, Kafka publisher, control API), on free ports, with fresh Kafka topics.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { site as siteApi, type TopicNames } from '@ccfed/proto';
import {
  agentPhone,
  boundInNetns,
  freePort,
  startKamailio,
  startSiteRtpengine,
  udpPortFree,
  type KamailioInstance,
  type LoggedSippRun,
  type KamailioTuning,
  type RtpengineInstance,
} from '@ccfed/services';
import type { Principal } from '@ccfed/common';
import { siteById, type Site, type Topology } from '@ccfed/topology';
import { createClient, type Channel } from 'nice-grpc';
import { inject } from 'vitest';
import { stringify } from 'yaml';
import { publishDirectory, TEST_CALLER_HASH_KEY, type DirectoryCaller } from './directory.js';
import { freshTopics, uniqueName, waitFor } from './engines.js';
import { kafkaEnv } from './kafka.js';
import { wireFederation, type CentralPort, type Wan } from './netns.js';
import { startService, type ServiceProcess } from './processes.js';
import { certFor, OPERATOR, ROUTER, siteChannel, tlsEnv } from './security.js';
import { exampleTopologyOnFreePorts } from './topology.js';

export type AgentControlClient = siteApi.AgentControlClient;
export type SiteAgentClient = siteApi.SiteAgentClient;

export interface RunningSite {
  readonly siteId: string;
  readonly topology: Topology;
  readonly site: Site;
  readonly topologyFile: string;
  readonly prefix: string;
  readonly topics: TopicNames;
  readonly kamailio: KamailioInstance;
  /** The site's rtpengine, which anchors every call's media (started before Kamailio). */
  readonly rtpengine: RtpengineInstance;
  /** The site agent's CCFED_DATA_DIR (its outbox, and its recordings under recordings/). */
  readonly dataDir: string;
  readonly agentProcess: ServiceProcess;
  /** AgentControl as the site's supervisor (may log in and move any of its agents). */
  readonly control: AgentControlClient;
  /** SiteAgent as an operator (may read the status and drain). */
  readonly status: SiteAgentClient;
  /** Both services as `principal`, over a channel of its own closed by stop(). */
  clientsAs(
    principal: Principal,
  ): Promise<{ control: AgentControlClient; status: SiteAgentClient }>;
  /** Starts the site agent again after it was stopped (same topology, topics and data dir). */
  restartAgent(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Each test site's secret for its browser agents' credentials (Kamailio's auth_ephemeral, the
 * central API's GET /desktop/sip-credentials): one per site, as production makes them.
 */
export function testSipSecret(siteId: string): string {
  return createHash('sha256').update(`test-sip-secret-${siteId}`).digest('base64');
}

/** The federation key every test site agent gets (CCFED_FEDERATION_KEY): tests sign with it too. */
export const TEST_FEDERATION_KEY = 'test-federation-key-that-signs-overflowed-calls';

export interface SiteOptions {
  readonly siteId?: string;
  /** Edits the example topology (a plain YAML document) before it is written. */
  readonly mutate?: (doc: any) => void;
  readonly tuning?: KamailioTuning;
  readonly env?: Record<string, string>;
  /**
   * Callers the CRM connector has put in the customer directory before the sites start: each
   * site agent has read them all before this resolves.
   */
  readonly directory?: readonly DirectoryCaller[];
  /**
   * Each site in its region's namespace on this WAN (tests/netns), reaching these central ports
   * (Kafka, the router) only across it (wireFederation).
   */
  readonly wan?: { readonly wan: Wan; readonly centralPorts: readonly CentralPort[] };
}

/** Writes a variant of the example topology on free ports into this run's directory. */
export async function writeTopology(
  mutate?: (doc: any) => void,
): Promise<{ topology: Topology; file: string }> {
  let doc: unknown;
  const topology = await exampleTopologyOnFreePorts((d) => {
    mutate?.(d);
    doc = d;
  });
  const file = join(inject('runDir'), `${uniqueName('topology')}.yaml`);
  writeFileSync(file, stringify(doc));
  return { topology, file };
}

/** Starts Kamailio and the site agent for one site and waits until calls can flow. */
export async function startSite(opts: SiteOptions = {}): Promise<RunningSite> {
  const siteId = opts.siteId ?? 'beijing';
  const federation = await startFederation({ ...opts, siteIds: [siteId] });
  return federation.sites.get(siteId)!;
}

export interface RunningFederation {
  readonly topology: Topology;
  readonly topologyFile: string;
  readonly prefix: string;
  readonly topics: TopicNames;
  readonly sites: ReadonlyMap<string, RunningSite>;
  stop(): Promise<void>;
}

/**
 * Several sites of one topology file, sharing topics: each with its Kamailio and site agent
 * process. `env` goes to every site agent (e.g. CCFED_ROUTER).
 */
export async function startFederation(
  opts: Omit<SiteOptions, 'siteId'> & { readonly siteIds: readonly string[] },
): Promise<RunningFederation> {
  const { topology, file } = await writeTopology(opts.mutate);
  const { prefix, topics } = await freshTopics();
  if (opts.directory?.length) await publishDirectory(topics, opts.directory);
  const sites = new Map<string, RunningSite>();
  if (opts.wan)
    await wireFederation(opts.wan.wan, {
      topology,
      siteIds: opts.siteIds,
      centralPorts: opts.wan.centralPorts,
    });
  // The sites are independent (own ports, processes and data directories): they start side by
  // side, each mostly waiting on its engines. If one fails, the others that started are stopped.
  const started = await Promise.allSettled(
    opts.siteIds.map((siteId) => startOneSite({ topology, file, prefix, topics, siteId, ...opts })),
  );
  const failed = started.find((s) => s.status === 'rejected');
  for (const [i, s] of started.entries())
    if (s.status === 'fulfilled') sites.set(opts.siteIds[i]!, s.value);
  if (failed) {
    for (const s of sites.values()) await s.stop();
    throw failed.reason;
  }
  return {
    topology,
    topologyFile: file,
    prefix,
    topics,
    sites,
    stop: async () => {
      for (const s of sites.values()) await s.stop();
    },
  };
}

async function startOneSite(opts: {
  readonly topology: Topology;
  readonly file: string;
  readonly prefix: string;
  readonly topics: TopicNames;
  readonly siteId: string;
  readonly tuning?: KamailioTuning;
  readonly env?: Record<string, string>;
  readonly directory?: readonly DirectoryCaller[];
  readonly wan?: { readonly wan: Wan };
}): Promise<RunningSite> {
  const { topology, file, prefix, topics, siteId } = opts;
  const netns = opts.wan?.wan.netns(siteId);
  const inNs = netns === undefined ? {} : { netns };
  // The site's own Kafka user, with its ACLs on this federation's topics.
  const kafka = await kafkaEnv({ role: 'site', site: siteId }, prefix);
  const site = siteById(topology, siteId);
  // rtpengine first: Kamailio anchors every call there from the first INVITE on.
  const rtpengine = await startSiteRtpengine({
    topology,
    siteId,
    dataDir: join(inject('runDir'), uniqueName(`rtpengine-${siteId}`)),
    ...inNs,
  });
  let kamailio: KamailioInstance;
  try {
    kamailio = await startKamailio({
      topology,
      siteId,
      dataDir: join(inject('runDir'), uniqueName(`kamailio-${siteId}`)),
      ...(opts.tuning ? { tuning: opts.tuning } : {}),
      // The site principal's certificate, for SIP over TLS with its peer sites.
      tls: await certFor({ kind: 'site', site: siteId }),
      agentSecret: testSipSecret(siteId),
      ...inNs,
    });
  } catch (err) {
    await rtpengine.stop();
    throw err;
  }
  const dataDir = join(inject('runDir'), uniqueName(`site-agent-${siteId}`));
  const env = {
    CCFED_TOPOLOGY: file,
    CCFED_SITE: siteId,
    ...kafka,
    CCFED_TOPIC_PREFIX: prefix,
    CCFED_DATA_DIR: dataDir,
    // One key of each for every site of the test federation, as production shares them.
    CCFED_CALLER_HASH_KEY: TEST_CALLER_HASH_KEY,
    CCFED_FEDERATION_KEY: TEST_FEDERATION_KEY,
    // The secret its Kamailio checks SIP credentials with: the site's outbound dialer signs in with it.
    CCFED_SIP_SECRET: testSipSecret(siteId),
    ...(await tlsEnv({ kind: 'site', site: siteId })),
    // A test that gives the site recording keys records with the site's rtpengine.
    ...(opts.env?.CCFED_RECORDING_KEYS_FILE
      ? {
          CCFED_RTPENGINE_NG: `${rtpengine.ng.host}:${rtpengine.ng.port}`,
          CCFED_RTPENGINE_RECORDING_DIR: rtpengine.recordingDir,
        }
      : {}),
    ...opts.env,
  };
  const channels: Channel[] = [];
  const clientsAs = async (principal: Principal) => {
    const channel = await siteChannel(site, principal);
    channels.push(channel);
    return {
      control: createClient(siteApi.AgentControlDefinition, channel),
      status: createClient(siteApi.SiteAgentDefinition, channel),
    };
  };
  const closeChannels = () => {
    for (const channel of channels.splice(0)) channel.close();
  };
  const { control } = await clientsAs({ kind: 'supervisor', site: siteId });
  const { status } = await clientsAs(OPERATOR);

  let agentProcess = startService('site-agent/src/index.ts', env, `site-agent-${siteId}`, inNs);
  const ready = async () => {
    const exited = agentProcess.exited.then((code) => {
      throw new Error(`site agent exited with ${code}; log: ${agentProcess.logFile}`);
    });
    exited.catch(() => undefined); // an exit after start-up is the test's business, not this one
    await Promise.race([
      exited,
      waitFor('site agent connected to Kamailio', async () => {
        const s = await status.getStatus({}, { signal: AbortSignal.timeout(1000) });
        return s.evapiConnected ? true : undefined;
      }),
    ]);
    if (opts.directory?.length)
      await Promise.race([exited, directoryRead(agentProcess.logFile, opts.directory.length)]);
  };
  try {
    await ready();
  } catch (err) {
    await agentProcess.stop();
    await kamailio.stop();
    await rtpengine.stop();
    closeChannels();
    throw err;
  }

  return {
    siteId,
    topology,
    site,
    topologyFile: file,
    prefix,
    topics,
    kamailio,
    rtpengine,
    dataDir,
    get agentProcess() {
      return agentProcess;
    },
    control,
    status,
    clientsAs,
    restartAgent: async () => {
      agentProcess = startService('site-agent/src/index.ts', env, `site-agent-${siteId}`, inNs);
      await ready();
    },
    stop: async () => {
      closeChannels();
      await agentProcess.stop();
      await kamailio.stop();
      await rtpengine.stop();
    },
  };
}

/** Waits until the site agent's log says it has read at least `entries` directory entries. */
async function directoryRead(logFile: string, entries: number): Promise<void> {
  await waitFor(`site agent read ${entries} customer directory entries`, async () => {
    const caughtUp = readFileSync(logFile, 'utf8')
      .split('\n')
      .filter((l) => l.includes('"event":"customer_directory_caught_up"'))
      .map((l) => JSON.parse(l) as { entries: number });
    return caughtUp.some((l) => l.entries >= entries) ? true : undefined;
  });
}

/**
 * Every agent of every site of `fed` on a sipp phone of its own (answers after 100 ms, talks 2 s
 * on average), logged in and ready through its site agent. `netnsOf` names the network namespace
 * a site's phones run in (the WAN harness); their SIP address is that namespace's loopback.
 * Each phone goes into `phones` as it starts (so a failure part way leaves none unstopped), and
 * its port into `phoneSite` with its site. The agents named in `except` are left logged out, for
 * a test that puts them on phones of its own.
 */
export async function readyAgentsOnPhones(
  fed: RunningFederation,
  opts: {
    readonly logDir: string;
    readonly netnsOf?: (siteId: string) => string;
    readonly phones: LoggedSippRun[];
    readonly phoneSite: Map<number, string>;
    readonly except?: ReadonlySet<string>;
  },
): Promise<void> {
  const { phones, phoneSite } = opts;
  // Every phone starts at once; each agent logs in as soon as its own phone listens.
  const agents = [...fed.sites].flatMap(([siteId, site]) =>
    site.site.agents
      .filter((agent) => !opts.except?.has(agent.id))
      .map((agent) => ({ siteId, site, agent })),
  );
  await Promise.all(
    agents.map(async ({ siteId, site, agent }) => {
      const netns = opts.netnsOf?.(siteId);
      const port = await freePort();
      phones.push(
        agentPhone({
          port,
          ringMs: 100,
          talkMeanMs: 2000,
          logFile: join(opts.logDir, `phone-${agent.id}.log`),
          timeout: '600s',
          ...(netns === undefined ? {} : { netns }),
        }),
      );
      phoneSite.set(port, siteId);
      await waitFor('phone listening', async () =>
        (netns === undefined ? !(await udpPortFree(port)) : await boundInNetns(netns, port, 'udp'))
          ? true
          : undefined,
      );
      await site.control.login({
        agentId: agent.id,
        contactUri: `sip:${agent.id}@127.0.0.1:${port}`,
      });
      await site.control.setReady({ agentId: agent.id });
    }),
  );
}

/**
 * The central router for a federation's topology file and topics, as production runs it: its
 * Kafka user, its service certificate, listening on `port`. `env` adds to its environment (e.g.
 * telemetry).
 */
export async function startRouter(
  fed: { readonly topologyFile: string; readonly prefix: string },
  port: number,
  opts: { readonly env?: Record<string, string>; readonly name?: string } = {},
): Promise<ServiceProcess> {
  return startService(
    'central/router/src/index.ts',
    {
      CCFED_TOPOLOGY: fed.topologyFile,
      ...(await kafkaEnv({ role: 'router' }, fed.prefix)),
      CCFED_TOPIC_PREFIX: fed.prefix,
      CCFED_ROUTER_PORT: String(port),
      ...(await tlsEnv(ROUTER)),
      ...opts.env,
    },
    opts.name ?? 'router',
  );
}
