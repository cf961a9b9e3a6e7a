// What the fitted analytics give each caller, scoped like the rest: a tenant sees only its own
// churn model, retention study and staffing plan; a site supervisor its site's study and plan
// (and every tenant's model: models belong to tenants, not sites).
import { churnModelsQuery, parseChurnModelRows } from '@ccfed/analytics/churn-modeling';
import { parseUpliftRows, retentionUpliftQuery } from '@ccfed/analytics/retention';
import { intervalStart, parseStaffingRows, staffingQuery } from '@ccfed/analytics/staffing-plan';
import { z } from 'zod';
import { refuseForeign } from '../access.js';
import { intParam, timeParam, topologyIdParam } from '../http/query-string.js';
import { route, scopeOf, type Route } from '../http/route.js';
import { buildQuery } from './analytics-options.js';
import { API, type RouteDeps } from './deps.js';
import { rowsResponse } from './responses.js';

const DAY_MS = 86_400_000;

export function churnModelsRoute(deps: RouteDeps): Route {
  return route({
    method: 'GET',
    path: `${API}/churn/models`,
    summary:
      "Each tenant's churn model in the scoring run in force: fitted on the tenant's own history or the hand-set fallback (and why), its version, out-of-time validation AUC next to the hand-set model's, calibration and coefficients.",
    auth: true,
    query: z.strictObject({
      asOf: timeParam().optional().describe('the scoring run in force at this time (default now)'),
    }),
    response: rowsResponse('one model per tenant'),
    async handle(ctx) {
      const query = buildQuery(() =>
        churnModelsQuery(scopeOf(ctx), { asOf: ctx.query.asOf ?? new Date(deps.clock.now()) }),
      );
      return { rows: parseChurnModelRows(await deps.runQuery(query)) };
    },
  });
}

export function retentionUpliftRoute(deps: RouteDeps): Route {
  return route({
    method: 'GET',
    path: `${API}/retention/uplift`,
    summary:
      'Whether call-backs keep customers: churn within N days of entering the retention study, for customers on the call-back list and for the held-back control group, their difference (uplift) and its 95 % confidence interval.',
    auth: true,
    query: z.strictObject({
      days: intParam(1, 365).optional().describe('churn counted over this many days (default 30)'),
      by: z
        .enum(['site', 'tenant', 'all'], { error: 'expected one of site, tenant, all' })
        .optional()
        .describe('grouping (default site: per tenant and site)'),
      from: timeParam().optional().describe('only customers who entered the study from then on'),
      asOf: timeParam()
        .optional()
        .describe('customers whose N days were over by then (default now)'),
    }),
    response: rowsResponse('one comparison per group'),
    async handle(ctx) {
      const { from } = ctx.query;
      const query = buildQuery(() =>
        retentionUpliftQuery(scopeOf(ctx), {
          days: ctx.query.days ?? 30,
          asOf: ctx.query.asOf ?? new Date(deps.clock.now()),
          ...(from !== undefined && { from }),
        }),
      );
      return { rows: parseUpliftRows(await deps.runQuery(query), ctx.query.by ?? 'site') };
    },
  });
}

export function staffingRoute(deps: RouteDeps): Route {
  return route({
    method: 'GET',
    path: `${API}/staffing`,
    summary:
      'The staffing plan in force: per tenant, site, skill and 15-minute interval, forecast offered calls and AHT, the agents Erlang A needs for the service level, and once the interval has ended the agents actually staffed, understaffed intervals marked.',
    auth: true,
    query: z.strictObject({
      from: timeParam().optional().describe('start, inclusive (default the current interval)'),
      to: timeParam()
        .optional()
        .describe('end, exclusive (default a day after from; at most 15 days)'),
      siteId: topologyIdParam('site').optional().describe('only this site'),
      skill: topologyIdParam('skill').optional().describe('only this skill'),
      asOf: timeParam().optional().describe('the plan in force at this time (default now)'),
    }),
    response: rowsResponse('intervals by tenant, site, skill and time'),
    async handle(ctx) {
      const scope = scopeOf(ctx);
      const { siteId, skill } = ctx.query;
      refuseForeign(scope, { sites: siteId === undefined ? [] : [siteId] });
      const now = new Date(deps.clock.now());
      const from = ctx.query.from ?? intervalStart(now);
      const query = buildQuery(() =>
        staffingQuery(scope, {
          from,
          to: ctx.query.to ?? new Date(from.getTime() + DAY_MS),
          asOf: ctx.query.asOf ?? now,
          ...(siteId !== undefined && { siteId }),
          ...(skill !== undefined && { skill }),
        }),
      );
      return { rows: parseStaffingRows(await deps.runQuery(query)) };
    },
  });
}
