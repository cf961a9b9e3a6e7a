// The API's client of the sites' campaigns (docs/campaigns.md): AgentControl.CreateCampaign,
// StartCampaign, PauseCampaign and ListCampaigns at the site, over mutual TLS as service:api, on
// behalf of the person the API has authenticated. The site authorises that person again.
import type { Principal } from '@ccfed/common';
import { site as siteApi } from '@ccfed/proto';
import { createClient } from 'nice-grpc';
import { actingFor, SiteChannels, type SiteChannelDeps } from '../sites/site-channels.js';

/** How long the API waits for a site. */
const DEADLINE_MS = 10_000;
/**
 * How long the API waits for a site to take a new campaign: the site parses the list (or its CRM
 * export, to resolve a churn list or survey sample) and journals it before it answers; 50,000
 * contacts took up to 5.9 s on a busy 2-core test machine (docs/api.md, "List sizes").
 */
const CREATE_DEADLINE_MS = 30_000;

export interface SiteCampaignsClient {
  create(
    siteId: string,
    as: Principal,
    req: siteApi.CreateCampaignRequest,
  ): Promise<siteApi.CampaignProgress>;
  start(siteId: string, as: Principal, campaignId: string): Promise<siteApi.CampaignProgress>;
  pause(siteId: string, as: Principal, campaignId: string): Promise<siteApi.CampaignProgress>;
  list(siteId: string, as: Principal): Promise<siteApi.CampaignProgress[]>;
}

export class SiteCampaigns implements SiteCampaignsClient {
  private readonly channels: SiteChannels;

  constructor(deps: SiteChannelDeps) {
    this.channels = new SiteChannels(deps);
  }

  async create(siteId: string, as: Principal, req: siteApi.CreateCampaignRequest) {
    return (await this.client(siteId).createCampaign(req, actingFor(as, CREATE_DEADLINE_MS)))
      .campaign!;
  }

  async start(siteId: string, as: Principal, campaignId: string) {
    const res = await this.client(siteId).startCampaign({ campaignId }, actingFor(as, DEADLINE_MS));
    return res.campaign!;
  }

  async pause(siteId: string, as: Principal, campaignId: string) {
    const res = await this.client(siteId).pauseCampaign({ campaignId }, actingFor(as, DEADLINE_MS));
    return res.campaign!;
  }

  async list(siteId: string, as: Principal) {
    return (await this.client(siteId).listCampaigns({}, actingFor(as, DEADLINE_MS))).campaigns;
  }

  close(): void {
    this.channels.close();
  }

  private client(siteId: string): siteApi.AgentControlClient {
    return createClient(siteApi.AgentControlDefinition, this.channels.of(siteId));
  }
}
