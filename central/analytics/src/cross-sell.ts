// Cross-sell: association rules between products, from each customer's latest CRM holdings
// snapshot, and the next best offer for a customer on the line. Rules are counted per tenant
// (each outsourcing client has its own catalogue):
//   support(A → B) = P(A and B), confidence = P(B | A), lift = confidence / P(B),
// with P over the tenant's customers that have a holdings snapshot (an empty one counts).
// Mining reads every customer's holdings, so a scheduled job stores the rules
// (refreshCrossSellRulesQuery, refresh-cross-sell-cli.ts) and requests read the newest refresh.
import { raw, sql, type Sql } from '@ccfed/common';
import { checkDate, checkFraction, checkId, checkLimit } from './churn-options.js';
import { scopeCondition, type Scope } from './scope.js';

export interface CrossSellRuleRow {
  readonly tenant_id: string;
  readonly antecedent: string;
  readonly consequent: string;
  /** Customers holding both, and holding each side, out of `customers`. */
  readonly both: number;
  readonly antecedent_holders: number;
  readonly consequent_holders: number;
  readonly customers: number;
  readonly support: number;
  readonly confidence: number;
  readonly lift: number;
  /** When the refresh these rules come from mined them (ISO 8601). */
  readonly computed_at: string;
}

export interface NextBestOfferRow {
  readonly tenant_id: string;
  readonly customer_id: string;
  /** The product to offer, and the rule (antecedent → product_id) that suggests it. */
  readonly product_id: string;
  readonly antecedent: string;
  readonly support: number;
  readonly confidence: number;
  readonly lift: number;
}

// Crm rows carry the site that recorded the event; holdings belong to the customer, so a site
// supervisor sees rules from every customer of the tenants (the bound that matters is tenant).
function tenantBound(scope: Scope): Sql {
  return scope.role === 'tenant'
    ? scopeCondition(scope, { site: 'site_id', tenant: 'tenant_id' })
    : raw('1');
}

/** Latest holdings snapshot per customer, products distinct; `where` narrows the crm rows. */
function holdings(where: Sql): Sql {
  return sql`SELECT tenant_id, customer_id, groupUniqArray(product) AS products
    FROM
    (
        SELECT tenant_id, customer_id, argMax(product_ids, event_time) AS latest
        FROM crm_events
        WHERE kind = 'holdings' AND ${where}
        GROUP BY tenant_id, customer_id
    )
    ARRAY JOIN latest AS product
    GROUP BY tenant_id, customer_id`;
}

/**
 * Every rule A → B (A ≠ B) with its counts and measures; `antecedents`, when given, is a
 * subquery of product ids that restricts A (the next best offer needs only the customer's own).
 */
function rules(where: Sql, antecedents: Sql | undefined): Sql {
  const pairs = sql`SELECT tenant_id,
            products[intDiv(i, length(products)) + 1] AS antecedent,
            products[i % length(products) + 1] AS consequent
        FROM (${holdings(where)})
        ARRAY JOIN range(length(products) * length(products)) AS i`;
  const restrict = antecedents === undefined ? raw('1') : sql`antecedent IN (${antecedents})`;
  const holders = (name: string) =>
    sql`SELECT tenant_id, product AS ${raw(name)}, count() AS ${raw(`${name}_holders`)}
        FROM (${holdings(where)}) ARRAY JOIN products AS product
        GROUP BY tenant_id, product`;
  return sql`SELECT
    tenant_id, antecedent, consequent, both, antecedent_holders, consequent_holders, customers,
    both / customers AS support,
    both / antecedent_holders AS confidence,
    confidence / (consequent_holders / customers) AS lift
FROM
(
    SELECT * FROM
    (
        SELECT * FROM
        (
            SELECT tenant_id, antecedent, consequent, count() AS both
            FROM (${pairs})
            WHERE antecedent != consequent AND ${restrict}
            GROUP BY tenant_id, antecedent, consequent
        ) AS pairs
        ANY INNER JOIN (${holders('antecedent')}) AS antecedents USING (tenant_id, antecedent)
    ) AS with_antecedents
    ANY INNER JOIN (${holders('consequent')}) AS consequents USING (tenant_id, consequent)
) AS with_both
ANY INNER JOIN
(
    SELECT tenant_id, uniqExact(customer_id) AS customers
    FROM crm_events WHERE kind = 'holdings' AND ${where}
    GROUP BY tenant_id
) AS totals USING (tenant_id)`;
}

/**
 * Rules with support ≥ minSupport and confidence ≥ minConfidence from the newest stored refresh
 * of each tenant (refreshCrossSellRulesQuery), strongest lift first, then confidence, then
 * support; at most `limit`, each with the time of its refresh. No rules for a tenant whose rules
 * were never refreshed. Cost: a read of the stored rules, never a pass over the holdings.
 */
