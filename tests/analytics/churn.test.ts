// Churn risk validated on a generated population whose churn is drawn from a hidden model
// (central/analytics/src/population.ts): the score sees only the behaviour written to the raw
// tables, and must rank the customers who then churn above those who stay (AUC ≥ 0.8).
// The call-back list reads the stored scoring (churn-scoring.ts), so the population is scored
// once as of asOf by the job's own code before the list is read; churnScoresQuery (the same
// model) is what the AUC is measured on, and the stored run must hold exactly its rows.
import {
  churnCallbackQuery,
  churnLabelsQuery,
  churnScoresQuery,
  parseChurnCallbackRows,
  parseChurnRows,
  type ChurnCallbackRow,
  type ChurnScoreRow,
} from '@ccfed/analytics/churn';
import { CHURN_FEATURES, rocAuc, scoreChurn } from '@ccfed/analytics/churn-model';
import {
  churnTenantsQuery,
  completeChurnRunQuery,
  dropChurnRunQueries,
  runChurnScoring,
  scoreChurnTenantQuery,
  staleChurnPartitionsQuery,
  type ScoringDeps,
} from '@ccfed/analytics/churn-scoring';
import { generatePopulation, type Population } from '@ccfed/analytics/population';
import type { Scope } from '@ccfed/analytics/scope';
import { assertRunsOnCurrentClickHouse, migratedDatabaseSetup } from '@ccfed/services';
import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clickhouseEnv, freshDatabase, rows } from '../support/engines.js';
import { runJob } from '../support/processes.js';

const asOf = new Date('2026-06-01T00:00:00Z');
const horizonEnd = new Date(asOf.getTime() + 60 * 86_400_000);
let client: ClickHouseClient;
let population: Population;

async function churnRows(query: { text: string }): Promise<ChurnScoreRow[]> {
  return parseChurnRows(await rows<unknown>(client, query.text));
}

async function callbackRows(query: { text: string }): Promise<ChurnCallbackRow[]> {
  return parseChurnCallbackRows(await rows<unknown>(client, query.text));
}

function scoringDeps(db: ClickHouseClient): ScoringDeps {
  return {
    command: async (q) => {
      await db.command({ query: q.text });
    },
    rows: (q) => rows(db, q.text),
  };
}

beforeAll(async () => {
  ({ client } = await freshDatabase());
  population = generatePopulation({ customers: 5000, asOf, seed: 11 });
  await client.insert({
    table: 'call_events',
    values: [...population.callEvents],
    format: 'JSONEachRow',
  });
  await client.insert({ table: 'surveys', values: [...population.surveys], format: 'JSONEachRow' });
  await client.insert({
    table: 'crm_events',
    values: [...population.crmEvents],
    format: 'JSONEachRow',
  });
  await runChurnScoring(scoringDeps(client), { scoredAt: asOf, keep: 48 });
});

afterAll(async () => {
  await client?.close();
});

