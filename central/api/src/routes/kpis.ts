import {
  KPI_DIMENSIONS,
  KpiFilterError,
  kpiQuery,
  parseKpiRows,
  validateKpiFilter,
} from '@ccfed/analytics/kpi';
import { z } from 'zod';
import { refuseForeign } from '../access.js';
import { HttpError } from '../http/errors.js';
import { route, scopeOf, type Route } from '../http/route.js';
import { API, type RouteDeps } from './deps.js';
import { rowsResponse } from './responses.js';

// Passed through as text: validateKpiFilter (the KPI definitions' own check) names a bad field.
const kpiQueryParams = z.strictObject({
  from: z.string().describe('start, ISO 8601 with a zone, inclusive'),
  to: z.string().describe('end, ISO 8601 with a zone, exclusive'),
  groupBy: z
    .string()
    .optional()
    .describe(`comma-separated dimensions out of ${KPI_DIMENSIONS.join(', ')}`),
  sites: z.string().optional().describe('comma-separated site ids'),
  skills: z.string().optional().describe('comma-separated skill ids'),
  tenants: z.string().optional().describe('comma-separated tenant ids'),
});

const list = (s: string | undefined) => (s === undefined ? undefined : s.split(','));

export function kpisRoute(deps: RouteDeps): Route {
  return route({
    method: 'GET',
    path: `${API}/kpis`,
    summary: 'Operational KPIs (offered, answered, service level, ASA, AHT, ...) over a period.',
    auth: true,
    query: kpiQueryParams,
    response: rowsResponse('one row per group (see docs/kpis.md for each figure)'),
    async handle(ctx) {
      const q = ctx.query;
      let filter;
      try {
        filter = validateKpiFilter({
          from: q.from,
          to: q.to,
          groupBy: list(q.groupBy) ?? [],
          ...(q.sites !== undefined && { sites: list(q.sites) }),
          ...(q.skills !== undefined && { skills: list(q.skills) }),
          ...(q.tenants !== undefined && { tenants: list(q.tenants) }),
        });
      } catch (err) {
        if (err instanceof KpiFilterError) throw new HttpError(400, err.message);
        throw err;
      }
      const scope = scopeOf(ctx);
      refuseForeign(scope, { sites: filter.sites, tenants: filter.tenants });
      const raw = await deps.runQuery(kpiQuery(scope, filter));
      return { rows: parseKpiRows(raw as Record<string, unknown>[]) };
    },
  });
}
