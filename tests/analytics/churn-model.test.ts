// The fitted churn model on real ClickHouse: the scheduled job's own code (runChurnModeling with
// the Python fitter, logged in as the analytics role) fits each tenant's model on a generated
// population with nine months of history (central/analytics/src/churn-population.ts), validates
// it out of time and stores its scores, reasons and figures. It must beat the hand-set model on
// churn that happens after the run; a tenant's model must not change when another tenant's rows
// do; the retention control group must be the same in every run and never reach the call-back
// list, and the uplift must count the study's customers as the population's truth says.
import {
  churnCallbackQuery,
  churnScoresQuery,
  parseChurnCallbackRows,
} from '@ccfed/analytics/churn';
import { churnSnapshotQuery } from '@ccfed/analytics/churn-features';
import { runChurnFit, type ChurnFitResult } from '@ccfed/analytics/churn-fit';
import { rocAuc } from '@ccfed/analytics/churn-model';
import { churnModelRowQuery, runChurnModeling } from '@ccfed/analytics/churn-modeling';
import {
  generateChurnPopulation,
  type ChurnCustomer,
  type ChurnPopulation,
} from '@ccfed/analytics/churn-population';
import {
  parseUpliftRows,
  retentionCohortInsertQuery,
  retentionUpliftQuery,
} from '@ccfed/analytics/retention';
import { assertRunsOnCurrentClickHouse, migratedDatabaseSetup } from '@ccfed/services';
import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clickhouseEnv, freshDatabase, rows } from '../support/engines.js';

const DAY = 86_400_000;
const asOf = new Date('2026-06-01T00:00:00Z');
const CUSTOMERS = 8000;
let client: ClickHouseClient;
let database: string;
let population: ChurnPopulation;
let first: Awaited<ReturnType<typeof runChurnModeling>>;

async function insert(db: ClickHouseClient, p: ChurnPopulation): Promise<void> {
  await db.insert({ table: 'call_events', values: p.callEvents, format: 'JSONEachRow' });
  await db.insert({ table: 'surveys', values: p.surveys, format: 'JSONEachRow' });
  await db.insert({ table: 'crm_events', values: p.crmEvents, format: 'JSONEachRow' });
}

function model(scoredAt: Date, opts: { controlShare?: number } = {}) {
  const env = clickhouseEnv('analytics', database);
  return runChurnModeling(
    {
      command: async (q) => {
        await client.command({ query: q.text });
      },
      rows: (q) => rows(client, q.text),
      fit: (request) => runChurnFit(request, env),
    },
    // 0.3: enough customers enter the study at 8,000 customers (production's default is 0.5).
    { scoredAt, keep: 5, callbackRisk: 0.3, ...opts },
  );
}

const churnsWithin = (c: ChurnCustomer, from: Date, days: number) =>
  c.churnedAt !== undefined &&
  c.churnedAt >= from.getTime() &&
  c.churnedAt < from.getTime() + days * DAY;

beforeAll(async () => {
  ({ client, database } = await freshDatabase());
  population = generateChurnPopulation({ asOf, seed: 3 }, 0, CUSTOMERS);
  await insert(client, population);
  first = await model(asOf);
});

afterAll(async () => {
  await client?.command({ query: `DROP DATABASE IF EXISTS ${database}` });
  await client?.close();
});

