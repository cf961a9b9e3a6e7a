// Outbound campaigns (docs/campaigns.md, docs/api.md "Campaigns"):
//   POST /api/v1/campaigns                        {siteId, campaignId, skill, mode, source, ...}     → progress
//   POST /api/v1/campaigns/{campaignId}/start     {siteId}                                          → progress
//   POST /api/v1/campaigns/{campaignId}/pause     {siteId}                                          → progress
//   GET  /api/v1/campaigns?site=                  → {campaigns: [...], unreachable: [siteId]}
//   GET  /api/v1/campaigns/{campaignId}?site=     → progress
// A campaign lives at the site whose agents call its customers. The API asks that site as the
// supervisor the caller stands for (HQ as the site's supervisor, a site's supervisor at its own
// site only, a tenant client as its tenant's supervisor); the site decides again and keeps a
// tenant to its own campaigns. The list's numbers go to the site and never come back.
//
// A list is an uploaded CSV, or read here from ClickHouse for the campaign's tenant only: the
// churn call-back list (the newest scoring run, the retention control group never on it) or the
// survey follow-up sample. Those go to the site as customer ids only (HQ holds no numbers); the
// site resolves them from the tenant's CRM contacts it holds and counts those it cannot.
import { churnCallbackQuery, parseChurnCallbackRows } from '@ccfed/analytics/churn';
import { MAX_CAMPAIGN_LIST } from '@ccfed/analytics/churn-options';
import {
  MAX_FOLLOW_UP_DAYS,
  surveyFollowUpCandidatesQuery,
  surveyFollowUpSample,
} from '@ccfed/analytics/survey-follow-up';
import type { Clock } from '@ccfed/common';
import type { site as siteApi } from '@ccfed/proto';
import type { Topology } from '@ccfed/topology';
import { z } from 'zod';
import { supervisorPrincipal } from '../access.js';
import type { SiteCampaignsClient } from '../campaigns/site-campaigns.js';
import type { Claims } from '../auth/token.js';
import type { RunQuery } from '../clickhouse.js';
import { badRequest, forbidden, HttpError } from '../http/errors.js';
import { topologyIdParam } from '../http/query-string.js';
import { route, type Route } from '../http/route.js';
import { askSites, knownSite, siteRefusal } from '../sites/site-answers.js';
import { buildQuery } from './analytics-options.js';
import { API } from './deps.js';

const CAMPAIGN_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const HH_MM = /^([01]\d|2[0-3]):[0-5]\d$|^24:00$/;
const E164 = /^\+[1-9]\d{6,14}$/;

/**
 * The creation route's body limit: a list of 100,000 typical rows (customer id, E.164 number,
 * time zone: about 45 bytes each, 4.5 MB) with room to spare; every other route keeps 16 KB.
 */
export const CREATE_BODY_BYTES = 8 * 1024 * 1024;

