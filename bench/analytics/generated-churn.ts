// The fitted churn model at scale: a generated population with nine months of history (central/
// analytics/src/churn-population.ts) written in chunks into the raw tables, then the scheduled
// scoring job's own code (runChurnModeling with the Python fitter, as the analytics role) fits,
// validates and scores every tenant; its stored scores are measured against the churn the
// population draws for the 60 days after the run, next to the hand-set model's.
import { churnScoresQuery } from '@ccfed/analytics/churn';
import { runChurnFit } from '@ccfed/analytics/churn-fit';
import { rocAuc } from '@ccfed/analytics/churn-model';
import { runChurnModeling } from '@ccfed/analytics/churn-modeling';
import { generateChurnPopulation } from '@ccfed/analytics/churn-population';
import type { ClickHouseClient } from '@clickhouse/client';

const DAY = 86_400_000;
const CHUNK = 25_000;

/** Expected calibration error over ten equal-count bins, as central/modeling computes it. */
export function calibrationError(risk: readonly number[], labels: readonly boolean[]): number {
  const order = risk.map((r, i) => i).sort((a, b) => risk[a]! - risk[b]!);
  let error = 0;
  for (let b = 0; b < 10; b++) {
    const part = order.slice(
      Math.floor((b * order.length) / 10),
      Math.floor(((b + 1) * order.length) / 10),
    );
    if (part.length === 0) continue;
    const p = part.reduce((s, i) => s + risk[i]!, 0) / part.length;
    const o = part.filter((i) => labels[i]).length / part.length;
    error += part.length * Math.abs(p - o);
  }
  return error / order.length;
}

async function all<T>(db: ClickHouseClient, query: string): Promise<T[]> {
  return (await db.query({ query, format: 'JSONEachRow' })).json<T>();
}

export async function generatedChurn(p: {
  clickhouse: ClickHouseClient;
  analyticsEnv: Record<string, string>;
  customers: number;
  tenants: readonly string[];
  asOf: Date;
  log: (line: string) => void;
}) {
  const started = Date.now();
  // The truth the fit never sees: when each customer leaves (or -1).
  const churnedAt = new Map<string, number>();
  let events = 0;
  for (let first = 0; first < p.customers; first += CHUNK) {
    const pop = generateChurnPopulation(
      { asOf: p.asOf, seed: 21, tenants: p.tenants },
      first,
      Math.min(CHUNK, p.customers - first),
    );
    await p.clickhouse.insert({
      table: 'call_events',
      values: pop.callEvents,
      format: 'JSONEachRow',
    });
    await p.clickhouse.insert({ table: 'surveys', values: pop.surveys, format: 'JSONEachRow' });
    await p.clickhouse.insert({
      table: 'crm_events',
      values: pop.crmEvents,
      format: 'JSONEachRow',
    });
    for (const c of pop.customers) churnedAt.set(c.customerId, c.churnedAt ?? -1);
    events += pop.callEvents.length + pop.surveys.length + pop.crmEvents.length;
    if (first % (CHUNK * 8) === 0)
      p.log(
        `population: ${first + pop.customers.length} customers, ${events} events, ${Math.round((Date.now() - started) / 1000)} s`,
      );
  }
  const generationS = (Date.now() - started) / 1000;

  const run = await runChurnModeling(
    {
      command: async (q) => {
        await p.clickhouse.command({ query: q.text });
      },
      rows: (q) => all(p.clickhouse, q.text),
      fit: (request) => runChurnFit(request, p.analyticsEnv),
    },
    { scoredAt: p.asOf, keep: 2 },
  );
  p.log(`churn modelling of ${run.customers} customers: ${run.seconds} s`);

  // Out of time for real: the stored scores against the churn of the 60 days after the run.
  const stored = await all<{ customer_id: string; risk: number }>(
    p.clickhouse,
    'SELECT customer_id, risk FROM churn_scores',
  );
  const stranger = stored.find((s) => !churnedAt.has(s.customer_id));
  if (stranger) throw new Error(`${stranger.customer_id} was scored but is not in the population`);
  // The hand-set model's scores of the same customers, a tenant at a time as its job scores.
  const handSet = new Map<string, number>();
  for (const tenantId of p.tenants)
    for (const r of await all<{ customer_id: string; risk: number }>(
      p.clickhouse,
      churnScoresQuery({ role: 'tenant', tenantId }, { asOf: p.asOf }).text,
    ))
      handSet.set(r.customer_id, Number(r.risk));
  const until = p.asOf.getTime() + 60 * DAY;
  const labels = stored.map((s) => {
    const at = churnedAt.get(s.customer_id)!;
    return at >= p.asOf.getTime() && at < until;
  });
  const risk = stored.map((s) => Number(s.risk));
  return {
    customers: p.customers,
    scored: stored.length,
    churners_after: labels.filter(Boolean).length,
    events,
    generation_s: Math.round(generationS),
    fit_seconds: run.seconds,
    out_of_time_auc: rocAuc(risk, labels),
    hand_set_out_of_time_auc: rocAuc(
      stored.map((s) => handSet.get(s.customer_id)!),
      labels,
    ),
    calibration_error: calibrationError(risk, labels),
    tenants: run.tenants.map((t) => ({
      tenant_id: t.tenant_id,
      decision: t.decision,
      reason: t.reason,
      model_version: t.model_version,
      train: t.train,
      valid: t.valid,
      validation_auc: t.auc,
      hand_set_validation_auc: t.hand_set_auc,
      validation_calibration_error: t.calibration?.error,
      fit_seconds: t.fit_seconds,
    })),
  };
}
