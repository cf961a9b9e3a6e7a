// The API's client of the sites' silent monitoring: AgentControl.StartMonitor, AnswerMonitor and
// StopMonitor at the site the call is at, over mutual TLS as service:api, on behalf of the
// supervisor the API has authenticated (metadata x-ccfed-on-behalf-of: their principal URI). The
// site authorises that person again, and alone knows which tenant's agent talks on the call.
import { principalUri, secureChannel, type Principal, type TlsMaterial } from '@ccfed/common';
import { site as siteApi } from '@ccfed/proto';
import type { Topology } from '@ccfed/topology';
import { createClient, Metadata, type Channel } from 'nice-grpc';

/** The metadata a site reads the person the API acts for from. */
export const ON_BEHALF_OF = 'x-ccfed-on-behalf-of';

/** How long the API waits for a site (rtpengine answers in milliseconds). */
const DEADLINE_MS = 5_000;

export interface SiteMonitorsClient {
  start(siteId: string, as: Principal, callId: string): Promise<siteApi.StartMonitorResponse>;
  answer(siteId: string, as: Principal, monitorId: string, sdpAnswer: string): Promise<void>;
  stop(siteId: string, as: Principal, monitorId: string): Promise<boolean>;
}

export class SiteMonitors implements SiteMonitorsClient {
  private readonly channels = new Map<string, Channel>();

  constructor(
    private readonly deps: {
      readonly topology: Topology;
      /** The API's certificate (service:api) and the federation CA. */
      readonly tls: TlsMaterial;
    },
  ) {}

  start(siteId: string, as: Principal, callId: string): Promise<siteApi.StartMonitorResponse> {
    return this.client(siteId).startMonitor({ callId }, this.options(as));
  }

  async answer(siteId: string, as: Principal, monitorId: string, sdpAnswer: string) {
    await this.client(siteId).answerMonitor({ monitorId, sdpAnswer }, this.options(as));
  }

  async stop(siteId: string, as: Principal, monitorId: string): Promise<boolean> {
    return (await this.client(siteId).stopMonitor({ monitorId }, this.options(as))).wasActive;
  }

  close(): void {
    for (const channel of this.channels.values()) channel.close();
    this.channels.clear();
  }

  private options(as: Principal) {
    return {
      metadata: Metadata({ [ON_BEHALF_OF]: principalUri(as) }),
      signal: AbortSignal.timeout(DEADLINE_MS),
    };
  }

  private client(siteId: string): siteApi.AgentControlClient {
    let channel = this.channels.get(siteId);
    if (!channel) {
      const site = this.deps.topology.sites.find((s) => s.id === siteId);
      if (!site) throw new Error(`site ${siteId} is not in the topology this API was given`);
      channel = secureChannel(
        `${site.grpc.host}:${site.grpc.port}`,
        this.deps.tls,
        (server) => server.kind === 'site' && server.site === siteId,
        `site:${siteId}`,
      );
      this.channels.set(siteId, channel);
    }
    return createClient(siteApi.AgentControlDefinition, channel);
  }
}
