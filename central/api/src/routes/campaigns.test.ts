import type { Principal } from '@ccfed/common';
import type { site as siteApi } from '@ccfed/proto';
import { loadTopology } from '@ccfed/topology';
import { ClientError, Status } from 'nice-grpc';
import { describe, expect, it } from 'vitest';
import type { Claims } from '../auth/token.js';
import type { SiteCampaignsClient } from '../campaigns/site-campaigns.js';
import { HttpError } from '../http/errors.js';
import type { Route, RouteContext } from '../http/route.js';
import { campaignRoutes } from './campaigns.js';

const topology = loadTopology(
  new URL('../../../../topology/example.yaml', import.meta.url).pathname,
);
const HQ: Claims = { sub: 'hq', role: 'hq', exp: 0 };
const BJ_SUP: Claims = { sub: 'bj', role: 'site', siteId: 'beijing', exp: 0 };
const ACME: Claims = { sub: 'a', role: 'tenant', tenantId: 'acme-bank', exp: 0 };
const AGENT: Claims = { sub: 'x', role: 'agent', siteId: 'beijing', agentId: 'bj-001', exp: 0 };

const progressOf = (campaignId: string, tenantId = 'acme-bank'): siteApi.CampaignProgress => ({
  campaignId,
  tenantId,
  skill: 'sales',
  mode: 'progressive',
  status: 'paused',
  contacts: 2,
  dialed: 0,
  connected: 0,
  abandoned: 0,
  abandonRate24h: 0,
  outcomes: {},
  standing: { pending: 2 },
  held: '',
  previewsOffered: 0,
  previewsSkipped: 0,
  previewsReleased: 0,
  source: 'csv',
  sourceRef: '',
  unresolvable: 0,
});

/**
 * The routes over a site client that answers `answer(siteId)` and remembers what it was asked,
 * and a ClickHouse that answers every query with `rows` (the real one is the integration test's:
 * tests/campaigns/campaign-lists.test.ts) and remembers the SQL.
 */
function routes(
  answer: (siteId: string) => Promise<siteApi.CampaignProgress[]>,
  rows: unknown[] = [],
) {
  const queries: string[] = [];
  const asked: { siteId: string; as: Principal; req?: unknown }[] = [];
  const first = async (siteId: string) => (await answer(siteId))[0]!;
  const sites: SiteCampaignsClient = {
    create: async (siteId, as, req) => {
      asked.push({ siteId, as, req });
      return first(siteId);
    },
    start: async (siteId, as, campaignId) => {
      asked.push({ siteId, as, req: campaignId });
      return first(siteId);
    },
    pause: async (siteId, as) => {
      asked.push({ siteId, as });
      return first(siteId);
    },
    list: async (siteId, as) => {
      asked.push({ siteId, as });
      return answer(siteId);
    },
  };
  const [create, start, , list, one] = campaignRoutes({
    topology,
    sites,
    runQuery: async (q) => {
      queries.push(q.text);
      return rows;
    },
    clock: { now: () => Date.parse('2026-12-07T12:00:00Z') },
  }) as Route[];
  const call = (
    route: Route,
    claims: Claims,
    opts: { params?: Record<string, string>; body?: unknown; query?: unknown },
  ) =>
    route
      .handle({
        claims,
        params: opts.params ?? {},
        body: opts.body,
        query: opts.query ?? {},
      } as RouteContext<unknown, unknown>)
      .then(
        (json) => ({ status: 200, json: json as Record<string, unknown> }),
        (err: unknown) => {
          if (!(err instanceof HttpError)) throw err;
          return { status: err.status, json: { error: err.message } as Record<string, unknown> };
        },
      );
  return { create: create!, start: start!, list: list!, one: one!, call, asked, queries };
}

const body = {
  siteId: 'beijing',
  campaignId: 'acme-retention',
  skill: 'sales',
  mode: 'progressive',
  contactsCsv: 'customer_id,number,time_zone\nc-1,+447700900001,Europe/London\n',
  window: { start: '09:30', end: '20:00' },
  ringTimeoutSeconds: 20,
};

