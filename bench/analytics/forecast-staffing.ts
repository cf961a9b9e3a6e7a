// Forecast accuracy and the staffing query: generated rollups with weekly and daily seasonality
// and a trend (central/analytics/src/staffing-history.ts), the forecaster fitted on all but the
// last two weeks and measured on them (WAPE = Σ|actual − forecast| / Σ actual, per horizon, at
// the largest site and per site and skill), then the staffing plan made by the job's own code at
// the start of the held-out weeks and the API's staffing query timed on it as the API's user.
import { runModelingJob } from '@ccfed/analytics/churn-fit';
import {
  generateStaffingHistory,
  historyTopology,
  type HistorySeries,
} from '@ccfed/analytics/staffing-history';
import {
  runStaffingPlan,
  staffingHistoryQuery,
  staffingQuery,
  type ForecastResult,
} from '@ccfed/analytics/staffing-plan';
import type { ClickHouseClient } from '@clickhouse/client';
import { percentile, round } from '../harness.js';

const DAY = 86_400_000;
const HELD_OUT_DAYS = 14;
const INTERVALS_PER_DAY = 96;

/** Sites by size (calls in a busy weekday interval per tenant and skill), largest first. */
const SITES: readonly (readonly [string, number])[] = [
  ['shanghai', 70],
  ['beijing', 35],
  ['guangzhou', 25],
  ['shenzhen', 15],
  ['chengdu', 8],
];
const SKILL_SHARE: Readonly<Record<string, number>> = { support: 1, sales: 0.5, complaints: 0.2 };
const TENANTS = ['acme-bank', 'zenith-telecom'];

function wape(actual: readonly number[], forecast: readonly number[]): number | null {
  let err = 0;
  let total = 0;
  for (let i = 0; i < actual.length; i++) {
    err += Math.abs(actual[i]! - forecast[i]!);
    total += actual[i]!;
  }
  return total > 0 ? err / total : null;
}

const sum = (series: readonly (readonly number[])[], n: number) =>
  Array.from({ length: n }, (_, i) => series.reduce((s, x) => s + x[i]!, 0));

