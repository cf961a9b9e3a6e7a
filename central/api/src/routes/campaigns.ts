// Outbound campaigns (docs/campaigns.md, docs/api.md "Campaigns"):
//   POST /api/v1/campaigns                        {siteId, campaignId, skill, mode, contactsCsv, ...} → progress
//   POST /api/v1/campaigns/{campaignId}/start     {siteId}                                          → progress
//   POST /api/v1/campaigns/{campaignId}/pause     {siteId}                                          → progress
//   GET  /api/v1/campaigns?site=                  → {campaigns: [...], unreachable: [siteId]}
//   GET  /api/v1/campaigns/{campaignId}?site=     → progress
// A campaign lives at the site whose agents call its customers. The API asks that site as the
// supervisor the caller stands for (HQ as the site's supervisor, a site's supervisor at its own
// site only, a tenant client as its tenant's supervisor); the site decides again and keeps a
// tenant to its own campaigns. The list's numbers go to the site and never come back.
import type { site as siteApi } from '@ccfed/proto';
import type { Topology } from '@ccfed/topology';
import { z } from 'zod';
import { supervisorPrincipal } from '../access.js';
import type { SiteCampaignsClient } from '../campaigns/site-campaigns.js';
import { badRequest, forbidden, HttpError } from '../http/errors.js';
import { topologyIdParam } from '../http/query-string.js';
import { route, type Route } from '../http/route.js';
import { askSites, knownSite, siteRefusal } from '../sites/site-answers.js';
import { API } from './deps.js';

const CAMPAIGN_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const HH_MM = /^([01]\d|2[0-3]):[0-5]\d$|^24:00$/;
const E164 = /^\+[1-9]\d{6,14}$/;

const createBody = z.strictObject({
  siteId: topologyIdParam('site').describe('the site whose agents take the campaign'),
  campaignId: z.string().regex(CAMPAIGN_ID, 'expected 1-64 letters, digits, . _ -'),
  tenantId: topologyIdParam('tenant')
    .optional()
    .describe("the campaign's tenant; a tenant client's own by default"),
  skill: topologyIdParam('skill'),
  mode: z.enum(['progressive', 'predictive']),
  contactsCsv: z
    .string()
    .min(1)
    .describe(
      'the contact list: CSV with the columns customer_id, number (E.164), time_zone (IANA)',
    ),
  dnc: z.array(z.string().regex(E164, 'expected E.164 numbers')).max(1000).optional(),
  window: z
    .strictObject({
      start: z.string().regex(HH_MM, 'expected HH:MM'),
      end: z.string().regex(HH_MM, 'expected HH:MM'),
    })
    .optional()
    .describe("calling window in each customer's local time (default 08:00-21:00)"),
  maxAttempts: z.number().int().min(1).max(20).optional(),
  ringTimeoutSeconds: z.number().int().min(5).max(60).optional(),
});
const siteBody = z.strictObject({ siteId: topologyIdParam('site') });
const listQuery = z.strictObject({ site: topologyIdParam('site').optional() });
const oneQuery = z.strictObject({ site: topologyIdParam('site') });

const progress = z.object({
  campaignId: z.string(),
  siteId: z.string(),
  tenantId: z.string(),
  skill: z.string(),
  mode: z.string(),
  status: z.string().describe('running or paused'),
  contacts: z.number(),
  dialed: z.number(),
  connected: z.number(),
  abandoned: z.number(),
  abandonRate24h: z.number().describe('over the trailing 24 h, AMD misclassifications counted'),
  outcomes: z.record(z.string(), z.number()),
  standing: z.record(z.string(), z.number()).describe('contacts by where they stand'),
  held: z.string().nullable().describe('why the last tick dialed nothing'),
});
type Progress = z.infer<typeof progress>;

const ERRORS = {
  '404': 'no such campaign at that site (or not yours)',
  '409': 'a campaign with that id exists at the site',
  '502': 'the site could not be reached, or runs no campaigns (no outbound trunk)',
};

function minuteOf(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return h! * 60 + m!;
}

function toJson(siteId: string, c: siteApi.CampaignProgress): Progress {
  return {
    campaignId: c.campaignId,
    siteId,
    tenantId: c.tenantId,
    skill: c.skill,
    mode: c.mode,
    status: c.status,
    contacts: c.contacts,
    dialed: c.dialed,
    connected: c.connected,
    abandoned: c.abandoned,
    abandonRate24h: c.abandonRate24h,
    outcomes: c.outcomes,
    standing: c.standing,
    held: c.held === '' ? null : c.held,
  };
}

