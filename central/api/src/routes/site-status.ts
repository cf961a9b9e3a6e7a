import { z } from 'zod';
import { refuseForeign } from '../access.js';
import { topologyIdListParam } from '../http/query-string.js';
import { route, scopeOf, type Route } from '../http/route.js';
import {
  parseSiteStatusRows,
  siteStatusQuery,
  siteStatusRowSchema,
} from '../queries/site-status.js';
import { API, type RouteDeps } from './deps.js';
import { rowsResponse } from './responses.js';

const siteStatusParams = z.strictObject({
  sites: topologyIdListParam('site').optional(),
  skills: topologyIdListParam('skill').optional(),
  tenants: topologyIdListParam('tenant')
    .optional()
    .describe(
      'per-tenant figures of these tenants instead of site totals (a tenant client always gets its own)',
    ),
});

export function siteStatusRoute(deps: RouteDeps): Route {
  return route({
    method: 'GET',
    path: `${API}/sites/status`,
    summary:
      'Live status per site and skill from the newest snapshot of the last 10 minutes: queued, oldest wait, staffed, idle, EWT, accepting overflow, age.',
    auth: true,
    query: siteStatusParams,
    response: rowsResponse(
      'one row per site and skill (and tenant, for per-tenant figures)',
      siteStatusRowSchema,
    ),
    async handle(ctx) {
      const scope = scopeOf(ctx);
      const { sites, skills, tenants } = ctx.query;
      refuseForeign(scope, { sites, tenants });
      const now = deps.clock.now();
      const raw = await deps.runQuery(
        siteStatusQuery(
          scope,
          { ...(sites && { sites }), ...(skills && { skills }), ...(tenants && { tenants }) },
          now,
        ),
      );
      return { rows: parseSiteStatusRows(raw, now) };
    },
  });
}
