import {
  parseSatisfactionRows,
  SATISFACTION_GROUPINGS,
  satisfactionQuery,
} from '@ccfed/analytics/satisfaction';
import { z } from 'zod';
import { timeParam } from '../http/query-string.js';
import { route, scopeOf, type Route } from '../http/route.js';
import { buildQuery } from './analytics-options.js';
import { API, type RouteDeps } from './deps.js';
import { rowsResponse } from './responses.js';

const satisfactionParams = z.strictObject({
  from: timeParam().describe('start, inclusive'),
  to: timeParam().describe('end, exclusive'),
  by: z
    .enum(SATISFACTION_GROUPINGS, { error: `expected one of ${SATISFACTION_GROUPINGS.join(', ')}` })
    .optional()
    .describe('grouping (default site)'),
});

export function satisfactionRoute(deps: RouteDeps): Route {
  return route({
    method: 'GET',
    path: `${API}/satisfaction`,
    summary: 'CSAT and NPS from post-call surveys, by site, skill, agent or wait band.',
    auth: true,
    query: satisfactionParams,
    response: rowsResponse('one row per group'),
    async handle(ctx) {
      const { from, to } = ctx.query;
      const query = buildQuery(() =>
        satisfactionQuery(scopeOf(ctx), { from, to, by: ctx.query.by ?? 'site' }),
      );
      return { rows: parseSatisfactionRows(await deps.runQuery(query)) };
    },
  });
}
