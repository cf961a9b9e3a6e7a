// Cross-sell rules on a hand-computed fixture, the next best offer for customers on the line,
// and its latency on a generated population.
import {
  crossSellRulesQuery,
  nextBestOfferQuery,
  parseCrossSellRuleRows,
  refreshCrossSellRulesQuery,
  parseNextBestOfferRows,
} from '@ccfed/analytics/cross-sell';
import { generatePopulation } from '@ccfed/analytics/population';
import type { Scope } from '@ccfed/analytics/scope';
import { assertRunsOnCurrentClickHouse, migratedDatabaseSetup } from '@ccfed/services';
import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clickhouseEnv, freshDatabase, rows } from '../support/engines.js';
import { runJob } from '../support/processes.js';

const hq: Scope = { role: 'hq' };
let fixture: ClickHouseClient;
let fixtureDatabase: string;

function holdings(tenant: string, customer: string, time: string, products: string[]) {
  return {
    event_id: `${tenant}-${customer}-${time}`,
    tenant_id: tenant,
    site_id: 's-north',
    customer_id: customer,
    kind: 'holdings',
    event_time: time,
    event_date: time.slice(0, 10),
    customer_value_minor: 1000,
    product_ids: products,
  };
}

beforeAll(async () => {
  ({ client: fixture, database: fixtureDatabase } = await freshDatabase());
  await fixture.insert({
    table: 'crm_events',
    format: 'JSONEachRow',
    values: [
      // c1's older snapshot (mortgage) is superseded by the later one.
      holdings('t-one', 'c1', '2026-01-01 00:00:00', ['mortgage']),
      holdings('t-one', 'c1', '2026-03-01 00:00:00', ['checking', 'savings']),
      holdings('t-one', 'c2', '2026-03-01 00:00:00', ['checking', 'savings', 'card']),
      holdings('t-one', 'c3', '2026-03-01 00:00:00', ['checking', 'card', 'card']),
      holdings('t-one', 'c4', '2026-03-01 00:00:00', ['savings']),
      holdings('t-one', 'c5', '2026-03-01 00:00:00', []),
      holdings('t-two', 'c9', '2026-03-01 00:00:00', ['checking', 'savings']),
      // Not a holdings snapshot: ignored.
      {
        ...holdings('t-one', 'c4', '2026-04-01 00:00:00', []),
        kind: 'purchase',
        product_id: 'card',
      },
    ],
  });
  await fixture.command({
    query: refreshCrossSellRulesQuery({ computedAt: new Date('2026-04-01T00:00:00Z') }).text,
  });
});

afterAll(async () => {
  await fixture?.close();
});

const rule = (
  tenant: string,
  a: string,
  c: string,
  both: number,
  na: number,
  nc: number,
  n: number,
) => ({
  tenant_id: tenant,
  antecedent: a,
  consequent: c,
  both,
  antecedent_holders: na,
  consequent_holders: nc,
  customers: n,
});

