import { z } from 'zod';
import { refuseForeign } from '../access.js';
import { badRequest } from '../http/errors.js';
import { intParam, opaqueIdParam, timeParam, topologyIdParam } from '../http/query-string.js';
import { route, scopeOf, type Route } from '../http/route.js';
import {
  parseRouteDecisionRows,
  routeDecisionSchema,
  routeDecisionsQuery,
  type RouteDecisionFilter,
} from '../queries/route-decisions.js';
import { API, type RouteDeps } from './deps.js';
import { rowsResponse } from './responses.js';

/** The longest period one request may span: decisions are many (one per call, more with hops). */
const MAX_SPAN_MS = 7 * 86_400_000;

const decisionParams = z.strictObject({
  callId: opaqueIdParam('call')
    .optional()
    .describe('every decision about this call; or give from and to'),
  from: timeParam().optional().describe('start, inclusive (with to, instead of callId)'),
  to: timeParam().optional().describe('end, exclusive; at most 7 days after from'),
  site: topologyIdParam('site').optional().describe('decisions about calls from or to this site'),
  limit: intParam(1, 1000)
    .optional()
    .describe('at most this many decisions, oldest first (default 100)'),
});

export function routeDecisionsRoute(deps: RouteDeps): Route {
  return route({
    method: 'GET',
    path: `${API}/routing/decisions`,
    summary:
      'Routing decisions with the alternatives weighed, for one call (callId) or a period (from, to, optionally a site).',
    auth: true,
    query: decisionParams,
    response: rowsResponse('decisions, oldest first', routeDecisionSchema),
    async handle(ctx) {
      const scope = scopeOf(ctx);
      const { callId, from, to, site } = ctx.query;
      const limit = ctx.query.limit ?? 100;
      let filter: RouteDecisionFilter;
      if (callId !== undefined) {
        if (from || to || site)
          throw badRequest('callId', 'give either callId or from/to/site, not both');
        filter = { callId, limit };
      } else {
        if (!from) throw badRequest('from', 'required unless callId is given');
        if (!to) throw badRequest('to', 'required unless callId is given');
        if (!(from < to)) throw badRequest('to', 'expected to be later than from');
        if (to.getTime() - from.getTime() > MAX_SPAN_MS) {
          throw badRequest('to', 'expected at most 7 days after from');
        }
        refuseForeign(scope, { sites: site === undefined ? [] : [site] });
        filter = { from, to, ...(site !== undefined && { site }), limit };
      }
      return {
        rows: parseRouteDecisionRows(await deps.runQuery(routeDecisionsQuery(scope, filter))),
      };
    },
  });
}
