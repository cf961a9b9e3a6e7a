import { describe, expect, it } from 'vitest';
import {
  crossSellRulesQuery,
  nextBestOfferQuery,
  parseCrossSellRuleRows,
  refreshCrossSellRulesQuery,
} from './cross-sell.js';
import { InvalidOptionError } from './churn-options.js';

const hq = { role: 'hq' } as const;

describe('cross-sell queries', () => {
  it('refuses bad options, naming the field', () => {
    const ok = { minSupport: 0.1, minConfidence: 0.2, limit: 10 };
    expect(() => crossSellRulesQuery(hq, { ...ok, minSupport: 0 })).toThrow(/^minSupport: /);
    expect(() => crossSellRulesQuery(hq, { ...ok, minConfidence: 1.5 })).toThrow(
      /^minConfidence: /,
    );
    expect(() => crossSellRulesQuery(hq, { ...ok, limit: 5000 })).toThrow(/^limit: /);
    expect(() => nextBestOfferQuery(hq, { customerId: "c1' OR '1'='1" })).toThrow(
      InvalidOptionError,
    );
    expect(() => nextBestOfferQuery(hq, { customerId: 'Upper' })).toThrow(/^customerId: /);
    expect(() => refreshCrossSellRulesQuery({ computedAt: new Date('no') })).toThrow(
      /^computedAt: /,
    );
  });

  it('keeps a tenant client inside its tenant when reading rules and when offering', () => {
    const scope = { role: 'tenant', tenantId: 't-two' } as const;
    const rules = crossSellRulesQuery(scope, {
      minSupport: 0.1,
      minConfidence: 0.1,
      limit: 5,
    }).text;
    // the stored rules and the newest refresh per tenant; never mined from the holdings.
    expect(rules.match(/`tenant_id` = 't-two'/g)).toHaveLength(2);
    expect(rules).toContain('FROM cross_sell_rules');
    expect(rules).not.toContain('crm_events');
    const offer = nextBestOfferQuery(scope, { customerId: 'c-1' }).text;
    expect(offer).toContain("customer_id = 'c-1'");
    expect(offer.match(/`tenant_id` = 't-two'/g)!.length).toBeGreaterThanOrEqual(3);
  });

  it('parses counts that arrive as strings', () => {
    const [rule] = parseCrossSellRuleRows([
      {
        tenant_id: 't',
        antecedent: 'a',
        consequent: 'b',
        both: '2',
        antecedent_holders: '3',
        consequent_holders: '2',
        customers: '5',
        support: 0.4,
        confidence: 0.6666,
        lift: 1.6666,
        computed_at_s: '1775001600',
      },
    ]);
    expect(rule).toMatchObject({
      both: 2,
      customers: 5,
      support: 0.4,
      computed_at: '2026-04-01T00:00:00.000Z',
    });
    expect(() => parseCrossSellRuleRows([{ tenant_id: 't', antecedent: 'a' }])).toThrow(
      /consequent/,
    );
  });
});
