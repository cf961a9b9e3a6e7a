// The HTTP API against a real ClickHouse 18.16, started in-process on a free port: every route
// needs a valid token, each role sees only its own site or tenant (and is refused, not silently
// emptied, when it names another), hostile filter values are refused or harmless, and the OpenAPI
// document describes exactly the routes the server serves.
import type { ClickHouseClient } from '@clickhouse/client';
import { createApi } from '@ccfed/api/app';
import { hashPassword } from '@ccfed/api/auth/password';
import { issueToken, type Principal } from '@ccfed/api/auth/token';
import type { User } from '@ccfed/api/auth/users';
import { clickhouseRunner } from '@ccfed/api/clickhouse';
import type { Route } from '@ccfed/api/http/route';
import type { ApiHttpServer } from '@ccfed/api/http/server';
import { recordingsQuery } from '@ccfed/api/queries/recordings';
import { routeDecisionsQuery } from '@ccfed/api/queries/route-decisions';
import { siteStatusQuery } from '@ccfed/api/queries/site-status';
import { churnModelRowQuery } from '@ccfed/analytics/churn-modeling';
import { runChurnScoring } from '@ccfed/analytics/churn-scoring';
import { refreshCrossSellRulesQuery } from '@ccfed/analytics/cross-sell';
import { formatDateTime, ManualClock, silentLogger } from '@ccfed/common';
import { assertRunsOnCurrentClickHouse, freePort, migratedDatabaseSetup } from '@ccfed/services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clickhouseClient, freshDatabase, rows } from '../support/engines.js';
import {
  holdingsOnlyCustomer,
  insertFixture,
  LIVE,
  NOW,
  RAW_TABLES,
  RECORDINGS,
  recordingIdOf,
  SITES,
  TENANTS,
  type SiteId,
  type TenantId,
} from './fixture.js';

const SECRET = 'api-test-secret-0123456789-abcdefghijklmnop';
const PASSWORD = 'open sesame';

let database: string;
let client: ClickHouseClient;
/** What the API reads with: its own read-only user, as in production. */
let apiClient: ClickHouseClient;
let server: ApiHttpServer;
let routes: readonly Route[];
let base: string;

const token = (p: Principal, opts: { now?: number; secret?: string } = {}) =>
  issueToken(p, { secret: opts.secret ?? SECRET, ttlSeconds: 3600, now: opts.now ?? NOW });
const HQ = token({ sub: 'hq', role: 'hq' });
const siteToken = (siteId: SiteId) => token({ sub: `${siteId}.sup`, role: 'site', siteId });
const tenantToken = (tenantId: TenantId) =>
  token({ sub: `${tenantId}.client`, role: 'tenant', tenantId });

interface Answer {
  readonly status: number;
  readonly body: any;
}

