import { churnCallbackQuery, parseChurnCallbackRows } from '@ccfed/analytics/churn';
import { z } from 'zod';
import { refuseForeign } from '../access.js';
import { intParam, timeParam, topologyIdParam } from '../http/query-string.js';
import { route, scopeOf, type Route } from '../http/route.js';
import { buildQuery } from './analytics-options.js';
import { API, type RouteDeps } from './deps.js';
import { rowsResponse } from './responses.js';

const churnParams = z.strictObject({
  siteId: topologyIdParam('site')
    .optional()
    .describe('only customers whose last call was handled by this site'),
  limit: intParam(1, 1000).optional().describe('at most this many customers (default 50)'),
  asOf: timeParam()
    .optional()
    .describe(
      'the stored scoring in force at this time: the newest complete run at or before it (default now)',
    ),
});

export function churnCallbacksRoute(deps: RouteDeps): Route {
  return route({
    method: 'GET',
    path: `${API}/churn/callbacks`,
    summary:
      'The retention call-back list from the newest stored churn scoring: customers not yet churned, highest churn risk × value first, with the reasons and when the run scored (scored_at).',
    auth: true,
    query: churnParams,
    response: rowsResponse('customers, highest priority first'),
    async handle(ctx) {
      const scope = scopeOf(ctx);
      const { siteId } = ctx.query;
      refuseForeign(scope, { sites: siteId === undefined ? [] : [siteId] });
      const query = buildQuery(() =>
        churnCallbackQuery(scope, {
          ...(siteId !== undefined && { siteId }),
          limit: ctx.query.limit ?? 50,
          asOf: ctx.query.asOf ?? new Date(deps.clock.now()),
        }),
      );
      return { rows: parseChurnCallbackRows(await deps.runQuery(query)) };
    },
  });
}
