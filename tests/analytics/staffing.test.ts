// The staffing plan on real ClickHouse: nine weeks of generated rollups with weekly and daily
// seasonality (central/analytics/src/staffing-history.ts), the plan made by the job's own code
// (runStaffingPlan with the Python forecaster, as the analytics role) at the end of week eight,
// and read back as the API reads it, with the agents actually logged in during week nine.
import { erlangA } from '@ccfed/analytics/erlang';
import { runModelingJob } from '@ccfed/analytics/churn-fit';
import {
  generateStaffingHistory,
  historyTopology,
  type HistorySeries,
} from '@ccfed/analytics/staffing-history';
import {
  parseStaffingRows,
  runStaffingPlan,
  staffingHistoryQuery,
  staffingPatienceQuery,
  staffingQuery,
  type ForecastResult,
  type StaffingRow,
} from '@ccfed/analytics/staffing-plan';
import { assertRunsOnCurrentClickHouse, migratedDatabaseSetup } from '@ccfed/services';
import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clickhouseEnv, freshDatabase, rows } from '../support/engines.js';
import { runJob } from '../support/processes.js';

const DAY = 86_400_000;
const start = new Date('2026-03-02T00:00:00Z'); // a Monday
const runAt = new Date(start.getTime() + 56 * DAY);
const asOf = new Date(runAt.getTime() + 3 * DAY);
const SERIES: HistorySeries[] = [
  { tenantId: 'acme', siteId: 'shanghai', skill: 'support', base: 60, trend: 0.01 },
  { tenantId: 'zenith', siteId: 'beijing', skill: 'sales', base: 6 },
];
let client: ClickHouseClient;
let database: string;
let history: ReturnType<typeof generateStaffingHistory>;
let plan: StaffingRow[];

async function read(q: { text: string }): Promise<StaffingRow[]> {
  return parseStaffingRows(await rows(client, q.text));
}

beforeAll(async () => {
  ({ client, database } = await freshDatabase());
  history = generateStaffingHistory({ start, weeks: 9, seed: 4, series: SERIES, staffing: 1.25 });
  await client.insert({
    table: 'call_rollup_15m',
    values: history.callRollup,
    format: 'JSONEachRow',
  });
  await client.insert({
    table: 'agent_rollup_15m',
    values: history.agentRollup,
    format: 'JSONEachRow',
  });
  const env = clickhouseEnv('analytics', database);
  const run = await runStaffingPlan(
    {
      command: async (q) => {
        await client.command({ query: q.text });
      },
      rows: (q) => rows(client, q.text),
      insert: async (table, values) => {
        await client.insert({ table, values: [...values], format: 'JSONEachRow' });
      },
      forecast: (request) => runModelingJob<ForecastResult>('forecast_job.py', request, env),
    },
    { runAt, topology: historyTopology(SERIES, { agentsPerSeries: 80 }), keep: 3 },
  );
  expect(run).toMatchObject({ series: 2, intervals: 2 * 14 * 96 });
  plan = await read(
    staffingQuery({ role: 'hq' }, { from: runAt, to: new Date(runAt.getTime() + 14 * DAY), asOf }),
  );
});

afterAll(async () => {
  await client?.command({ query: `DROP DATABASE IF EXISTS ${database}` });
  await client?.close();
});