async function get(
  path: string,
  query: Record<string, string | string[]>,
  bearer?: string,
): Promise<Answer> {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    for (const one of Array.isArray(v) ? v : [v]) params.append(k, one);
  }
  const qs = params.toString();
  const res = await fetch(`${base}${path}${qs ? `?${qs}` : ''}`, {
    headers: bearer === undefined ? {} : { authorization: `Bearer ${bearer}` },
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** A request with `method` and no query or body, as `bearer` when given. */
async function ask(method: string, path: string, bearer?: string): Promise<Answer> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: bearer === undefined ? {} : { authorization: `Bearer ${bearer}` },
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function post(path: string, body: unknown, bearer?: string): Promise<Answer> {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(bearer === undefined ? {} : { authorization: `Bearer ${bearer}` }),
    },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

const PERIOD = { from: '2026-03-02T09:00:00Z', to: '2026-03-02T10:00:00Z' };
const CHURN_SCORED_AT = '2026-03-02T23:00:00.000Z';

/**
 * Every data endpoint: a valid request, which sites and tenant a row belongs to (when its rows
 * carry them), and how a request names a site or tenant explicitly.
 */
interface Endpoint {
  readonly path: string;
  readonly query: Record<string, string>;
  readonly sitesOf?: (row: any) => string[];
  readonly tenantOf?: (row: any) => string | null;
  readonly askSite?: (site: string) => Record<string, string>;
  readonly askTenant?: (tenant: string) => Record<string, string>;
}

const ENDPOINTS: readonly Endpoint[] = [
  {
    path: '/api/v1/kpis',
    query: { ...PERIOD, groupBy: 'site,tenant' },
    sitesOf: (r) => [r.site],
    tenantOf: (r) => r.tenant,
    askSite: (s) => ({ ...PERIOD, groupBy: 'site,tenant', sites: s }),
    askTenant: (t) => ({ ...PERIOD, groupBy: 'site,tenant', tenants: t }),
  },
  {
    path: '/api/v1/sites/status',
    query: {},
    sitesOf: (r) => [r.siteId],
    tenantOf: (r) => r.tenantId,
    askSite: (s) => ({ sites: s }),
    askTenant: (t) => ({ tenants: t }),
  },
  {
    path: '/api/v1/routing/decisions',
    query: PERIOD,
    sitesOf: (r) => [r.originSiteId, r.targetSiteId].filter(Boolean),
    tenantOf: (r) => r.tenantId,
    askSite: (s) => ({ ...PERIOD, site: s }),
  },
  {
    path: '/api/v1/churn/callbacks',
    query: { asOf: '2026-03-03T00:00:00Z' },
    sitesOf: (r) => [r.site_id],
    tenantOf: (r) => r.tenant_id,
    askSite: (s) => ({ asOf: '2026-03-03T00:00:00Z', siteId: s }),
  },
  {
    // Rules are counted per tenant over all its customers: not bound to a site.
    path: '/api/v1/cross-sell/rules',
    query: {},
    tenantOf: (r) => r.tenant_id,
  },
  {
    path: '/api/v1/cross-sell/next-best-offer',
    query: { customerId: holdingsOnlyCustomer('acme') },
    tenantOf: (r) => r.tenant_id,
  },
  {
    path: '/api/v1/recordings',
    query: PERIOD,
    sitesOf: (r) => [r.siteId],
    tenantOf: (r) => r.tenantId,
    askSite: (s) => ({ ...PERIOD, site: s }),
  },
  {
    // Models belong to tenants: a site supervisor sees every tenant's.
    path: '/api/v1/churn/models',
    query: { asOf: '2026-03-03T00:00:00Z' },
    tenantOf: (r) => r.tenant_id,
  },
  {
    path: '/api/v1/retention/uplift',
    query: { days: '30' },
    sitesOf: (r) => [r.site_id],
    tenantOf: (r) => r.tenant_id,
  },
  {
    path: '/api/v1/staffing',
    query: PERIOD,
    sitesOf: (r) => [r.site_id],
    tenantOf: (r) => r.tenant_id,
    askSite: (s) => ({ ...PERIOD, siteId: s }),
  },
  {
    // Grouped by site: the key is the site.
    path: '/api/v1/satisfaction',
    query: { ...PERIOD, by: 'site' },
    sitesOf: (r) => [r.key],
  },
];

beforeAll(async () => {
  ({ database, client } = await freshDatabase());
  apiClient = clickhouseClient('api', database);
  await insertFixture(client);
  // The next best offer reads rules mined ahead of time, as production refreshes them.
  await client.command({
    query: refreshCrossSellRulesQuery({ computedAt: new Date(NOW - 3600_000) }).text,
  });
  // The call-back list reads a stored scoring, as the scheduled job writes it.
  await runChurnScoring(
    {
      command: async (q) => {
        await client.command({ query: q.text });
      },
      rows: (q) => rows(client, q.text),
    },
    { scoredAt: new Date(CHURN_SCORED_AT), keep: 2 },
  );
  await insertPlanningFixture(client);
  // The cost the users file requires (a cheaper hash is refused at start); one hash for all.
  const passwordHash = await hashPassword(PASSWORD);
  const users = new Map<string, User>([
    ['li.wei', { username: 'li.wei', passwordHash, role: 'hq' }],
    [
      'gz.sup',
      {
        username: 'gz.sup',
        passwordHash,
        role: 'site',
        siteId: 'guangzhou',
      },
    ],
    [
      'acme.client',
      {
        username: 'acme.client',
        passwordHash,
        role: 'tenant',
        tenantId: 'acme',
      },
    ],
  ]);
  ({ server, routes } = createApi({
    runQuery: clickhouseRunner(apiClient),
    users,
    secret: SECRET,
    tokenTtlSeconds: 3600,
    clock: new ManualClock(NOW),
    log: silentLogger(),
  }));
  const port = await server.listen(await freePort(), '127.0.0.1');
  base = `http://127.0.0.1:${port}`;
});

/**
 * What the scheduled modelling jobs store, for both tenants at both sites: each tenant's churn
 * model in the stored run, customers in the retention study (entered 60 days before NOW, both
 * groups), and a staffing plan of NOW's hour.
 */
async function insertPlanningFixture(db: ClickHouseClient): Promise<void> {
  const scoredAt = new Date(CHURN_SCORED_AT);
  for (const tenant of TENANTS)
    await db.command({
      query: churnModelRowQuery({
        scoredAt,
        labelDays: 60,
        controlShare: 0.1,
        result: {
          tenant_id: tenant,
          decision: 'fallback',
          reason:
            'too little history: the training snapshot has 2 customers and 0 churners (needs 1000 and 100)',
          library: 'x',
          train: { customers: 2, churners: 0 },
        },
      }).text,
    });
  const entered = formatDateTime(new Date(NOW - 60 * 86_400_000));
  await db.insert({
    table: 'retention_cohort',
    format: 'JSONEachRow',
    values: TENANTS.flatMap((tenant) =>
      SITES.flatMap((site) =>
        ['callback', 'control'].map((group) => ({
          tenant_id: tenant,
          customer_id: `${tenant}-${site}-${group}`,
          site_id: site,
          entered_at: entered,
          retention_group: group,
          risk: 0.6,
          model_version: 'hand-set-v1',
          keep_first: 1,
        })),
      ),
    ),
  });
  const runAt = formatDateTime(new Date(NOW - 10 * 3600_000));
  await db.insert({
    table: 'staffing_runs',
    format: 'JSONEachRow',
    values: [{ run_at: runAt, horizon_start: runAt, horizon_end: runAt, finished_at: runAt }],
  });
  await db.insert({
    table: 'staffing_plan',
    format: 'JSONEachRow',
    values: TENANTS.flatMap((tenant) =>
      SITES.flatMap((site) =>
        [0, 1, 2, 3].map((q) => ({
          run_at: runAt,
          tenant_id: tenant,
          site_id: site,
          skill: 'billing',
          bucket: formatDateTime(new Date(Date.parse(PERIOD.from) + q * 900_000)),
          offered: 12,
          aht_s: 200,
          patience_s: 120,
          sl_threshold_s: 20,
          sl_target: 0.8,
          required_agents: 4,
          expected_sl: 0.83,
        })),
      ),
    ),
  });
}

afterAll(async () => {
  await server?.close();
  await client?.command({ query: `DROP DATABASE IF EXISTS ${database}` });
  await client?.close();
  await apiClient?.close();
});

describe('authentication', () => {
  const authRoutes = () => routes.filter((r) => r.auth);

  it('covers every data endpoint of the route table, and only /session and the document are open', () => {
    expect(routes.filter((r) => !r.auth).map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /api/v1/session',
      'GET /api/v1/openapi.json',
    ]);
    const served = authRoutes().map((r) => r.path);
    expect(served).toEqual(expect.arrayContaining(ENDPOINTS.map((e) => e.path)));
    expect(served.filter((p) => !ENDPOINTS.some((e) => e.path === p)).sort()).toEqual([
      '/api/v1/me',
      '/api/v1/recordings/playback',
    ]);
  });

  it('answers 401 with a JSON error on every route without a token', async () => {
    for (const r of authRoutes()) {
      const res = await ask(r.method, r.path);
      expect(res.status, r.path).toBe(401);
      expect(res.body.error, r.path).toMatch(/Bearer/);
    }
  });

  it('answers 401 to forged, tampered, expired and malformed tokens on every route', async () => {
    const [h, p, s] = siteToken('guangzhou').split('.');
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString());
    const asHq = Buffer.from(JSON.stringify({ ...claims, role: 'hq' })).toString('base64url');
    const bad: Record<string, string> = {
      'signed with another secret': token(
        { sub: 'x', role: 'hq' },
        { secret: `${SECRET}-not-the-server's` },
      ),
      'payload changed to hq': `${h}.${asHq}.${s}`,
      'alg none': `${Buffer.from('{"alg":"none"}').toString('base64url')}.${asHq}.`,
      expired: token({ sub: 'x', role: 'hq' }, { now: NOW - 3601_000 }),
      garbage: 'not-a-token',
    };
    for (const r of authRoutes()) {
      for (const [what, t] of Object.entries(bad)) {
        const res = await ask(r.method, r.path, t);
        expect(res.status, `${r.path} with ${what}`).toBe(401);
        expect(typeof res.body.error).toBe('string');
      }
      const basic = await fetch(`${base}${r.path}`, {
        method: r.method,
        headers: { authorization: `Basic ${HQ}` },
      });
      expect(basic.status).toBe(401);
    }
  });

  it('opens a session for a known user with the right password, and the token works', async () => {
    const ok = await post('/api/v1/session', { username: 'gz.sup', password: PASSWORD });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ role: 'site', siteId: 'guangzhou' });
    const me = await get('/api/v1/me', {}, ok.body.token);
    expect(me).toEqual({
      status: 200,
      body: {
        username: 'gz.sup',
        role: 'site',
        siteId: 'guangzhou',
        expiresAt: new Date(NOW + 3600_000).toISOString(),
      },
    });
  });

  it('refuses a wrong password and an unknown user alike, and a malformed body with 400', async () => {
    for (const body of [
      { username: 'gz.sup', password: 'wrong' },
      { username: 'nobody', password: PASSWORD },
      { username: "' OR 1=1 --", password: "' OR 1=1 --" },
    ]) {
      const res = await post('/api/v1/session', body);
      expect(res).toEqual({ status: 401, body: { error: 'invalid username or password' } });
    }
    for (const body of [
      {},
      { username: 'gz.sup' },
      ['gz.sup', PASSWORD],
      { username: 1, password: 2 },
    ]) {
      expect((await post('/api/v1/session', body)).status).toBe(400);
    }
    const big = await post('/api/v1/session', { username: 'gz.sup', password: 'x'.repeat(20_000) });
    expect(big.status).toBe(413);
  });

  it('tells each role who it is', async () => {
    expect((await get('/api/v1/me', {}, tenantToken('acme'))).body).toMatchObject({
      role: 'tenant',
      tenantId: 'acme',
    });
    expect((await get('/api/v1/me', {}, HQ)).body).toMatchObject({ role: 'hq' });
  });
});