describe('churn risk on a generated population', () => {
  it('ranks the customers who churn in the next 60 days above those who stay (AUC ≥ 0.8)', async () => {
    const scores = await churnRows(churnScoresQuery({ role: 'hq' }, { asOf }));
    const active = population.customers.filter((c) => !c.churnedBeforeAsOf);
    // Every customer still active at asOf is scored, none who had already left.
    expect(new Set(scores.map((s) => s.customer_id))).toEqual(
      new Set(active.map((c) => c.customerId)),
    );

    // The label comes from the database, as it would in production, and matches the draw.
    const labelRows = await rows<{ customer_id: string }>(
      client,
      churnLabelsQuery({ role: 'hq' }, { from: asOf, to: horizonEnd }).text,
    );
    const churned = new Set(labelRows.map((r) => r.customer_id));
    expect(churned).toEqual(
      new Set(active.filter((c) => c.churnsAfterAsOf).map((c) => c.customerId)),
    );

    const auc = rocAuc(
      scores.map((s) => s.risk),
      scores.map((s) => churned.has(s.customer_id)),
    );
    console.info(`churn AUC on 5,000 generated customers (seed 11): ${auc.toFixed(3)}`);
    expect(auc).toBeGreaterThanOrEqual(0.8);

    // SQL and the pure model compute the same risk from the same features.
    for (const s of scores.slice(0, 200)) expect(s.risk).toBeCloseTo(scoreChurn(s).risk, 9);

    // The stored run holds exactly these scores, so the call-back list ranks by the validated model.
    const stored = await callbackRows(churnCallbackQuery({ role: 'hq' }, { limit: 1000, asOf }));
    const byCustomer = new Map(scores.map((s) => [s.customer_id, s]));
    const [count] = await rows<{ n: string }>(
      client,
      `SELECT count() AS n FROM churn_scores WHERE scored_at = toDateTime('2026-06-01 00:00:00', 'UTC')`,
    );
    expect(Number(count!.n)).toBe(scores.length);
    for (const row of stored) {
      const { scored_at, model_version, ...score } = row;
      expect(scored_at).toBe(asOf.toISOString());
      expect(model_version).toBe('hand-set-v1');
      expect(score).toEqual(byCustomer.get(row.customer_id));
    }
  });

  it('lists not-yet-churned customers by risk × value, each with the reasons for its risk', async () => {
    const list = await callbackRows(churnCallbackQuery({ role: 'hq' }, { limit: 300, asOf }));
    expect(list).toHaveLength(300);
    const gone = new Set(
      population.customers.filter((c) => c.churnedBeforeAsOf).map((c) => c.customerId),
    );
    const byId = new Map(population.customers.map((c) => [c.customerId, c]));
    for (const [i, row] of list.entries()) {
      expect(gone.has(row.customer_id)).toBe(false);
      expect(row.priority).toBeCloseTo(row.risk * row.value, 3);
      expect(row.value).toBe(byId.get(row.customer_id)!.valueMinor);
      if (i > 0) expect(row.priority).toBeLessThanOrEqual(list[i - 1]!.priority);
      expect(row.reasons.length).toBeGreaterThan(0);
      for (const reason of row.reasons) expect(CHURN_FEATURES).toContain(reason);
      expect(row.reasons).toEqual(scoreChurn(row).reasons);
    }
    // The list is worth calling: its customers churn far more often than the population's.
    const churnRate = (ids: string[]) =>
      ids.filter((id) => byId.get(id)!.churnsAfterAsOf).length / ids.length;
    const everyone = population.customers
      .filter((c) => !c.churnedBeforeAsOf)
      .map((c) => c.customerId);
    expect(churnRate(list.map((r) => r.customer_id))).toBeGreaterThan(1.5 * churnRate(everyone));
  });

  it('books each customer on the site that last handled one of their calls, else their CRM site', async () => {
    // The handling site of each call (answered or abandoned there), and when the call arrived.
    const handledAt = new Map<string, string>();
    for (const e of population.callEvents)
      if (e.kind === 'answered' || e.kind === 'abandoned')
        handledAt.set(String(e.call_id), String(e.site_id));
    const lastCall = new Map<string, { arrival: string; site: string }>();
    for (const e of population.callEvents) {
      if (e.kind !== 'offered') continue;
      const customer = String(e.customer_id);
      const arrival = String(e.arrival_time);
      const seen = lastCall.get(customer);
      if (!seen || seen.arrival < arrival)
        lastCall.set(customer, { arrival, site: handledAt.get(String(e.call_id))! });
    }
    const homeSite = new Map(population.customers.map((c) => [c.customerId, c.homeSite]));
    const list = await callbackRows(
      churnCallbackQuery({ role: 'hq' }, { siteId: 's-south', limit: 200, asOf }),
    );
    expect(list.length).toBe(200);
    for (const row of list) {
      expect(row.site_id).toBe('s-south');
      expect(lastCall.get(row.customer_id)?.site ?? homeSite.get(row.customer_id)).toBe('s-south');
    }
  });

  it("shows a tenant client only its own customers, and a site supervisor only its site's", async () => {
    const tenant: Scope = { role: 'tenant', tenantId: 't-beta' };
    const tenantList = await callbackRows(churnCallbackQuery(tenant, { limit: 1000, asOf }));
    expect(tenantList.length).toBeGreaterThan(100);
    const tenantOf = new Map(population.customers.map((c) => [c.customerId, c.tenantId]));
    for (const row of tenantList) {
      expect(row.tenant_id).toBe('t-beta');
      expect(tenantOf.get(row.customer_id)).toBe('t-beta');
    }
    // Naming another site does not widen a supervisor's view: the scope wins.
    const site: Scope = { role: 'site', siteId: 's-north' };
    expect(
      await callbackRows(churnCallbackQuery(site, { siteId: 's-east', limit: 50, asOf })),
    ).toEqual([]);
    const siteList = await callbackRows(churnCallbackQuery(site, { limit: 50, asOf }));
    expect(siteList.length).toBe(50);
    for (const row of siteList) expect(row.site_id).toBe('s-north');
  });

  it('runs on current ClickHouse too', async () => {
    await assertRunsOnCurrentClickHouse(migratedDatabaseSetup(), [
      { name: 'scores', sql: churnScoresQuery({ role: 'hq' }, { asOf }).text },
      { name: 'callback hq', sql: churnCallbackQuery({ role: 'hq' }, { limit: 10, asOf }).text },
      {
        name: 'callback tenant+site',
        sql: churnCallbackQuery(
          { role: 'tenant', tenantId: 't-beta' },
          { siteId: 's-east', limit: 10, asOf },
        ).text,
      },
      {
        name: 'callback site',
        sql: churnCallbackQuery({ role: 'site', siteId: 's-east' }, { limit: 10, asOf }).text,
      },
      {
        name: 'labels',
        sql: churnLabelsQuery({ role: 'hq' }, { from: asOf, to: horizonEnd }).text,
      },
      { name: 'tenants', sql: churnTenantsQuery({ scoredAt: asOf }).text },
      ...dropChurnRunQueries({ scoredAt: asOf }).map((q, i) => ({
        name: `drop run ${i}`,
        sql: q.text,
      })),
      {
        name: 'score tenant',
        sql: scoreChurnTenantQuery({ scoredAt: asOf, tenantId: 't-beta' }).text,
      },
      { name: 'complete run', sql: completeChurnRunQuery({ scoredAt: asOf, seconds: 1.5 }).text },
      {
        name: 'stale runs',
        sql: staleChurnPartitionsQuery({ keep: 2, before: horizonEnd }).text,
      },
      { name: 'drop partition', sql: `ALTER TABLE churn_scores DROP PARTITION ID '1780272000'` },
    ]);
  });
});