const createBody = z.strictObject({
  siteId: topologyIdParam('site').describe('the site whose agents take the campaign'),
  campaignId: z.string().regex(CAMPAIGN_ID, 'expected 1-64 letters, digits, . _ -'),
  tenantId: topologyIdParam('tenant')
    .optional()
    .describe("the campaign's tenant; a tenant client's own by default"),
  skill: topologyIdParam('skill'),
  mode: z
    .enum(['progressive', 'predictive', 'preview'])
    .describe('preview: the agent sees each contact first and dials or skips it'),
  source: z
    .enum(['csv', 'churn', 'survey'])
    .optional()
    .describe(
      "where the list comes from: csv (contactsCsv, the default), churn (the tenant's churn call-back list, control group held back) or survey (the survey follow-up sample)",
    ),
  contactsCsv: z
    .string()
    .min(1)
    .optional()
    .describe(
      `csv only: the contact list, CSV with the columns customer_id, number (E.164), time_zone (IANA); up to ${MAX_CAMPAIGN_LIST} rows, the whole body at most ${CREATE_BODY_BYTES} bytes`,
    ),
  listSize: z
    .number()
    .int()
    .min(1)
    .max(MAX_CAMPAIGN_LIST)
    .optional()
    .describe(
      `churn and survey: at most this many customers (up to ${MAX_CAMPAIGN_LIST}), first in list order (default 1000)`,
    ),
  sample: z
    .strictObject({
      baseRate: z.number().min(0).max(1).describe('calls with no complaint drawn at this rate'),
      days: z.number().int().min(1).max(MAX_FOLLOW_UP_DAYS).optional().describe('default 7'),
      seed: z
        .string()
        .regex(/^[A-Za-z0-9._-]{1,64}$/, 'expected 1-64 letters, digits, . _ -')
        .optional(),
    })
    .optional()
    .describe(
      'survey only: the draw over the calls wrapped up in the last days (default base rate 0.1, 7 days); major and critical complaints always',
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
  previewTimeoutSeconds: z
    .number()
    .int()
    .min(5)
    .max(300)
    .optional()
    .describe('preview mode: how long an offer waits for the agent (default 30)'),
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
  previews: z
    .object({ offered: z.number(), skipped: z.number(), released: z.number() })
    .describe('preview mode: contacts offered to agents, skipped, released undecided'),
  source: z.string().describe('csv, churn or survey'),
  sourceRef: z
    .string()
    .describe('which list: for churn the scoring run and model version; for survey the draw'),
  unresolvable: z
    .number()
    .describe('customers of the list the site holds no number for: never dialed'),
});
type Progress = z.infer<typeof progress>;

const ERRORS = {
  '404': 'no such campaign at that site (or not yours)',
  '409':
    'a campaign with that id exists at the site; the churn list or survey sample is empty; or the site holds no number for any of its customers',
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
    previews: {
      offered: c.previewsOffered,
      skipped: c.previewsSkipped,
      released: c.previewsReleased,
    },
    source: c.source === '' ? 'csv' : c.source,
    sourceRef: c.sourceRef,
    unresolvable: c.unresolvable,
  };
}

type CreateBody = z.infer<typeof createBody>;
type CampaignList = Pick<
  siteApi.CreateCampaignRequest,
  'contactsCsv' | 'customerIds' | 'source' | 'sourceRef'
>;

const DEFAULT_LIST_SIZE = 1000;
const DEFAULT_SAMPLE = { baseRate: 0.1, days: 7 };
const DAY_MS = 86_400_000;

/** The body's list fields as they fit its source, or a 400 naming the field that does not. */
function checkList(b: CreateBody): void {
  const source = b.source ?? 'csv';
  if (source === 'csv') {
    if (b.contactsCsv === undefined) throw badRequest('contactsCsv', 'a csv list needs its CSV');
    if (b.listSize !== undefined) throw badRequest('listSize', 'churn and survey lists only');
  } else if (b.contactsCsv !== undefined)
    throw badRequest('contactsCsv', `a ${source} list is read by HQ, not uploaded`);
  if (b.sample !== undefined && source !== 'survey')
    throw badRequest('sample', 'survey lists only');
}

/**
 * The list to send the site: the CSV as it came, or the customer ids of the tenant's churn
 * call-back list or survey sample read from ClickHouse now. A site's supervisor gets only the
 * customers its site last handled (churn) or wrapped up (survey). An empty list is a 409.
 */
