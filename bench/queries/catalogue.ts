// The queries the dashboards and the HTTP API send, built by their own builders with the options
// a user would pick, over the last month of the generated year. Each is timed by bench/queries.ts.
import { churnCallbackQuery } from '@ccfed/analytics/churn';
import { crossSellRulesQuery, nextBestOfferQuery } from '@ccfed/analytics/cross-sell';
import { customerStoryQuery } from '@ccfed/analytics/customer-story';
import { kpiQuery, type KpiFilter } from '@ccfed/analytics/kpi';
import { fcrQuery } from '@ccfed/analytics/kpi-fcr';
import { satisfactionQuery } from '@ccfed/analytics/satisfaction';
import type { Scope } from '@ccfed/analytics/scope';
import { routeDecisionsQuery } from '@ccfed/api/queries/route-decisions';
import { siteStatusQuery } from '@ccfed/api/queries/site-status';
import { raw, sql, type Sql } from '@ccfed/common';
import type { DashboardSpec } from '@ccfed/dashboards/panel';
import { TENANTS, type GenerationParams } from './generate.js';
import { dataEnd } from './load.js';

export interface BenchQuery {
  readonly name: string;
  readonly sql: Sql;
}

const DAY_MS = 86_400_000;
const HQ: Scope = { role: 'hq' };
const TENANT: Scope = { role: 'tenant', tenantId: 'acme-bank' };
const SITE: Scope = { role: 'site', siteId: 'shanghai' };

/** A Grafana relative time (now, now/d, now-7d, now-7d/d) at `now`, days rounded in UTC. */
export function grafanaTime(expr: string, now: Date): Date {
  const m = /^now(?:-(\d+)([mhd]))?(\/d)?$/.exec(expr);
  if (!m) throw new Error(`dashboard time ${JSON.stringify(expr)}: expected now[-N(m|h|d)][/d]`);
  const unitMs = { m: 60_000, h: 3_600_000, d: DAY_MS }[(m[2] ?? 'm') as 'm' | 'h' | 'd'];
  const t = now.getTime() - Number(m[1] ?? 0) * unitMs;
  return new Date(m[3] ? Math.floor(t / DAY_MS) * DAY_MS : t);
}

/**
 * Every panel and variable query of the provisioned dashboards, expanded as Grafana and the
 * ClickHouse plugin would for the dashboard's default time range ending at `now`, with the
 * site variable set to one site (two where several may be picked).
 */
export async function dashboardQueries(now: Date): Promise<BenchQuery[]> {
  // Loaded here, not imported above: a dashboard module that does not load (its own checks
  // throw at import) must not stop the API queries from being measured.
  const { DASHBOARDS } = (await import('@ccfed/dashboards/dashboards')) as {
    DASHBOARDS: readonly DashboardSpec[];
  };
  const { expandMacros } = await import('@ccfed/dashboards/macros');
  return DASHBOARDS.flatMap((d) => {
    const from = grafanaTime(d.from, now);
    const to = grafanaTime(d.to, now);
    const variables = Object.fromEntries(
      d.variables.map((v) => [v.name, v.multi ? ['shanghai', 'beijing'] : 'shanghai']),
    );
    const expand = (text: string) => raw(expandMacros(text, { from, to, variables }));
    const queries = [
      ...d.variables.map((v) => ({
        name: `dashboard ${d.uid}: variable ${v.name}`,
        sql: expand(v.sql),
      })),
      ...d.panels.map((p) => ({ name: `dashboard ${d.uid}: ${p.title}`, sql: expand(p.sql) })),
    ];
    return queries;
  });
}