export async function forecastAndStaffing(p: {
  admin: ClickHouseClient;
  api: ClickHouseClient;
  analyticsEnv: Record<string, string>;
  weeks: number;
  sites: number;
  tenants: number;
  skills: number;
  queryRuns: number;
  log: (line: string) => void;
}) {
  const start = new Date('2026-01-05T00:00:00Z'); // a Monday
  const skills = Object.entries(SKILL_SHARE).slice(0, p.skills);
  const series: HistorySeries[] = SITES.slice(0, p.sites).flatMap(([siteId, base]) =>
    TENANTS.slice(0, p.tenants).flatMap((tenantId) =>
      skills.map(([skill, share]) => ({
        tenantId,
        siteId,
        skill,
        base: base * share,
        trend: 0.005,
      })),
    ),
  );
  const history = generateStaffingHistory({
    start,
    weeks: p.weeks,
    seed: 8,
    series,
    staffing: 1.2,
  });
  for (let i = 0; i < history.callRollup.length; i += 200_000)
    await p.admin.insert({
      table: 'call_rollup_15m',
      values: history.callRollup.slice(i, i + 200_000),
      format: 'JSONEachRow',
    });
  for (let i = 0; i < history.agentRollup.length; i += 200_000)
    await p.admin.insert({
      table: 'agent_rollup_15m',
      values: history.agentRollup.slice(i, i + 200_000),
      format: 'JSONEachRow',
    });
  const end = new Date(start.getTime() + p.weeks * 7 * DAY);
  const cut = new Date(end.getTime() - HELD_OUT_DAYS * DAY);
  const fitWeeks = p.weeks - HELD_OUT_DAYS / 7;

  // Fitted on the weeks before the cut, measured on the 14 days after it.
  const evaluation = await runModelingJob<ForecastResult>(
    'forecast_job.py',
    {
      history_sql: staffingHistoryQuery({ from: start, to: end }).text,
      history_start: start.getTime() / 1000,
      history_end: cut.getTime() / 1000,
      horizon_start: cut.getTime() / 1000,
      horizon_intervals: HELD_OUT_DAYS * INTERVALS_PER_DAY,
      evaluate: true,
    },
    p.analyticsEnv,
  );
  const actual = new Map(
    (evaluation.accuracy ?? []).map((a) => [`${a.tenant_id}/${a.site_id}/${a.skill}`, a.actual]),
  );
  const n = HELD_OUT_DAYS * INTERVALS_PER_DAY;
  const horizons = (forecast: number[], truth: number[]) => ({
    next_day: wape(truth.slice(0, 96), forecast.slice(0, 96)),
    days_1_7: wape(truth.slice(0, 7 * 96), forecast.slice(0, 7 * 96)),
    days_8_14: wape(truth.slice(7 * 96), forecast.slice(7 * 96)),
  });
  const bySiteSkill = [];
  for (const [siteId] of SITES.slice(0, p.sites))
    for (const [skill] of skills) {
      const parts = evaluation.series.filter((s) => s.site_id === siteId && s.skill === skill);
      const f = sum(
        parts.map((s) => s.offered),
        n,
      );
      const a = sum(
        parts.map((s) => actual.get(`${s.tenant_id}/${s.site_id}/${s.skill}`)!),
        n,
      );
      bySiteSkill.push({ site: siteId, skill, ...horizons(f, a) });
    }
  const largest = SITES[0]![0];
  const atLargest = evaluation.series.filter((s) => s.site_id === largest);
  const largestSite = horizons(
    sum(
      atLargest.map((s) => s.offered),
      n,
    ),
    sum(
      atLargest.map((s) => actual.get(`${s.tenant_id}/${s.site_id}/${s.skill}`)!),
      n,
    ),
  );
  p.log(
    `forecast: ${evaluation.series.length} series in ${evaluation.seconds} s; largest site next day WAPE ${largestSite.next_day}`,
  );

  // The plan made at the cut, as the scheduled job makes it; the held-out weeks are its horizon.
  const plan = await runStaffingPlan(
    {
      command: async (q) => {
        await p.admin.command({ query: q.text });
      },
      rows: async (q) => (await p.admin.query({ query: q.text, format: 'JSONEachRow' })).json(),
      insert: async (table, values) => {
        for (let i = 0; i < values.length; i += 100_000)
          await p.admin.insert({
            table,
            values: values.slice(i, i + 100_000),
            format: 'JSONEachRow',
          });
      },
      forecast: (request) =>
        runModelingJob<ForecastResult>('forecast_job.py', request, p.analyticsEnv),
    },
    {
      runAt: cut,
      topology: historyTopology(series, { agentsPerSeries: 120 }),
      keep: 2,
      historyWeeks: fitWeeks,
    },
  );
  p.log(`staffing plan: ${plan.intervals} intervals in ${plan.seconds} s`);

  // The API's staffing query, as the API's user: HQ's day (its default), a tenant's, 14 days.
  const asOf = new Date(cut.getTime() + 7 * DAY);
  const day = { from: asOf, to: new Date(asOf.getTime() + DAY), asOf };
  const queries = [
    { name: 'HQ, one day, every site', sql: staffingQuery({ role: 'hq' }, day).text },
    {
      name: 'tenant, one day',
      sql: staffingQuery({ role: 'tenant', tenantId: TENANTS[0]! }, day).text,
    },
    {
      name: 'site supervisor, one day, one skill',
      sql: staffingQuery({ role: 'site', siteId: largest }, { ...day, skill: 'support' }).text,
    },
    {
      name: 'HQ, the whole 14-day plan',
      sql: staffingQuery(
        { role: 'hq' },
        { from: cut, to: new Date(cut.getTime() + 14 * DAY), asOf },
      ).text,
    },
  ];
  const timed = [];
  for (const q of queries) {
    const ms: number[] = [];
    let rows = 0;
    for (let r = 0; r < p.queryRuns + 1; r++) {
      const t = performance.now();
      const out = await (await p.api.query({ query: q.sql, format: 'JSONEachRow' })).json();
      if (r > 0) ms.push(performance.now() - t);
      rows = out.length;
    }
    ms.sort((a, b) => a - b);
    timed.push({
      name: q.name,
      rows,
      median_ms: round(percentile(ms, 50)),
      p95_ms: round(percentile(ms, 95)),
      runs: ms.length,
    });
  }
  return {
    forecast_wape: { ...largestSite, site: largest, by_site_skill: bySiteSkill },
    forecast: {
      method: evaluation.method,
      series: evaluation.series.length,
      fit_weeks: fitWeeks,
      held_out_days: HELD_OUT_DAYS,
      seconds: evaluation.seconds,
    },
    staffing_plan: { intervals: plan.intervals, series: plan.series, seconds: plan.seconds },
    staffing_query_ms: timed[0]!.median_ms,
    staffing_queries: timed,
  };
}