export function campaignRoutes(deps: {
  readonly topology: Topology;
  readonly sites: SiteCampaignsClient;
}): Route[] {
  const known = (siteId: string) => knownSite(deps.topology, siteId);
  const campaignIdOf = (params: Record<string, string | undefined>) => {
    const id = params.campaignId ?? '';
    if (!CAMPAIGN_ID.test(id)) throw badRequest('campaignId', 'not a campaign id');
    return id;
  };
  const action = (verb: 'start' | 'pause', summary: string) =>
    route({
      method: 'POST',
      path: `${API}/campaigns/{campaignId}/${verb}`,
      summary,
      auth: true,
      roles: ['hq', 'site', 'tenant'],
      body: siteBody,
      otherErrors: ERRORS,
      response: progress,
      async handle(ctx) {
        const campaignId = campaignIdOf(ctx.params);
        known(ctx.body.siteId);
        const as = supervisorPrincipal(ctx.claims!, ctx.body.siteId, 'campaigns');
        const res = await deps.sites[verb](ctx.body.siteId, as, campaignId).catch(siteRefusal);
        return toJson(ctx.body.siteId, res);
      },
    });
  return [
    route({
      method: 'POST',
      path: `${API}/campaigns`,
      summary:
        'Creates a campaign at a site from a contact list (CSV), paused: its skill, mode and rules (calling window, DNC, attempts).',
      auth: true,
      roles: ['hq', 'site', 'tenant'],
      body: createBody,
      otherErrors: ERRORS,
      response: progress,
      async handle(ctx) {
        const b = ctx.body;
        known(b.siteId);
        const claims = ctx.claims!;
        let tenantId = b.tenantId;
        if (claims.role === 'tenant') {
          if (tenantId !== undefined && tenantId !== claims.tenantId)
            throw forbidden(`tenant ${claims.tenantId} may not create campaigns for ${tenantId}`);
          tenantId = claims.tenantId;
        }
        if (tenantId === undefined) throw badRequest('tenantId', 'a campaign names its tenant');
        const as = supervisorPrincipal(claims, b.siteId, 'campaigns');
        const res = await deps.sites
          .create(b.siteId, as, {
            campaignId: b.campaignId,
            tenantId,
            skill: b.skill,
            mode: b.mode,
            contactsCsv: b.contactsCsv,
            source: 'csv',
            customerIds: [],
            sourceRef: '',
            dnc: b.dnc ?? [],
            ...(b.window && {
              windowStartMinute: minuteOf(b.window.start),
              windowEndMinute: minuteOf(b.window.end),
            }),
            ...(b.maxAttempts !== undefined && { maxAttempts: b.maxAttempts }),
            ...(b.ringTimeoutSeconds !== undefined && {
              ringTimeoutMs: b.ringTimeoutSeconds * 1000,
            }),
          })
          .catch(siteRefusal);
        return toJson(b.siteId, res);
      },
    }),
    action(
      'start',
      'Starts (or resumes) a campaign: its site dials within its rules, inbound first.',
    ),
    action('pause', 'Pauses a campaign: no new attempt starts; those dialing end as they will.'),
    route({
      method: 'GET',
      path: `${API}/campaigns`,
      summary:
        'The campaigns the caller may see, per site, with their progress (dialed, connected, the 24 h abandoned rate, outcomes); never the numbers.',
      auth: true,
      roles: ['hq', 'site', 'tenant'],
      query: listQuery,
      otherErrors: ERRORS,
      response: z.object({ campaigns: z.array(progress), unreachable: z.array(z.string()) }),
      async handle(ctx) {
        const { items, unreachable } = await askSites(
          deps.topology,
          ctx.claims!,
          ctx.query.site,
          async (id) =>
            (await deps.sites.list(id, supervisorPrincipal(ctx.claims!, id, 'campaigns'))).map(
              (c) => toJson(id, c),
            ),
        );
        return { campaigns: items, unreachable };
      },
    }),
    route({
      method: 'GET',
      path: `${API}/campaigns/{campaignId}`,
      summary: "One campaign's progress at its site.",
      auth: true,
      roles: ['hq', 'site', 'tenant'],
      query: oneQuery,
      otherErrors: ERRORS,
      response: progress,
      async handle(ctx) {
        const campaignId = campaignIdOf(ctx.params);
        known(ctx.query.site);
        const as = supervisorPrincipal(ctx.claims!, ctx.query.site, 'campaigns');
        const all = await deps.sites.list(ctx.query.site, as).catch(siteRefusal);
        const found = all.find((c) => c.campaignId === campaignId);
        if (!found) throw new HttpError(404, `no campaign ${campaignId} at site ${ctx.query.site}`);
        return toJson(ctx.query.site, found);
      },
    }),
  ];
}