export async function benchQueries(deps: {
  rows<T>(q: Sql): Promise<T[]>;
  params: GenerationParams;
}): Promise<BenchQuery[]> {
  // The generated year ends on a Sunday at midnight (UTC+8); periods are whole UTC days before.
  const now = new Date(dataEnd(deps.params) * 1000);
  const end = new Date(Math.floor(now.getTime() / DAY_MS) * DAY_MS);
  const monthFrom = new Date(end.getTime() - 30 * DAY_MS);
  const weekFrom = new Date(end.getTime() - 14 * DAY_MS);
  const weekTo = new Date(end.getTime() - 7 * DAY_MS);
  const dayFrom = new Date(end.getTime() - 10 * DAY_MS);
  const dayTo = new Date(dayFrom.getTime() + DAY_MS);
  const month = { from: monthFrom, to: end };
  const week = { from: weekFrom, to: weekTo };
  const day = { from: dayFrom, to: dayTo };
  const kpi = (period: { from: Date; to: Date }, groupBy: KpiFilter['groupBy']): KpiFilter => ({
    ...period,
    groupBy,
  });

  // One overflowed call of the day, for the decisions of one call.
  const [decided] = await deps.rows<{ call_id: string }>(
    sql`SELECT call_id FROM route_decisions
        WHERE verdict = 'overflow' AND event_time >= ${dayFrom} AND event_time < ${dayTo}
        ORDER BY call_id LIMIT 1`,
  );
  if (!decided) throw new Error('no overflow decision in the benchmark day: data incomplete');
  // A frequent caller of the tenant, for the next best offer.
  const customerId = 'cust-1000';

  const queries: BenchQuery[] = [
    { name: 'kpi: federation by day, month', sql: kpiQuery(HQ, kpi(month, ['day'])) },
    {
      name: 'kpi: by site, skill and 15 min, day',
      sql: kpiQuery(HQ, kpi(day, ['site', 'skill', 'interval'])),
    },
    { name: 'kpi: by tenant, week', sql: kpiQuery(HQ, kpi(week, ['tenant'])) },
    {
      name: 'kpi: tenant scope, by site and day, month',
      sql: kpiQuery(TENANT, kpi(month, ['site', 'day'])),
    },
    {
      name: 'kpi: site scope, by skill and 15 min, day',
      sql: kpiQuery(SITE, kpi(day, ['skill', 'interval'])),
    },
    {
      name: 'kpi: one skill filtered, by site and hour, week',
      sql: kpiQuery(HQ, { ...week, groupBy: ['site', 'hour'], skills: ['support'] }),
    },
    {
      name: 'occupancy: by site and 15 min, day',
      sql: kpiQuery(HQ, kpi(day, ['site', 'interval'])),
    },
    { name: 'occupancy: by site and day, month', sql: kpiQuery(HQ, kpi(month, ['site', 'day'])) },
    { name: 'fcr: by site, week', sql: fcrQuery(HQ, kpi(week, ['site'])) },
    {
      name: 'fcr: tenant scope, by skill and day, week',
      sql: fcrQuery(TENANT, kpi(week, ['skill', 'day'])),
    },
    { name: 'fcr: site scope, by skill, week', sql: fcrQuery(SITE, kpi(week, ['skill'])) },
    // The stored scoring in force at the end of the year: the generation's 'churn scoring run'
    // step, whose seconds are the scoring job's time (as the cross-sell refresh's are).
    {
      name: 'churn: call-back list (50)',
      sql: churnCallbackQuery(HQ, { limit: 50, asOf: now }),
    },
    {
      name: 'churn: site scope call-back list (50)',
      sql: churnCallbackQuery(SITE, { limit: 50, asOf: now }),
    },
    {
      name: 'churn: tenant scope call-back list (50)',
      sql: churnCallbackQuery(TENANT, { limit: 50, asOf: now }),
    },
    {
      name: 'cross-sell: rules (50)',
      sql: crossSellRulesQuery(HQ, { minSupport: 0.01, minConfidence: 0.1, limit: 50 }),
    },
    {
      name: 'cross-sell: tenant scope rules (50)',
      sql: crossSellRulesQuery(TENANT, { minSupport: 0.01, minConfidence: 0.1, limit: 50 }),
    },
    { name: 'next best offer: one customer', sql: nextBestOfferQuery(HQ, { customerId }) },
    {
      name: 'next best offer: tenant scope, one customer',
      sql: nextBestOfferQuery(TENANT, { customerId }),
    },
    // The screen pop's one read (central/api/src/desktop/desktop-feed.ts): a frequent caller's
    // last 180 days at every site, as of the end of the year.
    {
      name: 'customer story: one customer (screen pop)',
      sql: customerStoryQuery({ tenantId: TENANTS[0], customerId, asOf: end }),
    },
    ...(['site', 'skill', 'agent', 'wait_band'] as const).map((by) => ({
      name: `satisfaction: by ${by}, month`,
      sql: satisfactionQuery(HQ, { ...month, by }),
    })),
    {
      name: 'satisfaction: tenant scope, by wait band, month',
      sql: satisfactionQuery(TENANT, { ...month, by: 'wait_band' }),
    },
    {
      name: 'site status: live, all sites',
      sql: siteStatusQuery(HQ, {}, dataEnd(deps.params) * 1000),
    },
    {
      name: 'site status: live, tenant scope',
      sql: siteStatusQuery(TENANT, {}, dataEnd(deps.params) * 1000),
    },
    {
      name: 'routing decisions: one call',
      sql: routeDecisionsQuery(HQ, { callId: decided.call_id, limit: 100 }),
    },
    {
      name: 'routing decisions: one day (100)',
      sql: routeDecisionsQuery(HQ, { ...day, limit: 100 }),
    },
    {
      name: 'routing decisions: site scope, one day (1000)',
      sql: routeDecisionsQuery(SITE, { ...day, limit: 1000 }),
    },
    ...(await dashboardQueries(new Date(dataEnd(deps.params) * 1000)).catch((e: unknown) => {
      console.log(`dashboards left out: ${e instanceof Error ? e.message : String(e)}`);
      return [];
    })),
  ];
  return queries;
}