describe('cross-sell rules', () => {
  // t-one: 5 customers with a snapshot (c5's is empty); checking 3, savings 3, card 2.
  it('computes support, confidence and lift from the latest holdings, per tenant', async () => {
    const got = parseCrossSellRuleRows(
      await rows(
        fixture,
        crossSellRulesQuery(hq, { minSupport: 0.3, minConfidence: 0.5, limit: 10 }).text,
      ),
    );
    expect(
      got.map((r) => ({
        tenant_id: r.tenant_id,
        antecedent: r.antecedent,
        consequent: r.consequent,
        both: r.both,
        antecedent_holders: r.antecedent_holders,
        consequent_holders: r.consequent_holders,
        customers: r.customers,
      })),
    ).toEqual([
      rule('t-one', 'card', 'checking', 2, 2, 3, 5),
      rule('t-one', 'checking', 'card', 2, 3, 2, 5),
      rule('t-one', 'checking', 'savings', 2, 3, 3, 5),
      rule('t-one', 'savings', 'checking', 2, 3, 3, 5),
      rule('t-two', 'checking', 'savings', 1, 1, 1, 1),
      rule('t-two', 'savings', 'checking', 1, 1, 1, 1),
    ]);
    const measures = got.map((r) => [r.support, r.confidence, r.lift]);
    const expected = [
      [0.4, 1, 5 / 3],
      [0.4, 2 / 3, 5 / 3],
      [0.4, 2 / 3, 10 / 9],
      [0.4, 2 / 3, 10 / 9],
      [1, 1, 1],
      [1, 1, 1],
    ];
    measures.forEach((m, i) => m.forEach((v, j) => expect(v).toBeCloseTo(expected[i]![j]!, 12)));
  });

  it('keeps rules under the thresholds out, and a tenant client to its own tenant', async () => {
    const low = parseCrossSellRuleRows(
      await rows(
        fixture,
        crossSellRulesQuery(hq, { minSupport: 0.2, minConfidence: 0.3, limit: 100 }).text,
      ),
    );
    // savings → card: support 1/5, confidence 1/3, lift (1/3)/(2/5) = 5/6.
    const savingsCard = low.find((r) => r.antecedent === 'savings' && r.consequent === 'card');
    expect(savingsCard?.support).toBeCloseTo(0.2, 12);
    expect(savingsCard?.confidence).toBeCloseTo(1 / 3, 12);
    expect(savingsCard?.lift).toBeCloseTo(5 / 6, 12);
    expect(low.some((r) => r.antecedent === 'mortgage' || r.consequent === 'mortgage')).toBe(false);
    expect(low).toHaveLength(8);

    const tenant = parseCrossSellRuleRows(
      await rows(
        fixture,
        crossSellRulesQuery(
          { role: 'tenant', tenantId: 't-two' },
          { minSupport: 0.1, minConfidence: 0.1, limit: 100 },
        ).text,
      ),
    );
    expect(tenant.map((r) => [r.tenant_id, r.antecedent, r.consequent])).toEqual([
      ['t-two', 'checking', 'savings'],
      ['t-two', 'savings', 'checking'],
    ]);
    const one = await rows(
      fixture,
      crossSellRulesQuery(hq, { minSupport: 0.3, minConfidence: 0.5, limit: 1 }).text,
    );
    expect(one).toHaveLength(1);
  });

  it('reads the newest stored refresh of each tenant, says when it was mined, and nothing before one', async () => {
    const { client: db } = await freshDatabase();
    try {
      const read = async (scope: Scope = hq) =>
        parseCrossSellRuleRows(
          await rows(
            db,
            crossSellRulesQuery(scope, { minSupport: 0.1, minConfidence: 0.1, limit: 100 }).text,
          ),
        );
      await db.insert({
        table: 'crm_events',
        format: 'JSONEachRow',
        values: [
          holdings('t-one', 'c1', '2026-03-01 00:00:00', ['checking', 'savings']),
          holdings('t-one', 'c2', '2026-03-01 00:00:00', ['checking']),
        ],
      });
      // Holdings alone are not rules: the rules are mined by the refresh, not per request.
      expect(await read()).toEqual([]);
      const first = new Date('2026-04-01T00:00:00Z');
      await db.command({ query: refreshCrossSellRulesQuery({ computedAt: first }).text });
      expect((await read()).map((r) => [r.antecedent, r.consequent, r.computed_at])).toEqual([
        ['savings', 'checking', first.toISOString()],
        ['checking', 'savings', first.toISOString()],
      ]);
      // c2 now holds savings too; until the next refresh the rules stay as mined.
      await db.insert({
        table: 'crm_events',
        format: 'JSONEachRow',
        values: [holdings('t-one', 'c2', '2026-04-02 00:00:00', ['checking', 'savings'])],
      });
      expect((await read()).map((r) => r.confidence)).toEqual([1, 0.5]);
      const second = new Date('2026-04-02T01:00:00Z');
      await db.command({ query: refreshCrossSellRulesQuery({ computedAt: second }).text });
      // The same refresh stored twice is read once.
      await db.command({ query: refreshCrossSellRulesQuery({ computedAt: second }).text });
      const now = await read();
      expect(now.map((r) => [r.antecedent, r.consequent, r.confidence, r.computed_at])).toEqual([
        ['checking', 'savings', 1, second.toISOString()],
        ['savings', 'checking', 1, second.toISOString()],
      ]);
      expect(await read({ role: 'tenant', tenantId: 't-two' })).toEqual([]);
      expect(await read({ role: 'site', siteId: 's-east' })).toEqual(now);
    } finally {
      await db.close();
    }
  });
});

