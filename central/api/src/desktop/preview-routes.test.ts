// The preview routes over a scripted site: only an agent calls them, always as itself at its own
// site (the site then refuses another agent's offer); the decision and reason are checked before
// the site is asked; the story is read once per offer and only for the agent's own tenant.
import type { Principal } from '@ccfed/common';
import type { site as siteApi } from '@ccfed/proto';
import { loadTopology } from '@ccfed/topology';
import { describe, expect, it } from 'vitest';
import type { Claims } from '../auth/token.js';
import { HttpError } from '../http/errors.js';
import type { Route, RouteContext } from '../http/route.js';
import { previewRoutes } from './preview-routes.js';
import type { SiteDesks } from './site-desks.js';

const topology = loadTopology(
  new URL('../../../../topology/example.yaml', import.meta.url).pathname,
);
const BJ_001: Claims = { sub: 'x', role: 'agent', siteId: 'beijing', agentId: 'bj-001', exp: 0 };
const TENANT: Claims = { sub: 'a', role: 'tenant', tenantId: 'acme-bank', exp: 0 };
const NOW = Date.parse('2026-12-07T13:00:00Z');

const offer = (over: Partial<siteApi.PreviewOffer> = {}): siteApi.PreviewOffer => ({
  offerId: 'offer-1',
  campaignId: 'acme-retention',
  tenantId: 'acme-bank',
  skill: 'sales',
  contactId: 'c-1',
  customerId: 'cust-1',
  callId: 'call-1',
  offeredAt: new Date(NOW),
  expiresAt: new Date(NOW + 30_000),
  ...over,
});

function routes(answer: { preview?: siteApi.PreviewOffer; refuse?: HttpError }) {
  const asked: { siteId: string; as: Principal; rpc: string; req: unknown }[] = [];
  const storyReads: string[] = [];
  const client = (siteId: string, as: Principal) =>
    ({
      getPreview: async (req: unknown) => {
        asked.push({ siteId, as, rpc: 'getPreview', req });
        return answer.preview ? { preview: answer.preview } : {};
      },
      decidePreview: async (req: unknown) => {
        asked.push({ siteId, as, rpc: 'decidePreview', req });
        if (answer.refuse) throw answer.refuse;
        return { preview: answer.preview };
      },
    }) as unknown as siteApi.AgentControlClient;
  const sites: Pick<SiteDesks, 'call'> = {
    call: (siteId, as, rpc) =>
      rpc(client(siteId, as), { metadata: undefined as never, signal: undefined as never }),
  };
  const [get, dial, skip] = previewRoutes({
    topology,
    sites,
    story: async (tenantId, customerId) => {
      storyReads.push(`${tenantId}/${customerId}`);
      return { customerId, contacts: [], complaints: 2, csat: [], churn: {} } as never;
    },
  }) as Route[];
  const call = (route: Route, claims: Claims, opts: { params?: object; body?: unknown } = {}) =>
    route
      .handle({ claims, params: opts.params ?? {}, body: opts.body, query: {} } as RouteContext<
        unknown,
        unknown
      >)
      .then(
        (json) => ({ status: 200, json: json as Record<string, any> }),
        (err: unknown) => {
          if (!(err instanceof HttpError)) throw err;
          return { status: err.status, json: { error: err.message } as Record<string, any> };
        },
      );
  return { get: get!, dial: dial!, skip: skip!, call, asked, storyReads };
}

describe('the preview routes', () => {
  it('show the agent its own preview with the customer story, read once per offer, never a number', async () => {
    const r = routes({ preview: offer() });
    const first = await r.call(r.get, BJ_001);
    expect(first).toMatchObject({
      status: 200,
      json: {
        preview: {
          offerId: 'offer-1',
          siteId: 'beijing',
          customerId: 'cust-1',
          expiresAt: new Date(NOW + 30_000).toISOString(),
          story: { customerId: 'cust-1', complaints: 2 },
        },
      },
    });
    await r.call(r.get, BJ_001);
    expect(r.storyReads).toEqual(['acme-bank/cust-1']);
    expect(r.asked.map((a) => [a.siteId, a.as, a.req])).toEqual([
      ['beijing', { kind: 'agent', site: 'beijing', agent: 'bj-001' }, { agentId: 'bj-001' }],
      ['beijing', { kind: 'agent', site: 'beijing', agent: 'bj-001' }, { agentId: 'bj-001' }],
    ]);
    const none = routes({});
    expect((await none.call(none.get, BJ_001)).json).toEqual({ preview: null });
  });

  it('reads no story of another tenant’s customer', async () => {
    const r = routes({ preview: offer({ tenantId: 'zenith-telecom' }) });
    expect((await r.call(r.get, BJ_001)).json.preview.story).toBeNull();
    expect(r.storyReads).toEqual([]);
  });

  it('decide as the agent itself; a supervisor, a bad id or reason never reach the site', async () => {
    const r = routes({ preview: offer() });
    expect((await r.call(r.dial, BJ_001, { params: { offerId: 'offer-1' } })).status).toBe(200);
    expect(
      (
        await r.call(r.skip, BJ_001, {
          params: { offerId: 'offer-1' },
          body: { reason: 'not_now' },
        })
      ).status,
    ).toBe(200);
    expect(r.asked.map((a) => [a.as, a.req])).toEqual([
      [
        { kind: 'agent', site: 'beijing', agent: 'bj-001' },
        { agentId: 'bj-001', offerId: 'offer-1', decision: 'dial', skipReason: '' },
      ],
      [
        { kind: 'agent', site: 'beijing', agent: 'bj-001' },
        { agentId: 'bj-001', offerId: 'offer-1', decision: 'skip', skipReason: 'not_now' },
      ],
    ]);
    expect((await r.call(r.dial, TENANT, { params: { offerId: 'offer-1' } })).status).toBe(403);
    expect((await r.call(r.get, TENANT)).status).toBe(403);
    expect((await r.call(r.dial, BJ_001, { params: { offerId: '../x' } })).status).toBe(400);
    expect(r.asked).toHaveLength(2);
  });

  it('pass the site’s refusals on as their status', async () => {
    for (const status of [403, 404, 409]) {
      const r = routes({ refuse: new HttpError(status, `site beijing: refused ${status}`) });
      const res = await r.call(r.dial, BJ_001, { params: { offerId: 'offer-1' } });
      expect(res).toEqual({ status, json: { error: `site beijing: refused ${status}` } });
    }
  });
});
