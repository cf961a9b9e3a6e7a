import {
  crossSellRulesQuery,
  nextBestOfferQuery,
  parseCrossSellRuleRows,
  parseNextBestOfferRows,
} from '@ccfed/analytics/cross-sell';
import { z } from 'zod';
import { fractionParam, intParam, opaqueIdParam } from '../http/query-string.js';
import { route, scopeOf, type Route } from '../http/route.js';
import { buildQuery } from './analytics-options.js';
import { API, type RouteDeps } from './deps.js';
import { rowsResponse } from './responses.js';

const rulesParams = z.strictObject({
  minSupport: fractionParam().optional().describe('share of customers holding both (default 0.01)'),
  minConfidence: fractionParam()
    .optional()
    .describe('share of antecedent holders also holding the consequent (default 0.1)'),
  limit: intParam(1, 1000).optional().describe('at most this many rules (default 50)'),
});

export function crossSellRulesRoute(deps: RouteDeps): Route {
  return route({
    method: 'GET',
    path: `${API}/cross-sell/rules`,
    summary:
      'Product association rules per tenant (support, confidence, lift) from the newest stored refresh of each tenant, strongest lift first, each with when it was mined (computed_at).',
    auth: true,
    query: rulesParams,
    response: rowsResponse('rules, strongest lift first'),
    async handle(ctx) {
      const query = buildQuery(() =>
        crossSellRulesQuery(scopeOf(ctx), {
          minSupport: ctx.query.minSupport ?? 0.01,
          minConfidence: ctx.query.minConfidence ?? 0.1,
          limit: ctx.query.limit ?? 50,
        }),
      );
      return { rows: parseCrossSellRuleRows(await deps.runQuery(query)) };
    },
  });
}

const offerParams = z.strictObject({
  customerId: opaqueIdParam('customer').describe('the CRM customer id of the caller'),
});

export function nextBestOfferRoute(deps: RouteDeps): Route {
  return route({
    method: 'GET',
    path: `${API}/cross-sell/next-best-offer`,
    summary:
      "The product to offer a customer on the line, with the rule that suggests it; no row when no rule applies or the customer is outside the caller's tenant.",
    auth: true,
    query: offerParams,
    response: rowsResponse('at most one offer'),
    async handle(ctx) {
      const query = buildQuery(() =>
        nextBestOfferQuery(scopeOf(ctx), { customerId: ctx.query.customerId }),
      );
      return { rows: parseNextBestOfferRows(await deps.runQuery(query)) };
    },
  });
}
