// A site that records: the media tests' rtpengine, minimal Kamailio and baresip phones (caller
// 400 Hz, agent 1000 Hz) with the real site agent process in front of them (through the evapi
// bridge), its recording keys, store and retention job, publishing to fresh Kafka topics.
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Principal } from '@ccfed/common';
import { site as siteApi, type TopicNames } from '@ccfed/proto';
import { freePort } from '@ccfed/services';
import { deriveTenantKey } from '@ccfed/site-agent/recording/recording-keys';
import { siteById, type Site, type Topology } from '@ccfed/topology';
import { createClient } from 'nice-grpc';
import { freshTopics, waitFor } from '../support/engines.js';
import { kafkaEnv } from '../support/kafka.js';
import { startService, type ServiceProcess } from '../support/processes.js';
import { TEST_FEDERATION_KEY, writeTopology } from '../support/running-site.js';
import { siteChannel, tlsEnv } from '../support/security.js';
import { startMediaSite, type MediaSite } from '../media/media-site.js';
import { bridgeEvapi, type EvapiBridge } from './evapi-bridge.js';

export const SITE_ID = 'beijing';
/** Dialled numbers the minimal Kamailio answers with early media itself (prefix 45). */
export const ACME_NUMBER = '4500100';
export const ZENITH_NUMBER = '4500400';
/** Zenith's recordings are kept this long in the test, so the retention job can be watched. */
export const ZENITH_RETENTION_S = 25;

export interface RecordingSite {
  readonly media: MediaSite;
  readonly topology: Topology;
  readonly topologyFile: string;
  readonly site: Site;
  readonly prefix: string;
  readonly topics: TopicNames;
  readonly agentProcess: ServiceProcess;
  /** The site's recording store (CCFED_RECORDING_DIR). */
  readonly recordingDir: string;
  /** The site's master key: the test derives tenant keys from it to check the files at rest. */
  readonly masterKey: Buffer;
  tenantKey(tenantId: string): Buffer;
  controlAs(principal: Principal): Promise<siteApi.AgentControlClient>;
  stop(): Promise<void>;
}

export async function startRecordingSite(dir: string): Promise<RecordingSite> {
  mkdirSync(dir, { recursive: true });
  const stops: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    while (stops.length) await stops.pop()!().catch(() => {});
  };
  try {
    const media = await startMediaSite(join(dir, 'media'));
    stops.push(() => media.stop());
    const evapiPort = await freePort();
    const bridge: EvapiBridge = await bridgeEvapi(media.app, evapiPort);
    stops.push(() => bridge.close());

    const { topology, file } = await writeTopology((doc) => {
      doc.tenants[0].recording = { calls: 'all', retentionDays: 30 };
      doc.tenants[1].recording = { calls: 'all', retentionDays: ZENITH_RETENTION_S / 86_400 };
      doc.sites = doc.sites.filter((s: { id: string }) => s.id === SITE_ID);
      doc.federation.hqSite = SITE_ID;
      doc.routing.tenantRestrictions = [];
      const site = doc.sites[0];
      site.evapi.port = evapiPort;
      site.numbers = [
        { number: ACME_NUMBER, skill: 'sales', tenant: 'acme-bank' },
        { number: ZENITH_NUMBER, skill: 'support', tenant: 'zenith-telecom' },
      ];
      // One acme agent for sales, one zenith agent for support, both at the agent phone.
      site.agents = site.agents.filter((a: { id: string }) => ['bj-001', 'bj-003'].includes(a.id));
    });
    const site = siteById(topology, SITE_ID);
    const { prefix, topics } = await freshTopics(1);

    const masterKey = randomBytes(32);
    const keysFile = join(dir, 'recording-keys.json');
    writeFileSync(
      keysFile,
      JSON.stringify({ current: 'k1', keys: { k1: masterKey.toString('base64') } }),
    );
    chmodSync(keysFile, 0o600);
    const recordingDir = join(dir, 'recordings');
    const agentProcess = startService(
      'site-agent/src/index.ts',
      {
        CCFED_TOPOLOGY: file,
        CCFED_SITE: SITE_ID,
        ...(await kafkaEnv({ role: 'site', site: SITE_ID }, prefix)),
        CCFED_TOPIC_PREFIX: prefix,
        CCFED_DATA_DIR: join(dir, 'site-agent'),
        CCFED_FEDERATION_KEY: TEST_FEDERATION_KEY,
        ...(await tlsEnv({ kind: 'site', site: SITE_ID })),
        CCFED_RTPENGINE_NG: `127.0.0.1:${media.rtpengine.ng.port}`,
        CCFED_RTPENGINE_RECORDING_DIR: media.rtpengine.recordingDir,
        CCFED_RECORDING_KEYS_FILE: keysFile,
        CCFED_RECORDING_DIR: recordingDir,
        CCFED_RECORDING_SWEEP_SECONDS: '2',
      },
      `site-agent-${SITE_ID}`,
    );
    stops.push(() => agentProcess.stop());

    const channels: { close(): void }[] = [];
    stops.push(async () => channels.forEach((c) => c.close()));
    const clientsAs = async (principal: Principal) => {
      const channel = await siteChannel(site, principal);
      channels.push(channel);
      return {
        control: createClient(siteApi.AgentControlDefinition, channel),
        status: createClient(siteApi.SiteAgentDefinition, channel),
      };
    };
    const { status } = await clientsAs({ kind: 'operator', name: 'test' });
    await waitFor('the site agent connected to the bridged Kamailio', async () => {
      if (agentProcess.child.exitCode !== null)
        throw new Error(`site agent exited; log: ${agentProcess.logFile}`);
      const s = await status.getStatus({}, { signal: AbortSignal.timeout(1000) });
      return s.evapiConnected ? true : undefined;
    });

    return {
      media,
      topology,
      topologyFile: file,
      site,
      prefix,
      topics,
      agentProcess,
      recordingDir,
      masterKey,
      tenantKey: (tenantId) => deriveTenantKey(masterKey, tenantId),
      controlAs: async (principal) => (await clientsAs(principal)).control,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
