import type { Principal } from '@ccfed/common';
import { ClientError, Status } from 'nice-grpc';
import { describe, expect, it } from 'vitest';
import type { Claims } from '../auth/token.js';
import { HttpError } from '../http/errors.js';
import type { Route, RouteContext } from '../http/route.js';
import type { SiteMonitorsClient } from '../monitor/site-monitors.js';
import { monitorRoutes } from './monitor.js';

const MONITOR = `mon-${'a'.repeat(32)}`;
const BJ_SUP: Claims = { sub: 'bj', role: 'site', siteId: 'beijing', exp: 0 };
const ZENITH: Claims = { sub: 'z', role: 'tenant', tenantId: 'zenith-telecom', exp: 0 };

/** The routes over a site client that answers `answer` and remembers as whom it was asked. */
function routes(answer: () => Promise<unknown>) {
  const asked: { siteId: string; as: Principal }[] = [];
  const sites: SiteMonitorsClient = {
    start: async (siteId, as) => {
      asked.push({ siteId, as });
      return (await answer()) as never;
    },
    answer: async (siteId, as) => void asked.push({ siteId, as }),
    stop: async (siteId, as) => {
      asked.push({ siteId, as });
      return (await answer()) as boolean;
    },
  };
  const [start, , stop] = monitorRoutes({ sites }) as [Route, Route, Route];
  const call = (route: Route, claims: Claims, params: Record<string, string>, body?: unknown) =>
    route.handle({ claims, params, body, query: body } as RouteContext<unknown, unknown>).then(
      (json) => ({ status: 200, json: json as { error?: string } }),
      (err: unknown) => {
        if (!(err instanceof HttpError)) throw err;
        return { status: err.status, json: { error: err.message } };
      },
    );
  return { start, stop, call, asked };
}

describe('the monitoring routes', () => {
  it('ask the site as the supervisor the token stands for', async () => {
    const offer = {
      monitorId: MONITOR,
      sdpOffer: 'v=0',
      parties: ['caller', 'agent'],
      agentId: 'bj-001',
    };
    const r = routes(async () => offer);
    expect(await r.call(r.start, BJ_SUP, { callId: 'c1@h' }, { siteId: 'beijing' })).toEqual({
      status: 200,
      json: offer,
    });
    expect((await r.call(r.start, ZENITH, { callId: 'c1@h' }, { siteId: 'shanghai' })).status).toBe(
      200,
    );
    expect(r.asked).toEqual([
      { siteId: 'beijing', as: { kind: 'supervisor', site: 'beijing' } },
      {
        siteId: 'shanghai',
        as: { kind: 'supervisor', site: 'shanghai', tenant: 'zenith-telecom' },
      },
    ]);
  });

  it("turn the site's refusals into the statuses a client acts on", async () => {
    const cases: [Status, number][] = [
      [Status.INVALID_ARGUMENT, 400],
      [Status.PERMISSION_DENIED, 403],
      [Status.NOT_FOUND, 404],
      [Status.FAILED_PRECONDITION, 409],
      [Status.RESOURCE_EXHAUSTED, 429],
      [Status.UNAVAILABLE, 502],
    ];
    for (const [code, status] of cases) {
      const r = routes(async () => {
        throw new ClientError('/ccfed.site.v1.AgentControl/StopMonitor', code, `site says ${code}`);
      });
      expect(await r.call(r.stop, BJ_SUP, { monitorId: MONITOR }, { siteId: 'beijing' })).toEqual({
        status,
        json: { error: `site says ${code}` },
      });
    }
  });

  it('refuse a malformed monitor id and another site before asking any site', async () => {
    const r = routes(async () => true);
    expect(
      (await r.call(r.stop, BJ_SUP, { monitorId: 'mon-1' }, { siteId: 'beijing' })).status,
    ).toBe(400);
    expect(
      (await r.call(r.stop, BJ_SUP, { monitorId: MONITOR }, { siteId: 'shanghai' })).json.error,
    ).toMatch(/may not listen to calls at site shanghai/);
    expect(r.asked).toEqual([]);
  });
});