describe('next best offer', () => {
  const offer = async (customerId: string, scope: Scope = hq) =>
    parseNextBestOfferRows(await rows(fixture, nextBestOfferQuery(scope, { customerId }).text));

  it('offers the highest-confidence product the customer does not hold, with the rule behind it', async () => {
    // c4 holds savings: savings → checking (2/3) beats savings → card (1/3).
    expect(await offer('c4')).toEqual([
      expect.objectContaining({
        tenant_id: 't-one',
        customer_id: 'c4',
        product_id: 'checking',
        antecedent: 'savings',
      }),
    ]);
    // c3 holds checking and card: savings via checking (2/3) beats via card (1/2).
    const [c3] = await offer('c3');
    expect(c3).toMatchObject({ product_id: 'savings', antecedent: 'checking' });
    expect(c3!.confidence).toBeCloseTo(2 / 3, 12);
    expect(c3!.lift).toBeCloseTo(10 / 9, 12);
    // c1's latest snapshot counts (checking, savings), not the old mortgage: card via checking.
    expect(await offer('c1')).toMatchObject([{ product_id: 'card', antecedent: 'checking' }]);
  });

  it('offers nothing when no rule applies, or when the customer is outside the scope', async () => {
    expect(await offer('c2')).toEqual([]); // holds every product anyone holds
    expect(await offer('c5')).toEqual([]); // holds nothing, so no rule starts anywhere
    expect(await offer('c9')).toEqual([]); // t-two: nothing left to offer
    expect(await offer('nobody')).toEqual([]);
    expect(await offer('c4', { role: 'tenant', tenantId: 't-two' })).toEqual([]);
    expect(await offer('c4', { role: 'tenant', tenantId: 't-one' })).toHaveLength(1);
  });

  it('offers nothing to a customer of a tenant whose rules were never refreshed', async () => {
    await fixture.insert({
      table: 'crm_events',
      format: 'JSONEachRow',
      values: [
        holdings('t-three', 'd1', '2026-04-02 00:00:00', ['checking', 'savings']),
        holdings('t-three', 'd2', '2026-04-02 00:00:00', ['checking']),
      ],
    });
    expect(await offer('d2')).toEqual([]);
  });

  it('offers from the newest refresh of the rules only', async () => {
    // A new t-two customer holding checking and card makes checking → card a t-two rule.
    await fixture.insert({
      table: 'crm_events',
      format: 'JSONEachRow',
      values: [holdings('t-two', 'c8', '2026-04-02 00:00:00', ['checking', 'card'])],
    });
    expect(await offer('c9')).toEqual([]); // the stored t-two rules predate c8
    await fixture.command({
      query: refreshCrossSellRulesQuery({ computedAt: new Date('2026-04-02T00:00:00Z') }).text,
    });
    // t-two now: checking 2, savings 1, card 1 of 2 customers; checking → card has confidence 1/2.
    const [c9] = await offer('c9');
    expect(c9).toMatchObject({
      tenant_id: 't-two',
      product_id: 'card',
      antecedent: 'checking',
      confidence: 0.5,
    });
    expect(c9!.lift).toBeCloseTo(1, 12);
    // t-three's rules now exist too: checking → savings, support 1/2, confidence 1/2, lift 1.
    expect(await offer('d2')).toEqual([
      {
        tenant_id: 't-three',
        customer_id: 'd2',
        product_id: 'savings',
        antecedent: 'checking',
        support: 0.5,
        confidence: 0.5,
        lift: 1,
      },
    ]);
    // t-one's answers come from its own newest refresh, unchanged.
    expect(await offer('c4')).toMatchObject([{ product_id: 'checking', antecedent: 'savings' }]);
  });

  it('the scheduled refresh job (refresh-cross-sell-cli) stores a refresh the offers then use', async () => {
    await fixture.insert({
      table: 'crm_events',
      format: 'JSONEachRow',
      values: [
        holdings('t-four', 'e1', '2026-04-03 00:00:00', ['checking', 'savings']),
        holdings('t-four', 'e2', '2026-04-03 00:00:00', ['checking']),
      ],
    });
    expect(await offer('e2')).toEqual([]);
    const job = await runJob('central/analytics/src/refresh-cross-sell-cli.ts', {
      ...clickhouseEnv('analytics', fixtureDatabase),
    });
    expect(job.code).toBe(0);
    expect(job.stdout).toContain('"event":"cross_sell_rules_refreshed"');
    expect(await offer('e2')).toMatchObject([{ product_id: 'savings', antecedent: 'checking' }]);

    const bad = await runJob('central/analytics/src/refresh-cross-sell-cli.ts', {
      CCFED_CLICKHOUSE_URL: 'not a url',
    });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/CCFED_CLICKHOUSE_URL: required: ClickHouse HTTP URL/);
  });

  it('answers in milliseconds for a customer of a 5,000-customer population', async () => {
    const { client } = await freshDatabase();
    try {
      const population = generatePopulation({
        customers: 5000,
        asOf: new Date('2026-06-01T00:00:00Z'),
        seed: 11,
      });
      await client.insert({
        table: 'crm_events',
        values: [...population.crmEvents],
        format: 'JSONEachRow',
      });
      const ids = population.customers.slice(0, 40).map((c) => c.customerId);
      expect(await rows(client, nextBestOfferQuery(hq, { customerId: ids[0]! }).text)).toEqual([]);
      await client.command({
        query: refreshCrossSellRulesQuery({ computedAt: new Date('2026-06-01T00:00:00Z') }).text,
      });
      const times: number[] = [];
      let offers = 0;
      for (const customerId of ids) {
        const started = performance.now();
        const got = parseNextBestOfferRows(
          await rows(client, nextBestOfferQuery(hq, { customerId }).text),
        );
        times.push(performance.now() - started);
        offers += got.length;
      }
      times.sort((a, b) => a - b);
      const median = times[Math.floor(times.length / 2)]!;
      console.info(
        `next best offer from stored rules, 5,000 customers: median ${median.toFixed(1)} ms, max ${times.at(-1)!.toFixed(1)} ms`,
      );
      expect(offers).toBeGreaterThan(20);
      // A loose bound that only catches a pathological plan, not a slow machine.
      expect(median).toBeLessThan(100);
    } finally {
      await client.close();
    }
  });

  it('runs on current ClickHouse too', async () => {
    await assertRunsOnCurrentClickHouse(migratedDatabaseSetup(), [
      {
        name: 'rules hq',
        sql: crossSellRulesQuery(hq, { minSupport: 0.1, minConfidence: 0.1, limit: 10 }).text,
      },
      {
        name: 'rules tenant',
        sql: crossSellRulesQuery(
          { role: 'tenant', tenantId: 't' },
          { minSupport: 0.1, minConfidence: 0.1, limit: 10 },
        ).text,
      },
      {
        name: 'refresh',
        sql: refreshCrossSellRulesQuery({ computedAt: new Date('2026-04-01T00:00:00Z') }).text,
      },
      { name: 'nbo hq', sql: nextBestOfferQuery(hq, { customerId: 'c1' }).text },
      {
        name: 'nbo tenant',
        sql: nextBestOfferQuery({ role: 'tenant', tenantId: 't' }, { customerId: 'c1' }).text,
      },
    ]);
  });
});