describe('the fitted churn model', () => {
  it("fits each tenant's model on its history and beats the hand-set model out of time", async () => {
    expect(first.tenants.map((t) => t.tenant_id)).toEqual(['t-alpha', 't-beta']);
    for (const t of first.tenants) {
      expect(t.decision, t.reason).toBe('fitted');
      // Validated on churn after a date the fit never saw, against the hand-set model there.
      expect(t.auc!).toBeGreaterThan(t.hand_set_auc! + 0.03);
      expect(t.calibration!.error).toBeLessThan(0.03);
      expect(t.calibration!.bins).toHaveLength(10);
    }
    // And on what really happened after the run: the stored scores against the churn of the
    // 60 days after asOf, next to the hand-set model's scores of the same customers.
    const stored = await rows<{ customer_id: string; risk: number }>(
      client,
      `SELECT customer_id, risk FROM churn_scores`,
    );
    const handSet = new Map(
      (
        await rows<{ customer_id: string; risk: number }>(
          client,
          churnScoresQuery({ role: 'hq' }, { asOf }).text,
        )
      ).map((r) => [r.customer_id, Number(r.risk)]),
    );
    const truth = new Map(population.customers.map((c) => [c.customerId, c]));
    const labels = stored.map((s) => churnsWithin(truth.get(s.customer_id)!, asOf, 60));
    const fitted = rocAuc(
      stored.map((s) => Number(s.risk)),
      labels,
    );
    const handSetAuc = rocAuc(
      stored.map((s) => handSet.get(s.customer_id)!),
      labels,
    );
    console.info(
      `churn AUC on the 60 days after the run, 8,000 generated customers: fitted ${fitted.toFixed(3)}, hand-set ${handSetAuc.toFixed(3)}; validation ${first.tenants.map((t) => `${t.tenant_id} ${t.auc!.toFixed(3)} vs ${t.hand_set_auc!.toFixed(3)}`).join(', ')}`,
    );
    expect(fitted).toBeGreaterThan(handSetAuc + 0.03);
    expect(stored.length).toBe(first.customers);
  });

  it("stores each tenant's model with its run, and the call-back list gives the model's reasons", async () => {
    const models = await rows<Record<string, unknown>>(
      client,
      'SELECT tenant_id, model_version, kind, valid_auc, calibration_error, feature_names, coefficients FROM churn_models ORDER BY tenant_id',
    );
    expect(models.map((m) => [m.tenant_id, m.kind, m.model_version])).toEqual(
      first.tenants.map((t) => [t.tenant_id, 'fitted', t.model_version]),
    );
    expect((models[0]!.feature_names as string[]).length).toBe(
      (models[0]!.coefficients as number[]).length,
    );
    const list = parseChurnCallbackRows(
      await rows(client, churnCallbackQuery({ role: 'hq' }, { limit: 200, asOf }).text),
    );
    expect(list).toHaveLength(200);
    const versions = new Set(first.tenants.map((t) => t.model_version));
    for (const row of list) {
      expect(versions.has(row.model_version)).toBe(true);
      // The fitted model's own reasons: at least one for a high-priority customer, never more
      // than five, and they name its features (plan:…, products:…, counts).
      expect(row.reasons.length).toBeGreaterThan(0);
      expect(row.reasons.length).toBeLessThanOrEqual(5);
      for (const r of row.reasons) expect(r).toMatch(/^[a-z_]+(:[a-z0-9 -]+)?$/);
    }
    // Month-to-month customers churn more: the fitted model names it as a reason somewhere.
    expect(list.some((r) => r.reasons.includes('plan:month-to-month'))).toBe(true);
  });

  it("never lets a tenant's model see another tenant's rows", async () => {
    // Every source of every query the fitter runs for t-alpha is bound to t-alpha: calls,
    // surveys, the agents' wrap-ups (twice: the surveys' exclusion and their own rows), CRM, label.
    const text = churnSnapshotQuery({
      tenantId: 't-alpha',
      asOf,
      labelDays: 60,
      controlShare: 0.1,
    }).text;
    expect(text.match(/tenant_id = 't-alpha'/g)).toHaveLength(6);
    expect(text).not.toContain('t-beta');
    // More and different t-beta history changes t-beta's model and leaves t-alpha's as it was.
    const extra = generateChurnPopulation({ asOf, seed: 99, tenants: ['t-beta'] }, CUSTOMERS, 3000);
    await insert(client, extra);
    const again = await model(asOf);
    const byTenant = (r: typeof first) => new Map(r.tenants.map((t) => [t.tenant_id, t]));
    const [before, after] = [byTenant(first), byTenant(again)];
    expect(after.get('t-alpha')!.model_version).toBe(before.get('t-alpha')!.model_version);
    expect(after.get('t-alpha')!.coefficients).toEqual(before.get('t-alpha')!.coefficients);
    expect(after.get('t-alpha')!.auc).toBe(before.get('t-alpha')!.auc);
    expect(after.get('t-beta')!.model_version).not.toBe(before.get('t-beta')!.model_version);
    expect(after.get('t-beta')!.train.customers).toBeGreaterThan(
      before.get('t-beta')!.train.customers,
    );
  });

  it('falls back to the hand-set model for a tenant with too little history, and says why', async () => {
    const { client: db, database: small } = await freshDatabase();
    try {
      await insert(db, generateChurnPopulation({ asOf, seed: 5, tenants: ['t-tiny'] }, 0, 300));
      const env = clickhouseEnv('analytics', small);
      const run = await runChurnModeling(
        {
          command: async (q) => {
            await db.command({ query: q.text });
          },
          rows: (q) => rows(db, q.text),
          fit: (request) => runChurnFit(request, env),
        },
        { scoredAt: asOf, keep: 2 },
      );
      const [tiny] = run.tenants as ChurnFitResult[];
      expect(tiny!.decision).toBe('fallback');
      expect(tiny!.reason).toMatch(/^too little history: the training snapshot has \d+ customers/);
      const [stored] = await rows<{ kind: string; model_version: string; fallback_reason: string }>(
        db,
        'SELECT kind, model_version, fallback_reason FROM churn_models',
      );
      expect(stored).toEqual({
        kind: 'hand_set',
        model_version: 'hand-set-v1',
        fallback_reason: tiny!.reason,
      });
      const list = parseChurnCallbackRows(
        await rows(db, churnCallbackQuery({ role: 'hq' }, { limit: 20, asOf }).text),
      );
      expect(list.length).toBe(20);
      for (const row of list) expect(row.model_version).toBe('hand-set-v1');
    } finally {
      await db.command({ query: `DROP DATABASE IF EXISTS ${small}` });
      await db.close();
    }
  });
});