describe('scope: what each role sees', () => {
  it('HQ sees every site and every tenant on every endpoint', async () => {
    for (const e of ENDPOINTS) {
      const res = await get(e.path, e.query, HQ);
      expect(res.status, e.path).toBe(200);
      expect(res.body.rows.length, e.path).toBeGreaterThan(0);
      if (e.sitesOf) {
        const seen = new Set(res.body.rows.flatMap(e.sitesOf));
        expect([...seen].sort(), e.path).toEqual([...SITES].sort());
      }
      // Site totals carry no tenant (see the live status test); one customer has one offer.
      const perTenant = !['/api/v1/sites/status', '/api/v1/cross-sell/next-best-offer'].includes(
        e.path,
      );
      if (e.tenantOf && perTenant) {
        expect(new Set(res.body.rows.map(e.tenantOf)), e.path).toEqual(new Set(TENANTS));
      }
    }
  });

  for (const tenant of TENANTS) {
    it(`tenant ${tenant} never gets another tenant's row, and asking for one is refused with 403`, async () => {
      const other = TENANTS.find((t) => t !== tenant)!;
      for (const e of ENDPOINTS) {
        const res = await get(e.path, e.query, tenantToken(tenant));
        expect(res.status, e.path).toBe(200);
        if (e.tenantOf) {
          for (const row of res.body.rows) expect(e.tenantOf(row), e.path).toBe(tenant);
        }
        if (e.askTenant) {
          const refused = await get(e.path, e.askTenant(other), tenantToken(tenant));
          expect(refused.status, e.path).toBe(403);
          expect(refused.body.error).toContain(`may not read tenant ${other}`);
          const both = await get(e.path, e.askTenant(`${tenant},${other}`), tenantToken(tenant));
          expect(both.status, e.path).toBe(403);
          expect((await get(e.path, e.askTenant(tenant), tenantToken(tenant))).status).toBe(200);
        }
      }
    });

    it(`tenant ${tenant} gets the next best offer of its own customer, nothing for another's`, async () => {
      const other = TENANTS.find((t) => t !== tenant)!;
      const own = await get(
        '/api/v1/cross-sell/next-best-offer',
        { customerId: holdingsOnlyCustomer(tenant) },
        tenantToken(tenant),
      );
      expect(own.body.rows).toEqual([
        expect.objectContaining({ tenant_id: tenant, product_id: `${tenant}-loan` }),
      ]);
      const foreign = await get(
        '/api/v1/cross-sell/next-best-offer',
        { customerId: holdingsOnlyCustomer(other) },
        tenantToken(tenant),
      );
      expect(foreign).toEqual({ status: 200, body: { rows: [] } });
      const hq = await get(
        '/api/v1/cross-sell/next-best-offer',
        { customerId: holdingsOnlyCustomer(other) },
        HQ,
      );
      expect(hq.body.rows).toHaveLength(1);
    });
  }

  for (const site of SITES) {
    it(`the supervisor of ${site} never gets another site's row, and asking for one is refused with 403`, async () => {
      const other = SITES.find((s) => s !== site)!;
      for (const e of ENDPOINTS) {
        const res = await get(e.path, e.query, siteToken(site));
        expect(res.status, e.path).toBe(200);
        if (e.sitesOf) {
          for (const row of res.body.rows) expect(e.sitesOf(row), e.path).toContain(site);
        }
        if (e.askSite) {
          const refused = await get(e.path, e.askSite(other), siteToken(site));
          expect(refused.status, e.path).toBe(403);
          expect(refused.body.error).toBe(
            `the supervisor of site ${site} may not read site ${other}`,
          );
          const both = await get(e.path, e.askSite(`${site},${other}`), siteToken(site));
          expect([400, 403], e.path).toContain(both.status);
          expect((await get(e.path, e.askSite(site), siteToken(site))).status).toBe(200);
        }
      }
    });
  }

  it('scoped KPI rows are exactly HQ rows of that site or tenant', async () => {
    const all = (await get('/api/v1/kpis', ENDPOINTS[0]!.query, HQ)).body.rows as any[];
    expect(all).toHaveLength(4);
    const acme = (await get('/api/v1/kpis', ENDPOINTS[0]!.query, tenantToken('acme'))).body.rows;
    expect(acme).toEqual(all.filter((r) => r.tenant === 'acme'));
    const cd = (await get('/api/v1/kpis', ENDPOINTS[0]!.query, siteToken('chengdu'))).body.rows;
    expect(cd).toEqual(all.filter((r) => r.site === 'chengdu'));
  });

  it('live status: the newest snapshot of the window; tenants get their own figures, never site totals', async () => {
    const hq = (await get('/api/v1/sites/status', {}, HQ)).body.rows;
    expect(
      hq.map((r: any) => [
        r.siteId,
        r.tenantId,
        r.queued,
        r.oldestWaitMs,
        r.agentsStaffed,
        r.expectedWaitMs,
        r.ageMs,
      ]),
    ).toEqual([
      [
        'chengdu',
        null,
        LIVE.chengdu.queued,
        LIVE.chengdu.oldest,
        LIVE.chengdu.staffed,
        LIVE.chengdu.ewt,
        2000,
      ],
      [
        'guangzhou',
        null,
        LIVE.guangzhou.queued,
        LIVE.guangzhou.oldest,
        LIVE.guangzhou.staffed,
        LIVE.guangzhou.ewt,
        2000,
      ],
    ]);
    expect(hq.map((r: any) => r.acceptingOverflow)).toEqual([false, true]);

    const acme = (await get('/api/v1/sites/status', {}, tenantToken('acme'))).body.rows;
    expect(
      acme.map((r: any) => [r.siteId, r.tenantId, r.queued, r.oldestWaitMs, r.expectedWaitMs]),
    ).toEqual([
      ['chengdu', 'acme', LIVE.chengdu.tenants[0], null, LIVE.chengdu.ewt / 2],
      ['guangzhou', 'acme', LIVE.guangzhou.tenants[0], null, LIVE.guangzhou.ewt / 2],
    ]);
    const hqPerTenant = (await get('/api/v1/sites/status', { tenants: 'acme,globex' }, HQ)).body
      .rows;
    expect(hqPerTenant.filter((r: any) => r.tenantId === 'acme')).toEqual(acme);
    expect(hqPerTenant).toHaveLength(4);
  });

  it('routing decisions: a site sees those from or to it, with the alternatives zipped', async () => {
    const gz = (await get('/api/v1/routing/decisions', PERIOD, siteToken('guangzhou'))).body.rows;
    expect(gz.map((r: any) => r.decisionId)).toEqual(['d1', 'd3']);
    expect(gz[1]).toMatchObject({
      originSiteId: 'chengdu',
      targetSiteId: 'guangzhou',
      verdict: 'overflow',
    });
    expect(gz[0].alternatives).toEqual([
      {
        siteId: 'guangzhou',
        eligible: true,
        excludedReason: null,
        expectedWaitMs: 20_000,
        handicapMs: 5_000,
        stateAgeMs: 300,
      },
      {
        siteId: 'chengdu',
        eligible: false,
        excludedReason: 'draining',
        expectedWaitMs: 300_000,
        handicapMs: 5_000,
        stateAgeMs: 1200,
      },
    ]);
    const byCall = await get('/api/v1/routing/decisions', { callId: 'globex-chengdu-route-3' }, HQ);
    expect(byCall.body.rows.map((r: any) => r.decisionId)).toEqual(['d3']);
    const foreignCall = await get(
      '/api/v1/routing/decisions',
      { callId: 'globex-chengdu-route-3' },
      tenantToken('acme'),
    );
    expect(foreignCall.body).toEqual({ rows: [] });
  });

  it('satisfaction of a tenant counts only its own surveys', async () => {
    const count = async (bearer: string) =>
      (
        (
          await get(
            '/api/v1/satisfaction',
            ENDPOINTS.find((e) => e.path === '/api/v1/satisfaction')!.query,
            bearer,
          )
        ).body.rows as any[]
      ).reduce((n, r) => n + r.responses, 0);
    expect(await count(HQ)).toBe(4);
    expect(await count(tenantToken('acme'))).toBe(2);
    expect(await count(siteToken('guangzhou'))).toBe(2);
  });
});

