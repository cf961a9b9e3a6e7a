// The API's client of the sites' silent monitoring: AgentControl.StartMonitor, AnswerMonitor and
// StopMonitor at the site the call is at, over mutual TLS as service:api, on behalf of the
// supervisor the API has authenticated (metadata x-ccfed-on-behalf-of: their principal URI). The
// site authorises that person again, and alone knows which tenant's agent talks on the call.
import type { Principal } from '@ccfed/common';
import { site as siteApi } from '@ccfed/proto';
import { createClient } from 'nice-grpc';
import { actingFor, SiteChannels, type SiteChannelDeps } from '../sites/site-channels.js';

/** How long the API waits for a site (rtpengine answers in milliseconds). */
const DEADLINE_MS = 5_000;

export interface SiteMonitorsClient {
  start(siteId: string, as: Principal, callId: string): Promise<siteApi.StartMonitorResponse>;
  answer(siteId: string, as: Principal, monitorId: string, sdpAnswer: string): Promise<void>;
  stop(siteId: string, as: Principal, monitorId: string): Promise<boolean>;
}

export class SiteMonitors implements SiteMonitorsClient {
  private readonly channels: SiteChannels;

  constructor(deps: SiteChannelDeps) {
    this.channels = new SiteChannels(deps);
  }

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
    this.channels.close();
  }

  private options(as: Principal) {
    return actingFor(as, DEADLINE_MS);
  }

  private client(siteId: string): siteApi.AgentControlClient {
    return createClient(siteApi.AgentControlDefinition, this.channels.of(siteId));
  }
}