describe('churn features on a hand-worked customer', () => {
  it('counts only calls that arrived in the window, whenever their later events happened', async () => {
    const { client: db } = await freshDatabase();
    try {
      const DAY = 86_400_000;
      const t = (ms: number) => {
        const iso = new Date(asOf.getTime() + ms).toISOString();
        return { event_time: iso.slice(0, 19).replace('T', ' '), event_date: iso.slice(0, 10) };
      };
      const call = (
        id: string,
        site: string,
        arrivalMs: number,
        end: 'answered' | 'abandoned',
        waitMs: number,
      ) => {
        const base = {
          tenant_id: 't-alpha',
          site_id: site,
          call_id: id,
          skill: 'billing',
          tier: 1,
        };
        return [
          {
            ...base,
            event_id: `${id}-o`,
            kind: 'offered',
            ...t(arrivalMs),
            customer_id: 'z-1',
            arrival_time: t(arrivalMs).event_time,
          },
          {
            ...base,
            event_id: `${id}-e`,
            kind: end,
            ...t(arrivalMs + waitMs),
            wait_ms: waitMs,
            by_caller: end === 'abandoned' ? 1 : 0,
            agent_id: end === 'answered' ? 'ag-1' : '',
          },
        ];
      };
      await db.insert({
        table: 'call_events',
        format: 'JSONEachRow',
        values: [
          ...call('za', 's-north', -95 * DAY, 'abandoned', 200_000), // before the 90-day window
          ...call('zb', 's-north', -90 * DAY - 600_000, 'answered', 900_000), // arrived just before, answered inside
          ...call('zc', 's-north', -89 * DAY, 'abandoned', 150_000), // abandon + long wait
          ...call('zd', 's-east', -10 * DAY, 'answered', 5_000), // 30-day contact
          ...call('ze', 's-south', -5 * DAY, 'answered', 130_000), // 30-day contact + long wait, last call
          ...call('zf', 's-east', DAY, 'answered', 1_000), // after asOf
        ],
      });
      await db.insert({
        table: 'surveys',
        format: 'JSONEachRow',
        values: [
          {
            event_id: 'zs',
            tenant_id: 't-alpha',
            site_id: 's-south',
            call_id: 'ze',
            customer_id: 'z-1',
            ...t(-5 * DAY + 600_000),
            csat: 1,
            complaint_severity: 4,
          },
        ],
      });
      await db.insert({
        table: 'crm_events',
        format: 'JSONEachRow',
        values: [
          {
            event_id: 'zh',
            tenant_id: 't-alpha',
            site_id: 's-north',
            customer_id: 'z-1',
            kind: 'holdings',
            ...t(-200 * DAY),
            customer_value_minor: 5000,
            product_ids: ['card'],
          },
          {
            event_id: 'zi',
            tenant_id: 't-alpha',
            site_id: 's-north',
            customer_id: 'z-1',
            kind: 'cancellation',
            ...t(-20 * DAY),
            intent_only: 1,
            customer_value_minor: 0,
          },
        ],
      });
      const [row] = parseChurnRows(await rows(db, churnScoresQuery({ role: 'hq' }, { asOf }).text));
      expect(row).toMatchObject({
        customer_id: 'z-1',
        site_id: 's-south',
        value: 5000,
        repeat_contacts: 1,
        complaint: 3,
        abandons: 1,
        long_waits: 2,
        low_csat: 1,
        cancellation_intent: 1,
      });
      // z = −2.6 + 0.3 + 1.35 + 0.35 + 0.5 + 0.6 + 1.6 = 2.1
      expect(row!.risk).toBeCloseTo(1 / (1 + Math.exp(-2.1)), 9);
      expect(row!.reasons).toEqual([
        'cancellation_intent',
        'complaint',
        'low_csat',
        'long_waits',
        'abandons',
        'repeat_contacts',
      ]);
    } finally {
      await db.close();
    }
  });
});

