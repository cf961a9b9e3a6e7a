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
  source: 'csv',
  sourceRef: '',
  unresolvable: 0,
});

/** The routes over a site client that answers `answer(siteId)` and remembers what it was asked. */
function routes(answer: (siteId: string) => Promise<siteApi.CampaignProgress[]>) {
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
  const [create, start, , list, one] = campaignRoutes({ topology, sites }) as Route[];
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
  return { create: create!, start: start!, list: list!, one: one!, call, asked };
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