describe('the retention control group', () => {
  const groups = async (scoredAt: Date) =>
    new Map(
      (
        await rows<{ customer_id: string; retention_group: string }>(
          client,
          `SELECT customer_id, retention_group FROM churn_scores WHERE scored_at = toDateTime('${scoredAt.toISOString().slice(0, 19).replace('T', ' ')}', 'UTC')`,
        )
      ).map((r) => [r.customer_id, r.retention_group]),
    );

  it('is the same customers in every run, about the share HQ set, and never on the call-back list', async () => {
    const later = new Date(asOf.getTime() + DAY);
    await model(later);
    const [a, b] = [await groups(asOf), await groups(later)];
    let shared = 0;
    for (const [customer, group] of a) {
      if (!b.has(customer)) continue;
      shared++;
      expect(b.get(customer), customer).toBe(group);
    }
    expect(shared).toBeGreaterThan(5000);
    const control = [...a.values()].filter((g) => g === 'control').length;
    expect(control / a.size).toBeGreaterThan(0.08);
    expect(control / a.size).toBeLessThan(0.12);

    // Never called: no control customer on any list, whoever asks, however long.
    for (const scope of [
      { role: 'hq' as const },
      { role: 'tenant' as const, tenantId: 't-alpha' },
      { role: 'site' as const, siteId: 's-north' },
    ]) {
      const list = parseChurnCallbackRows(
        await rows(client, churnCallbackQuery(scope, { limit: 1000, asOf: later }).text),
      );
      expect(list.length).toBeGreaterThan(100);
      for (const row of list) expect(b.get(row.customer_id)).toBe('callback');
    }

    // A larger share only adds customers to the control group.
    const wider = new Date(asOf.getTime() + 2 * DAY);
    await model(wider, { controlShare: 0.2 });
    const c = await groups(wider);
    for (const [customer, group] of b)
      if (group === 'control' && c.has(customer)) expect(c.get(customer)).toBe('control');
  });

  it('compares churn after N days between called and held-back customers, by site and tenant', async () => {
    // The study as the runs left it: each customer once, from their first run at risk ≥ 0.3.
    const cohort = await rows<{
      customer_id: string;
      site: string;
      tenant: string;
      grp: string;
      entered: string;
    }>(
      client,
      `SELECT customer_id, argMin(site_id, entered_at) AS site, any(tenant_id) AS tenant,
              argMin(retention_group, entered_at) AS grp, toUInt64(min(entered_at)) * 1000 AS entered
       FROM retention_cohort GROUP BY customer_id`,
    );
    expect(cohort.length).toBeGreaterThan(100);
    const truth = new Map(population.customers.map((c) => [c.customerId, c]));
    const expected = new Map<string, { customers: number; churned: number }>();
    const until = new Date(asOf.getTime() + 62 * DAY);
    for (const r of cohort) {
      const entered = new Date(Number(r.entered));
      if (entered.getTime() + 30 * DAY > until.getTime()) continue;
      const key = `${r.tenant}/${r.site}/${r.grp}`;
      const e = expected.get(key) ?? { customers: 0, churned: 0 };
      expected.set(key, e);
      e.customers++;
      // t-beta customers beyond the first population came from the second one (seed 99).
      const c = truth.get(r.customer_id);
      if (c && churnsWithin(c, entered, 30)) e.churned++;
    }
    const raw = await rows<Record<string, unknown>>(
      client,
      retentionUpliftQuery({ role: 'hq' }, { days: 30, asOf: until }).text,
    );
    const got = new Map(
      raw
        .filter((r) => String(r.tenant_id) === 't-alpha')
        .map((r) => [
          `${String(r.tenant_id)}/${String(r.site_id)}/${String(r.retention_group)}`,
          { customers: Number(r.customers), churned: Number(r.churned) },
        ]),
    );
    const alphaExpected = new Map([...expected].filter(([k]) => k.startsWith('t-alpha/')));
    expect(got).toEqual(alphaExpected);

    // The uplift and its 95 % interval per site and tenant, from those counts.
    const bySite = parseUpliftRows(raw, 'site');
    for (const u of bySite) {
      if (u.uplift === null) continue;
      const pt = u.callback_churned / u.callback_customers;
      const pc = u.control_churned / u.control_customers;
      const se = Math.sqrt(
        (pt * (1 - pt)) / u.callback_customers + (pc * (1 - pc)) / u.control_customers,
      );
      expect(u.uplift).toBeCloseTo(pc - pt, 12);
      expect(u.uplift_ci_high! - u.uplift_ci_low!).toBeCloseTo(2 * 1.959964 * se, 5);
    }
    const tenants = parseUpliftRows(raw, 'tenant');
    expect(tenants.map((t) => t.tenant_id).sort()).toEqual(['t-alpha', 't-beta']);
    // A tenant client reads only its own study; a site supervisor only its site's.
    const own = await rows<{ tenant_id: string }>(
      client,
      retentionUpliftQuery({ role: 'tenant', tenantId: 't-beta' }, { days: 30, asOf: until }).text,
    );
    expect(new Set(own.map((r) => r.tenant_id))).toEqual(new Set(['t-beta']));
    const site = await rows<{ site_id: string }>(
      client,
      retentionUpliftQuery({ role: 'site', siteId: 's-east' }, { days: 30, asOf: until }).text,
    );
    expect(new Set(site.map((r) => r.site_id))).toEqual(new Set(['s-east']));
  });
});

describe('the fitted model queries', () => {
  it('run on current ClickHouse too', async () => {
    const result: ChurnFitResult = {
      tenant_id: 't-alpha',
      decision: 'fallback',
      reason: 'too little history',
      library: 'x',
      train: { customers: 1, churners: 0 },
    };
    await assertRunsOnCurrentClickHouse(migratedDatabaseSetup(), [
      {
        name: 'snapshot',
        sql: churnSnapshotQuery({ tenantId: 't-alpha', asOf, labelDays: 60, controlShare: 0.1 })
          .text,
      },
      {
        name: 'model row',
        sql: churnModelRowQuery({ scoredAt: asOf, result, labelDays: 60, controlShare: 0.1 }).text,
      },
      { name: 'cohort', sql: retentionCohortInsertQuery({ scoredAt: asOf, minRisk: 0.5 }).text },
      { name: 'uplift', sql: retentionUpliftQuery({ role: 'hq' }, { days: 30, asOf }).text },
      {
        name: 'uplift tenant',
        sql: retentionUpliftQuery(
          { role: 'tenant', tenantId: 't-alpha' },
          { days: 30, asOf, from: asOf },
        ).text,
      },
    ]);
  });
});