describe('stored churn scoring runs', () => {
  const HOUR = 3_600_000;
  const at = (hours: number) => new Date(asOf.getTime() + hours * HOUR);

  it('shows a run only once it is complete, the run in force at asOf, and keeps the newest runs', async () => {
    const { client: db } = await freshDatabase();
    try {
      const small = generatePopulation({ customers: 400, asOf, seed: 5 });
      await db.insert({
        table: 'call_events',
        values: [...small.callEvents],
        format: 'JSONEachRow',
      });
      await db.insert({ table: 'surveys', values: [...small.surveys], format: 'JSONEachRow' });
      await db.insert({ table: 'crm_events', values: [...small.crmEvents], format: 'JSONEachRow' });
      const list = async (when: Date, scope: Scope = { role: 'hq' }) =>
        parseChurnCallbackRows(
          await rows(db, churnCallbackQuery(scope, { limit: 1000, asOf: when }).text),
        );
      // Nothing scored yet: an empty list, not a pass over the calls.
      expect(await list(at(5))).toEqual([]);

      const first = await runChurnScoring(scoringDeps(db), {
        scoredAt: asOf,
        keep: 2,
        controlShare: 0,
      });
      const active = small.customers.filter((c) => !c.churnedBeforeAsOf);
      expect(first).toMatchObject({ customers: active.length, removedRuns: 0 });
      expect(first.tenants).toBe(new Set(active.map((c) => c.tenantId)).size);
      expect((await list(at(5))).map((r) => r.scored_at)).toEqual(
        active.map(() => asOf.toISOString()),
      );

      // A run being written (rows of one tenant, no run row yet) is invisible to readers.
      await db.command({
        query: scoreChurnTenantQuery({ scoredAt: at(1), tenantId: 't-beta', controlShare: 0 }).text,
      });
      const whileWriting = await list(at(5));
      expect(whileWriting).toHaveLength(active.length);
      expect(new Set(whileWriting.map((r) => r.scored_at))).toEqual(new Set([asOf.toISOString()]));
      // Once complete it is the run in force from its scored_at on, and the older one before.
      await db.command({ query: completeChurnRunQuery({ scoredAt: at(1), seconds: 0.1 }).text });
      const partial = await list(at(5));
      expect(partial.length).toBeGreaterThan(0);
      for (const row of partial) {
        expect(row.scored_at).toBe(at(1).toISOString());
        expect(row.tenant_id).toBe('t-beta');
      }
      expect((await list(at(0.5)))[0]!.scored_at).toBe(asOf.toISOString());
      expect(await list(new Date(asOf.getTime() - 1000))).toEqual([]);

      // An unfinished run (rows, no run row) and runs beyond the newest `keep` are removed.
      await db.command({
        query: scoreChurnTenantQuery({ scoredAt: at(2), tenantId: 't-alpha' }).text,
      });
      const third = await runChurnScoring(scoringDeps(db), {
        scoredAt: at(3),
        keep: 2,
        controlShare: 0,
      });
      expect(third.removedRuns).toBe(2); // the run of asOf and the unfinished one of at(2)
      const kept = await rows<{ scored_at: string; customers: string }>(
        db,
        'SELECT toUInt64(scored_at) * 1000 AS scored_at, customers FROM churn_score_runs ORDER BY scored_at',
      );
      expect(kept.map((r) => new Date(Number(r.scored_at)).toISOString())).toEqual([
        at(1).toISOString(),
        at(3).toISOString(),
      ]);
      const stored = await rows<{ scored_at: string }>(
        db,
        'SELECT DISTINCT toUInt64(scored_at) * 1000 AS scored_at FROM churn_scores ORDER BY scored_at',
      );
      expect(stored.map((r) => Number(r.scored_at))).toEqual([at(1).getTime(), at(3).getTime()]);
      expect(await list(at(0.5))).toEqual([]); // older than the oldest run kept

      // Scoring the same time again replaces that run instead of doubling it.
      await runChurnScoring(scoringDeps(db), { scoredAt: at(3), keep: 2, controlShare: 0 });
      expect(await list(at(5))).toHaveLength(active.length);
      expect(await list(at(5), { role: 'tenant', tenantId: 't-beta' })).toHaveLength(
        active.filter((c) => c.tenantId === 't-beta').length,
      );
      await expect(runChurnScoring(scoringDeps(db), { scoredAt: at(4), keep: 0 })).rejects.toThrow(
        /^keep: 0 is not a whole number ≥ 1/,
      );
    } finally {
      await db.close();
    }
  });

  it('the scheduled job (score-churn-cli) stores a complete run the call-back list then reads', async () => {
    const { client: db, database } = await freshDatabase();
    try {
      const small = generatePopulation({ customers: 200, asOf, seed: 7 });
      await db.insert({ table: 'crm_events', values: [...small.crmEvents], format: 'JSONEachRow' });
      const before = Date.now();
      const job = await runJob('central/analytics/src/score-churn-cli.ts', {
        ...clickhouseEnv('analytics', database),
        CCFED_CHURN_KEEP_RUNS: '3',
      });
      expect(job.code).toBe(0);
      expect(job.stdout).toContain('"event":"churn_scored"');
      const list = parseChurnCallbackRows(
        await rows(db, churnCallbackQuery({ role: 'hq' }, { limit: 10, asOf: new Date() }).text),
      );
      expect(list).toHaveLength(10);
      expect(Date.parse(list[0]!.scored_at)).toBeGreaterThanOrEqual(
        Math.floor(before / 1000) * 1000,
      );

      const bad = await runJob('central/analytics/src/score-churn-cli.ts', {
        ...clickhouseEnv('analytics', database),
        CCFED_CHURN_KEEP_RUNS: '0',
      });
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/CCFED_CHURN_KEEP_RUNS: expected a whole number of runs ≥ 1/);
    } finally {
      await db.close();
    }
  });
});