describe('recordings', () => {
  it('lists what each role may hear: kept, deleted (when and why) and failed (why)', async () => {
    const all = (await get('/api/v1/recordings', PERIOD, HQ)).body.rows as any[];
    expect(all.map((r) => [r.recordingId, r.status])).toEqual(
      expect.arrayContaining([
        [RECORDINGS.deleted, 'deleted'],
        [RECORDINGS.failed, 'failed'],
        [recordingIdOf(2), 'available'],
      ]),
    );
    expect(all).toHaveLength(5);
    const deleted = all.find((r) => r.recordingId === RECORDINGS.deleted);
    expect(deleted).toMatchObject({
      tenantId: 'acme',
      siteId: 'guangzhou',
      deletedAt: '2026-03-02T09:50:00.000Z',
      deletedReason: 'retention',
    });
    expect(all.find((r) => r.recordingId === recordingIdOf(2))).toEqual({
      recordingId: recordingIdOf(2),
      tenantId: 'acme',
      siteId: 'chengdu',
      callId: 'acme-chengdu-1',
      skill: 'billing',
      agentId: 'chengdu-agent-1',
      startedAt: '2026-03-02T09:10:00.500Z',
      status: 'available',
      durationMs: 61_000,
      bytes: 1_952_044,
      contentType: 'audio/wav',
      paused: [{ offsetMs: 20_000, durationMs: 9_000, pausedBy: 'agent:chengdu/chengdu-agent-1' }],
      keyId: 'k1/acme',
      expiresAt: '2026-03-02T23:10:00.000Z',
      deletedAt: null,
      deletedReason: null,
      failedReason: null,
    });
    expect(all.find((r) => r.recordingId === RECORDINGS.failed)).toMatchObject({
      status: 'failed',
      failedReason: 'rtpengine did not answer',
      expiresAt: null,
    });
    const acme = (await get('/api/v1/recordings', PERIOD, tenantToken('acme'))).body.rows as any[];
    expect(new Set(acme.map((r) => r.tenantId))).toEqual(new Set(['acme']));
    expect(acme).toHaveLength(2);
    expect(
      (await get('/api/v1/recordings', { ...PERIOD, tenant: 'globex' }, tenantToken('acme')))
        .status,
    ).toBe(403);
    expect(
      (await get('/api/v1/recordings', { callId: 'globex-chengdu-1' }, HQ)).body.rows.map(
        (r: any) => r.recordingId,
      ),
    ).toEqual(expect.arrayContaining([RECORDINGS.failed, recordingIdOf(4)]));
  });

  it('hands a playback URL to whoever may hear a recording, 403 to others, 404 once it is gone', async () => {
    const playback = (recordingId: string, bearer: string) =>
      post('/api/v1/recordings/playback', { recordingId }, bearer);
    // recordingIdOf: 1 acme@guangzhou (deleted), 2 acme@chengdu, 3 globex@guangzhou, 4 globex@chengdu.
    const own = await playback(recordingIdOf(2), tenantToken('acme'));
    expect(own.status).toBe(200);
    expect(own.body.url).toMatch(
      /^\/api\/v1\/recordings\/audio\?ticket=[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/,
    );
    expect(own.body.expiresAt).toBe(new Date(NOW + 61_000 + 15 * 60_000).toISOString());
    expect(own.body.recording.recordingId).toBe(recordingIdOf(2));
    expect(await playback(recordingIdOf(4), tenantToken('acme'))).toEqual({
      status: 403,
      body: { error: `tenant acme may not hear recording ${recordingIdOf(4)} of another tenant` },
    });
    expect(await playback(recordingIdOf(2), siteToken('guangzhou'))).toEqual({
      status: 403,
      body: {
        error: `the supervisor of site guangzhou may not hear recording ${recordingIdOf(2)}, kept at site chengdu`,
      },
    });
    expect((await playback(recordingIdOf(3), siteToken('guangzhou'))).status).toBe(200);
    expect((await playback(recordingIdOf(4), HQ)).status).toBe(200);
    expect(await playback(RECORDINGS.deleted, tenantToken('acme'))).toEqual({
      status: 404,
      body: {
        error: `recording ${RECORDINGS.deleted} was deleted at 2026-03-02T09:50:00.000Z (retention)`,
      },
    });
    // Another tenant learns nothing of what became of a recording that is not theirs.
    expect((await playback(RECORDINGS.deleted, tenantToken('globex'))).status).toBe(403);
    expect(await playback(RECORDINGS.failed, HQ)).toEqual({
      status: 404,
      body: { error: 'call globex-chengdu-1 was not recorded: rtpengine did not answer' },
    });
    expect((await playback(recordingIdOf(50), HQ)).status).toBe(404);
    expect((await playback('../../etc/passwd', HQ)).status).toBe(400);
  });
});

describe('stored analytics', () => {
  it('the call-back list is the stored scoring in force at asOf, and says when it scored', async () => {
    const now = await get('/api/v1/churn/callbacks', { asOf: '2026-03-03T00:00:00Z' }, HQ);
    expect(now.body.rows.length).toBeGreaterThan(0);
    for (const row of now.body.rows) {
      expect(row.scored_at).toBe(CHURN_SCORED_AT);
      expect(row.priority).toBeCloseTo(row.risk * row.value, 6);
    }
    // Before the first run there is no scoring in force (the default asOf, NOW, is before it).
    expect((await get('/api/v1/churn/callbacks', {}, HQ)).body).toEqual({ rows: [] });
    expect(
      (await get('/api/v1/churn/callbacks', { asOf: '2026-03-02T22:59:59Z' }, HQ)).body,
    ).toEqual({ rows: [] });
  });

  it('refuses bad call-back options with 400 naming the field', async () => {
    for (const [query, field] of [
      [{ siteId: 'Mars!' }, 'siteId'],
      [{ limit: '0' }, 'limit'],
      [{ limit: '1001' }, 'limit'],
      [{ limit: 'ten' }, 'limit'],
      [{ asOf: 'yesterday' }, 'asOf'],
      [{ asOf: '2026-13-01T00:00:00Z' }, 'asOf'],
    ] as const) {
      const res = await get('/api/v1/churn/callbacks', query, HQ);
      expect(res.status, JSON.stringify(query)).toBe(400);
      expect(JSON.stringify(res.body), JSON.stringify(query)).toContain(field);
    }
  });

  it('cross-sell rules come from the newest stored refresh, with its time', async () => {
    const res = await get('/api/v1/cross-sell/rules', {}, tenantToken('acme'));
    expect(res.body.rows.length).toBeGreaterThan(0);
    for (const row of res.body.rows) {
      expect(row.tenant_id).toBe('acme');
      expect(row.computed_at).toBe(new Date(NOW - 3600_000).toISOString());
    }
  });
});

describe('hostile input', () => {
  const PAYLOADS = [
    "'",
    "' OR 1=1 --",
    "acme' OR '1'='1",
    '\\',
    "\\' OR 1=1 --",
    "x'); DROP TABLE call_events; --",
    "globex' UNION ALL SELECT * FROM system.tables --",
    "密码' OR 1=1 --",
    'ａｃｍｅ',
    '\u0000',
    '\u202e',
    'a'.repeat(5_000),
    '1',
    '-1',
    '1e309',
    'NaN',
    '[]',
    '{"$ne":null}',
    'acme OR 1',
    '%27',
  ];

  async function tableState() {
    const tables = await rows<{ name: string }>(
      client,
      `SELECT name FROM system.tables WHERE database = '${database}' ORDER BY name`,
    );
    const counts = await Promise.all(
      RAW_TABLES.map(
        async (t) => (await rows<{ n: string }>(client, `SELECT count() AS n FROM ${t}`))[0]!.n,
      ),
    );
    return { tables: tables.map((t) => t.name), counts };
  }

  it('refuses every hostile value in every filter with 400, or answers only rows the caller may see', async () => {
    const before = await tableState();
    const acme = tenantToken('acme');
    const gz = siteToken('guangzhou');
    let refused = 0;
    let answered = 0;
    for (const e of ENDPOINTS) {
      const r = routes.find((x) => x.path === e.path)!;
      const params = Object.keys((r.query as any).shape);
      for (const param of params) {
        for (const payload of PAYLOADS) {
          for (const [bearer, visible] of [
            [acme, (row: any) => !e.tenantOf || e.tenantOf(row) === 'acme'],
            [gz, (row: any) => !e.sitesOf || e.sitesOf(row).includes('guangzhou')],
          ] as const) {
            const res = await get(e.path, { ...e.query, [param]: payload }, bearer);
            const where = `${e.path} ${param}=${JSON.stringify(payload.slice(0, 40))}`;
            if (res.status === 200) {
              answered++;
              for (const row of res.body.rows) expect(visible(row), where).toBe(true);
            } else {
              refused++;
              expect([400, 403], where).toContain(res.status);
              expect(typeof res.body.error, where).toBe('string');
              if (res.status === 400) expect(res.body.error, where).toContain(param);
            }
          }
        }
        // One value per parameter: a repeated one is refused, not merged.
        const twice = await get(e.path, { ...e.query, [param]: ['a', 'b'] }, acme);
        expect(twice.status, `${e.path} ${param} twice`).toBe(400);
        expect(twice.body.error).toContain(param);
      }
      const unknown = await get(e.path, { ...e.query, "x' OR 1=1": '1' }, acme);
      expect(unknown.status).toBe(400);
      expect(unknown.body.error).toMatch(/unknown query parameter/);
    }
    expect(refused).toBeGreaterThan(answered);
    expect(await tableState()).toEqual(before);
  });

  it('answers 404 and 405 in JSON for paths and methods it does not serve', async () => {
    expect(await get("/api/v1/kpis'--", {}, HQ)).toMatchObject({ status: 404 });
    const put = await fetch(`${base}/api/v1/kpis`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${HQ}` },
    });
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('GET');
  });
});

describe('failures', () => {
  it('answers a ClickHouse failure with a generic 500, leaking nothing of it', async () => {
    const broken = clickhouseClient('api', 'no_such_database_here');
    const { server: other } = createApi({
      runQuery: clickhouseRunner(broken),
      users: new Map(),
      secret: SECRET,
      tokenTtlSeconds: 3600,
      clock: new ManualClock(NOW),
      log: silentLogger(),
    });
    const port = await other.listen(0, '127.0.0.1');
    try {
      const res = await fetch(`http://127.0.0.1:${port}/api/v1/sites/status`, {
        headers: { authorization: `Bearer ${HQ}` },
      });
      expect(res.status).toBe(500);
      expect(await res.json()).toEqual({ error: 'internal error' });
    } finally {
      await other.close();
      await broken.close();
    }
  });
});