describe('the campaign routes', () => {
  it('create a tenant client’s campaign for its own tenant only, asking the site as its supervisor', async () => {
    const r = routes(async () => [progressOf('acme-retention')]);
    const ok = await r.call(r.create, ACME, { body });
    expect(ok).toMatchObject({
      status: 200,
      json: { campaignId: 'acme-retention', siteId: 'beijing', status: 'paused', held: null },
    });
    expect(r.asked[0]).toEqual({
      siteId: 'beijing',
      as: { kind: 'supervisor', site: 'beijing', tenant: 'acme-bank' },
      req: {
        campaignId: 'acme-retention',
        tenantId: 'acme-bank',
        skill: 'sales',
        mode: 'progressive',
        contactsCsv: body.contactsCsv,
        source: 'csv',
        customerIds: [],
        sourceRef: '',
        dnc: [],
        windowStartMinute: 570,
        windowEndMinute: 1200,
        ringTimeoutMs: 20_000,
      },
    });
    const other = await r.call(r.create, ACME, { body: { ...body, tenantId: 'zenith-telecom' } });
    expect(other.status).toBe(403);
    expect((await r.call(r.create, HQ, { body })).json.error).toMatch(/names its tenant/);
    expect(r.asked).toHaveLength(1);
  });

  it('create a churn campaign from the tenant’s own call-back list, sending the site customer ids and the run it came from', async () => {
    const churnRow = (customer: string, model = 'acme-v3') => ({
      tenant_id: 'acme-bank',
      customer_id: customer,
      site_id: 'beijing',
      value: 1000,
      repeat_contacts: 1,
      complaint: 0,
      abandons: 0,
      long_waits: 0,
      low_csat: 0,
      cancellation_intent: 1,
      risk: 0.8,
      priority: 800,
      model_version: model,
      reasons: [],
      retention_group: 'callback',
      scored_at_s: Date.parse('2026-12-07T02:00:00Z') / 1000,
    });
    const r = routes(
      async () => [progressOf('acme-retention')],
      [churnRow('c-7'), churnRow('c-2')],
    );
    const { contactsCsv: _csv, window: _w, ...churnBody } = body;
    const ok = await r.call(r.create, HQ, {
      body: { ...churnBody, tenantId: 'acme-bank', source: 'churn', listSize: 20 },
    });
    expect(ok.status).toBe(200);
    expect(r.asked[0]).toMatchObject({
      as: { kind: 'supervisor', site: 'beijing' },
      req: {
        tenantId: 'acme-bank',
        source: 'churn',
        contactsCsv: '',
        customerIds: ['c-7', 'c-2'],
        sourceRef: 'scoring run 2026-12-07T02:00:00.000Z, model acme-v3',
      },
    });
    // read as the campaign's tenant, even for HQ, control group never on the list
    expect(r.queries[0]).toContain("`tenant_id` = 'acme-bank'");
    expect(r.queries[0]).toContain("retention_group != 'control'");
    expect(r.queries[0]).toContain('LIMIT 20');

    // a site's supervisor: the customers its site last handled only
    await r.call(r.create, BJ_SUP, {
      body: { ...churnBody, tenantId: 'acme-bank', source: 'churn' },
    });
    expect(r.queries[1]).toContain("site_id = 'beijing'");
  });

  it('create a survey campaign from the follow-up sample: major and critical complaints always drawn', async () => {
    const wrapUp = (call: string, customer: string, severity: number) => ({
      call_id: call,
      customer,
      recorded: 1,
      severity,
      at_s: 1_800_000_000,
    });
    const r = routes(
      async () => [progressOf('acme-followup')],
      [wrapUp('k1', 'c-1', 4), wrapUp('k2', 'c-2', 1), wrapUp('k3', 'c-3', 3)],
    );
    const { contactsCsv: _csv, ...surveyBody } = body;
    const ok = await r.call(r.create, ACME, {
      body: { ...surveyBody, source: 'survey', sample: { baseRate: 0, days: 3 } },
    });
    expect(ok.status).toBe(200);
    expect(r.asked[0]!.req).toMatchObject({
      source: 'survey',
      customerIds: ['c-1', 'c-3'],
      sourceRef: 'wrap-ups 2026-12-04T12:00:00.000Z to 2026-12-07T12:00:00.000Z, base rate 0',
    });
    expect(r.queries[0]).toContain("tenant_id = 'acme-bank'");
  });

  it('refuse a list that does not fit its source, and an empty churn list or sample, before asking the site', async () => {
    const r = routes(async () => [progressOf('acme-retention')]);
    const { contactsCsv: _csv, ...noCsv } = body;
    const cases: [unknown, number, RegExp][] = [
      [{ ...noCsv }, 400, /contactsCsv: a csv list needs its CSV/],
      [{ ...body, source: 'churn' }, 400, /contactsCsv: a churn list is read by HQ/],
      [{ ...body, listSize: 5 }, 400, /listSize: churn and survey lists only/],
      [{ ...noCsv, source: 'churn', sample: { baseRate: 0.1 } }, 400, /sample: survey lists only/],
      [{ ...noCsv, source: 'churn' }, 409, /churn call-back list of acme-bank is empty/],
      [
        { ...noCsv, source: 'survey' },
        409,
        /survey follow-up sample of acme-bank over the last 7 days is empty/,
      ],
    ];
    for (const [b, status, error] of cases) {
      const res = await r.call(r.create, ACME, { body: b });
      expect(res.status, JSON.stringify(b)).toBe(status);
      expect(res.json.error).toMatch(error);
    }
    expect(r.asked).toEqual([]);
  });

  it('refuse another site’s supervisor, an agent and an unknown site before asking any site', async () => {
    const r = routes(async () => [progressOf('acme-retention')]);
    const shanghai = { siteId: 'shanghai' };
    expect(
      (await r.call(r.start, BJ_SUP, { params: { campaignId: 'acme-retention' }, body: shanghai }))
        .json.error,
    ).toMatch(/may not manage campaigns at site shanghai/);
    expect(
      (await r.call(r.start, AGENT, { params: { campaignId: 'acme-retention' }, body: shanghai }))
        .status,
    ).toBe(403);
    expect(
      (await r.call(r.start, HQ, { params: { campaignId: 'a' }, body: { siteId: 'atlantis' } }))
        .status,
    ).toBe(400);
    expect(
      (await r.call(r.start, HQ, { params: { campaignId: '../x' }, body: shanghai })).status,
    ).toBe(400);
    expect(r.asked).toEqual([]);
  });

  it("turn the site's refusals into the statuses a client acts on", async () => {
    const cases: [Status, number][] = [
      [Status.INVALID_ARGUMENT, 400],
      [Status.PERMISSION_DENIED, 403],
      [Status.NOT_FOUND, 404],
      [Status.ALREADY_EXISTS, 409],
      [Status.UNAVAILABLE, 502],
    ];
    for (const [code, status] of cases) {
      const r = routes(async () => {
        throw new ClientError('/ccfed.site.v1.AgentControl/CreateCampaign', code, `site: ${code}`);
      });
      expect(await r.call(r.create, HQ, { body: { ...body, tenantId: 'acme-bank' } })).toEqual({
        status,
        json: { error: `site: ${code}` },
      });
    }
  });

  it('list every site’s campaigns the caller may see, naming the sites that did not answer', async () => {
    const r = routes(async (siteId) => {
      if (siteId === 'guangzhou')
        throw new ClientError('/x', Status.UNAVAILABLE, 'guangzhou is away');
      return siteId === 'beijing' ? [progressOf('acme-retention')] : [];
    });
    const all = await r.call(r.list, ACME, {});
    expect(all.json).toMatchObject({
      campaigns: [{ campaignId: 'acme-retention', siteId: 'beijing' }],
      unreachable: ['guangzhou'],
    });
    expect(r.asked.map((a) => a.as)).toEqual(
      ['shanghai', 'beijing', 'guangzhou'].map((site) => ({
        kind: 'supervisor',
        site,
        tenant: 'acme-bank',
      })),
    );
    const missing = await r.call(r.one, ACME, {
      params: { campaignId: 'zenith-winback' },
      query: { site: 'beijing' },
    });
    expect(missing.status).toBe(404);
  });
});
