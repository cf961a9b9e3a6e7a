// The API's client of the sites' callbacks (docs/callbacks.md): AgentControl.RequestCallback,
// ListCallbacks and CancelCallback at the site, over mutual TLS as service:api, on behalf of the
// supervisor the API has authenticated. The site authorises that person again and alone knows
// which tenant a queued call or a callback is of.
import type { Principal } from '@ccfed/common';
import { site as siteApi } from '@ccfed/proto';
import { createClient } from 'nice-grpc';
import { actingFor, SiteChannels, type SiteChannelDeps } from '../sites/site-channels.js';

/** How long the API waits for a site. */
const DEADLINE_MS = 5_000;

export interface SiteCallbacksClient {
  request(
    siteId: string,
    as: Principal,
    req: siteApi.RequestCallbackRequest,
  ): Promise<siteApi.PendingCallback>;
  list(siteId: string, as: Principal, skill: string): Promise<siteApi.PendingCallback[]>;
  cancel(siteId: string, as: Principal, callbackId: string): Promise<void>;
}

export class SiteCallbacks implements SiteCallbacksClient {
  private readonly channels: SiteChannels;

  constructor(deps: SiteChannelDeps) {
    this.channels = new SiteChannels(deps);
  }

  async request(siteId: string, as: Principal, req: siteApi.RequestCallbackRequest) {
    const res = await this.client(siteId).requestCallback(req, actingFor(as, DEADLINE_MS));
    return res.callback!;
  }

  async list(siteId: string, as: Principal, skill: string) {
    return (await this.client(siteId).listCallbacks({ skill }, actingFor(as, DEADLINE_MS)))
      .callbacks;
  }

  async cancel(siteId: string, as: Principal, callbackId: string) {
    await this.client(siteId).cancelCallback({ callbackId }, actingFor(as, DEADLINE_MS));
  }

  close(): void {
    this.channels.close();
  }

  private client(siteId: string): siteApi.AgentControlClient {
    return createClient(siteApi.AgentControlDefinition, this.channels.of(siteId));
  }
}