describe('the staffing plan', () => {
  it('covers every series and 15-minute interval of the next 14 days', () => {
    expect(plan).toHaveLength(2 * 14 * 96);
    const support = plan.filter((r) => r.skill === 'support');
    expect(support[0]!.interval).toBe(runAt.toISOString());
    expect(support.at(-1)!.interval).toBe(
      new Date(runAt.getTime() + 14 * DAY - 900_000).toISOString(),
    );
    for (const r of plan) expect(r.planned_at).toBe(runAt.toISOString());
  });

  it('forecasts the weekly and daily shape of the history', () => {
    // Next-day accuracy of the busy series against what the generator then drew.
    const actual = new Map(
      history.callRollup
        .filter((r) => r.skill === 'support')
        .map((r) => [
          new Date(`${String(r.bucket).replace(' ', 'T')}Z`).toISOString(),
          Number(r.offered),
        ]),
    );
    const day = plan.filter((r) => r.skill === 'support').slice(0, 96);
    const error = day.reduce((s, r) => s + Math.abs((actual.get(r.interval) ?? 0) - r.offered), 0);
    const total = day.reduce((s, r) => s + (actual.get(r.interval) ?? 0), 0);
    console.info(`next-day WAPE of the busy series: ${(error / total).toFixed(3)}`);
    expect(error / total).toBeLessThan(0.15);
    // Sunday is quieter than Monday, the morning peak busier than the night.
    const at = (iso: string) =>
      plan.find((r) => r.skill === 'support' && r.interval === iso)!.offered;
    expect(at('2026-04-27T10:30:00.000Z')).toBeGreaterThan(5 * at('2026-04-27T03:00:00.000Z'));
    expect(at('2026-05-03T10:30:00.000Z')).toBeLessThan(0.5 * at('2026-04-27T10:30:00.000Z'));
  });

  it('staffs a hand-checked interval as Erlang A says, with the patience the history shows', async () => {
    // Patience by hand: every waiting second over the abandons, from the generated rows.
    const rowsOf = history.callRollup.filter(
      (r) => r.skill === 'support' && String(r.bucket) < '2026-04-27 00:00:00',
    );
    const sum = (k: string) => rowsOf.reduce((s, r) => s + Number(r[k] ?? 0), 0);
    const patience = (sum('abandon_wait_ms') + sum('answer_wait_ms')) / 1000 / sum('abandoned');
    const [stored] = await rows<{ patience_s: number }>(
      client,
      "SELECT patience_s FROM staffing_plan WHERE skill = 'support' LIMIT 1",
    );
    expect(Number(stored!.patience_s)).toBeCloseTo(patience, 3);

    // Monday 10:30, the busiest time of the week: the fewest agents for 80 % in 20 s.
    const row = plan.find(
      (r) => r.skill === 'support' && r.interval === '2026-04-27T10:30:00.000Z',
    )!;
    const sl = (agents: number) =>
      erlangA({
        agents,
        arrivalRate: Math.round(row.offered * 100) / 100 / 900,
        averageHandleS: Math.round(row.aht_s * 10) / 10,
        averagePatienceS: patience,
        thresholdS: 20,
      }).sl;
    expect(row.required_agents).toBeGreaterThan(10);
    expect(sl(row.required_agents)).toBeGreaterThanOrEqual(0.8);
    expect(sl(row.required_agents - 1)).toBeLessThan(0.8);
    expect(row.expected_sl).toBeCloseTo(sl(row.required_agents), 9);
  });

  it('shows the agents actually staffed once an interval has ended, and marks the short ones', () => {
    const ended = plan.filter((r) => Date.parse(r.interval) < asOf.getTime());
    const later = plan.filter((r) => Date.parse(r.interval) >= asOf.getTime());
    expect(ended).toHaveLength(2 * 3 * 96);
    for (const r of later) expect([r.staffed_agents, r.understaffed]).toEqual([null, false]);
    const agentsAt = new Map<string, number>();
    for (const a of history.agentRollup) {
      // Agent ids are <site>-<tenant>-<skill>-<n> (staffing-history.ts), all productive time.
      const key = `${String(a.agent_id).split('-')[2]}|${String(a.bucket)}`;
      agentsAt.set(key, (agentsAt.get(key) ?? 0) + 1);
    }
    for (const r of ended) {
      const bucket = r.interval.slice(0, 19).replace('T', ' ');
      expect(r.staffed_agents).toBe(agentsAt.get(`${r.skill}|${bucket}`) ?? 0);
      expect(r.understaffed).toBe(r.staffed_agents! < r.required_agents);
    }
    // Staffed a little above the load: some busy intervals are short, the quiet ones are not.
    expect(ended.filter((r) => r.understaffed).length).toBeGreaterThan(0);
    expect(ended.filter((r) => !r.understaffed).length).toBeGreaterThan(ended.length / 3);
  });

  it("shows a tenant only its own plan and a supervisor only its site's", async () => {
    const range = { from: runAt, to: new Date(runAt.getTime() + DAY), asOf };
    const tenant = await read(staffingQuery({ role: 'tenant', tenantId: 'zenith' }, range));
    expect(tenant).toHaveLength(96);
    for (const r of tenant) expect(r.tenant_id).toBe('zenith');
    const site = await read(
      staffingQuery({ role: 'site', siteId: 'shanghai' }, { ...range, siteId: 'beijing' }),
    );
    expect(site).toEqual([]);
    const own = await read(
      staffingQuery({ role: 'site', siteId: 'shanghai' }, { ...range, skill: 'support' }),
    );
    expect(own).toHaveLength(96);
    expect(() => staffingQuery({ role: 'hq' }, { ...range, to: runAt })).toThrow(
      /^to: must be after from/,
    );
  });

  it('runs as the scheduled job (plan-staffing-cli) with the topology file', async () => {
    const job = await runJob('central/analytics/src/plan-staffing-cli.ts', {
      ...clickhouseEnv('analytics', database),
      CCFED_TOPOLOGY: 'topology/example.yaml',
    });
    expect(job.code, job.stderr).toBe(0);
    expect(job.stdout).toContain('"event":"staffing_planned"');
    const runs = await rows<{ n: string }>(client, 'SELECT count() AS n FROM staffing_runs');
    expect(Number(runs[0]!.n)).toBe(2);
    const bad = await runJob(
      'central/analytics/src/plan-staffing-cli.ts',
      clickhouseEnv('analytics', database),
    );
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/CCFED_TOPOLOGY/);
  });

  it('runs on current ClickHouse too', async () => {
    const range = { from: runAt, to: new Date(runAt.getTime() + DAY), asOf };
    await assertRunsOnCurrentClickHouse(migratedDatabaseSetup(), [
      { name: 'history', sql: staffingHistoryQuery({ from: start, to: runAt }).text },
      { name: 'patience', sql: staffingPatienceQuery({ from: start, to: runAt }).text },
      { name: 'plan hq', sql: staffingQuery({ role: 'hq' }, range).text },
      {
        name: 'plan tenant',
        sql: staffingQuery(
          { role: 'tenant', tenantId: 'acme' },
          { ...range, siteId: 'shanghai', skill: 'support' },
        ).text,
      },
    ]);
  });
});