async function listFor(
  b: CreateBody,
  claims: Claims,
  tenantId: string,
  deps: { readonly runQuery: RunQuery; readonly clock: Clock },
): Promise<CampaignList> {
  const source = b.source ?? 'csv';
  if (source === 'csv')
    return { source, contactsCsv: b.contactsCsv!, customerIds: [], sourceRef: '' };
  const now = new Date(deps.clock.now());
  const limit = b.listSize ?? DEFAULT_LIST_SIZE;
  const site = claims.role === 'site' ? { siteId: claims.siteId } : {};
  if (source === 'churn') {
    // Read as the tenant, whoever asks: no other tenant's customer can be on it.
    const query = buildQuery(() =>
      churnCallbackQuery({ role: 'tenant', tenantId }, { ...site, limit, asOf: now }),
    );
    const rows = parseChurnCallbackRows(await deps.runQuery(query));
    if (rows.length === 0)
      throw new HttpError(
        409,
        `the churn call-back list of ${tenantId} is empty: no scoring run yet, or no customer outside the control group`,
      );
    const models = [...new Set(rows.map((r) => r.model_version))].sort().join('+');
    return {
      source,
      contactsCsv: '',
      customerIds: rows.map((r) => r.customer_id),
      sourceRef: `scoring run ${rows[0]!.scored_at}, model ${models}`,
    };
  }
  const baseRate = b.sample?.baseRate ?? DEFAULT_SAMPLE.baseRate;
  const days = b.sample?.days ?? DEFAULT_SAMPLE.days;
  const seed = b.sample?.seed;
  const from = new Date(now.getTime() - days * DAY_MS);
  const query = buildQuery(() =>
    surveyFollowUpCandidatesQuery({ tenantId, ...site, from, to: now }),
  );
  const customerIds = surveyFollowUpSample(
    await deps.runQuery(query),
    { baseRate, ...(seed !== undefined && { seed }) },
    limit,
  );
  if (customerIds.length === 0)
    throw new HttpError(
      409,
      `the survey follow-up sample of ${tenantId} over the last ${days} days is empty`,
    );
  return {
    source,
    contactsCsv: '',
    customerIds,
    sourceRef: `wrap-ups ${from.toISOString()} to ${now.toISOString()}, base rate ${baseRate}${seed === undefined ? '' : `, seed ${seed}`}`,
  };
}

export function campaignRoutes(deps: {
  readonly topology: Topology;
  readonly sites: SiteCampaignsClient;
  /** ClickHouse, for the churn list and the survey sample. */
  readonly runQuery: RunQuery;
  readonly clock: Clock;
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
        "Creates a campaign at a site, paused: its list (an uploaded CSV, the tenant's churn call-back list without its control group, or the survey follow-up sample; the last two sent to the site as customer ids, which it resolves to numbers itself), skill, mode and rules (calling window, DNC, attempts).",
      auth: true,
      roles: ['hq', 'site', 'tenant'],
      body: createBody,
      maxBodyBytes: CREATE_BODY_BYTES,
      otherErrors: ERRORS,
      response: progress,
      async handle(ctx) {
        const b = ctx.body;
        known(b.siteId);
        checkList(b);
        const claims = ctx.claims!;
        let tenantId = b.tenantId;
        if (claims.role === 'tenant') {
          if (tenantId !== undefined && tenantId !== claims.tenantId)
            throw forbidden(`tenant ${claims.tenantId} may not create campaigns for ${tenantId}`);
          tenantId = claims.tenantId;
        }
        if (tenantId === undefined) throw badRequest('tenantId', 'a campaign names its tenant');
        const as = supervisorPrincipal(claims, b.siteId, 'campaigns');
        const list = await listFor(b, claims, tenantId, deps);
        const res = await deps.sites
          .create(b.siteId, as, {
            campaignId: b.campaignId,
            tenantId,
            skill: b.skill,
            mode: b.mode,
            ...list,
            dnc: b.dnc ?? [],
            ...(b.window && {
              windowStartMinute: minuteOf(b.window.start),
              windowEndMinute: minuteOf(b.window.end),
            }),
            ...(b.maxAttempts !== undefined && { maxAttempts: b.maxAttempts }),
            ...(b.ringTimeoutSeconds !== undefined && {
              ringTimeoutMs: b.ringTimeoutSeconds * 1000,
            }),
            ...(b.previewTimeoutSeconds !== undefined && {
              previewTimeoutMs: b.previewTimeoutSeconds * 1000,
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