export function crossSellRulesQuery(
  scope: Scope,
  opts: { minSupport: number; minConfidence: number; limit: number },
): Sql {
  const minSupport = checkFraction('minSupport', opts.minSupport);
  const minConfidence = checkFraction('minConfidence', opts.minConfidence);
  const limit = checkLimit('limit', opts.limit);
  const bound = tenantBound(scope);
  // FINAL: a refresh stored twice under one computed_at has its rows twice until they merge.
  return sql`SELECT tenant_id, antecedent, consequent, both, antecedent_holders, consequent_holders,
    customers, support, confidence, lift, toUInt64(computed_at) AS computed_at_s
FROM cross_sell_rules FINAL
WHERE ${bound}
  AND (tenant_id, computed_at) IN
      (SELECT tenant_id, max(computed_at) FROM cross_sell_rules WHERE ${bound} GROUP BY tenant_id)
  AND support >= ${minSupport} AND confidence >= ${minConfidence}
ORDER BY lift DESC, confidence DESC, support DESC, tenant_id, antecedent, consequent
LIMIT ${limit}`;
}

/**
 * Mines every tenant's rules from the current holdings and stores them in cross_sell_rules as
 * the refresh of `computedAt`. A system job (e.g. nightly), not a request: it reads and writes
 * every tenant, so it takes no Scope. The next best offer uses the newest refresh.
 */
export function refreshCrossSellRulesQuery(opts: { computedAt: Date }): Sql {
  const computedAt = checkDate('computedAt', opts.computedAt);
  return sql`INSERT INTO cross_sell_rules
    (tenant_id, antecedent, consequent, both, antecedent_holders, consequent_holders, customers,
     support, confidence, lift, computed_at)
SELECT tenant_id, antecedent, consequent, both, antecedent_holders, consequent_holders, customers,
    support, confidence, lift, ${computedAt}
FROM (${rules(raw('1'), undefined)})`;
}

/**
 * The one product the customer does not hold yet whose rule from a product they do hold has
 * the highest confidence (then lift, then support), from the newest stored refresh of the
 * customer's tenant's rules (refreshCrossSellRulesQuery); no row when no rule applies or the
 * tenant's rules were never refreshed. Cost: a point look-up of the customer's latest holdings
 * (customer_holdings) and the tenant's stored rules, never a pass over all customers.
 */
export function nextBestOfferQuery(scope: Scope, opts: { customerId: string }): Sql {
  const customerId = checkId('customerId', opts.customerId);
  const bound = tenantBound(scope);
  // customer_holdings (migration 021) is keyed by customer id: a point look-up.
  const owned = sql`SELECT tenant_id, arrayJoin(argMaxMerge(latest))
        FROM customer_holdings
        WHERE customer_id = ${customerId} AND ${bound}
        GROUP BY tenant_id`;
  return sql`SELECT
    tenant_id, ${customerId} AS customer_id, consequent AS product_id, antecedent, support, confidence, lift
FROM cross_sell_rules
WHERE ${bound}
  AND (tenant_id, computed_at) IN
      (SELECT tenant_id, max(computed_at) FROM cross_sell_rules WHERE ${bound} GROUP BY tenant_id)
  AND (tenant_id, antecedent) IN (${owned})
  AND (tenant_id, consequent) NOT IN (${owned})
ORDER BY confidence DESC, lift DESC, support DESC, consequent, antecedent
LIMIT 1`;
}

function num(row: Record<string, unknown>, key: string): number {
  const v = Number(row[key]);
  if (!Number.isFinite(v))
    throw new Error(`cross-sell row: ${key} is ${JSON.stringify(row[key])}, not a number`);
  return v;
}

function str(row: Record<string, unknown>, key: string): string {
  const v = row[key];
  if (typeof v !== 'string')
    throw new Error(`cross-sell row: ${key} is ${JSON.stringify(v)}, not a string`);
  return v;
}

/** Rows of crossSellRulesQuery (JSONEachRow; UInt64 counts may arrive as strings). */
export function parseCrossSellRuleRows(raw: readonly unknown[]): CrossSellRuleRow[] {
  return raw.map((r) => {
    const row = r as Record<string, unknown>;
    return {
      tenant_id: str(row, 'tenant_id'),
      antecedent: str(row, 'antecedent'),
      consequent: str(row, 'consequent'),
      both: num(row, 'both'),
      antecedent_holders: num(row, 'antecedent_holders'),
      consequent_holders: num(row, 'consequent_holders'),
      customers: num(row, 'customers'),
      support: num(row, 'support'),
      confidence: num(row, 'confidence'),
      lift: num(row, 'lift'),
      computed_at: new Date(num(row, 'computed_at_s') * 1000).toISOString(),
    };
  });
}

/** Rows of nextBestOfferQuery: zero or one offer. */
export function parseNextBestOfferRows(raw: readonly unknown[]): NextBestOfferRow[] {
  return raw.map((r) => {
    const row = r as Record<string, unknown>;
    return {
      tenant_id: str(row, 'tenant_id'),
      customer_id: str(row, 'customer_id'),
      product_id: str(row, 'product_id'),
      antecedent: str(row, 'antecedent'),
      support: num(row, 'support'),
      confidence: num(row, 'confidence'),
      lift: num(row, 'lift'),
    };
  });
}