describe('OpenAPI document', () => {
  it('is valid JSON listing exactly the routes the server serves, with their parameters', async () => {
    const res = await fetch(`${base}/api/v1/openapi.json`);
    expect(res.status).toBe(200);
    const doc = JSON.parse(await res.text());
    expect(doc.openapi).toMatch(/^3\./);
    const documented = Object.entries(doc.paths as Record<string, Record<string, any>>).flatMap(
      ([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`),
    );
    expect(documented.sort()).toEqual(routes.map((r) => `${r.method} ${r.path}`).sort());
    for (const r of routes) {
      const op = doc.paths[r.path][r.method.toLowerCase()];
      expect(op.responses['200'], r.path).toBeDefined();
      expect(op.security, r.path).toEqual(r.auth ? [{ bearer: [] }] : []);
      const names = op.parameters.map((p: any) => p.name).sort();
      expect(names, r.path).toEqual(Object.keys((r.query as any)?.shape ?? {}).sort());
      for (const p of op.parameters) expect(p.schema.type, `${r.path} ${p.name}`).toBe('string');
    }
    expect(
      doc.paths['/api/v1/kpis'].get.parameters.find((p: any) => p.name === 'from').required,
    ).toBe(true);
    expect(
      doc.paths['/api/v1/session'].post.requestBody.content['application/json'].schema.required,
    ).toEqual(['username', 'password']);
    // Every $ref resolves inside the document.
    for (const ref of JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? []) {
      const path = ref.slice(8, -1).replace(/^#\//, '').split('/');
      expect(
        path.reduce((node: any, k) => node?.[k], doc),
        ref,
      ).toBeDefined();
    }
  });
});

describe('API queries on current ClickHouse', () => {
  it('run on a current engine as well as on 18.16', async () => {
    const scopes = [
      { role: 'hq' },
      { role: 'site', siteId: 'guangzhou' },
      { role: 'tenant', tenantId: 'acme' },
    ] as const;
    await assertRunsOnCurrentClickHouse(
      migratedDatabaseSetup(),
      scopes.flatMap((scope) => [
        {
          name: `status ${scope.role}`,
          sql: siteStatusQuery(scope, { sites: ['guangzhou'], skills: ['billing'] }, NOW).text,
        },
        {
          name: `status per tenant ${scope.role}`,
          sql: siteStatusQuery(scope, { tenants: ['acme'] }, NOW).text,
        },
        {
          name: `decisions by call ${scope.role}`,
          sql: routeDecisionsQuery(scope, { callId: 'c1', limit: 10 }).text,
        },
        {
          name: `recordings by period ${scope.role}`,
          sql: recordingsQuery(scope, {
            from: new Date(NOW - 3600_000),
            to: new Date(NOW),
            site: 'chengdu',
            agent: 'chengdu-agent-1',
            limit: 10,
          }).text,
        },
        {
          name: `one recording ${scope.role}`,
          sql: recordingsQuery(scope, { recordingId: recordingIdOf(1), limit: 1 }).text,
        },
        {
          name: `decisions by period ${scope.role}`,
          sql: routeDecisionsQuery(scope, {
            from: new Date(NOW - 3600_000),
            to: new Date(NOW),
            site: 'chengdu',
            limit: 10,
          }).text,
        },
      ]),
    );
  });
});
