// Every panel of every dashboard, run as Grafana would run it: the SQL expanded for a fixed time
// range and variable values the way Grafana and the ClickHouse plugin expand it, on a real 18.16
// server holding a small fixture inserted into the raw tables (the materialized views fill the
// rollups as in production), and on current ClickHouse (chdb). Each panel must return the columns
// it declares with the right types; key panels must show the figures worked out below by hand,
// and agree with the analytics builders the API uses on the same data.
import { type ClickHouseClient } from '@clickhouse/client';
import { formatDateTime } from '@ccfed/common';
import { churnScoresQuery, parseChurnRows } from '@ccfed/analytics/churn';
import { runChurnScoring } from '@ccfed/analytics/churn-scoring';
import { kpiQuery, parseKpiRows, validateKpiFilter, type KpiRow } from '@ccfed/analytics/kpi';
import { fcrQuery, parseFcrRows } from '@ccfed/analytics/kpi-fcr';
import { parseSatisfactionRows, satisfactionQuery } from '@ccfed/analytics/satisfaction';
import { type Scope } from '@ccfed/analytics/scope';
import { parseStaffingRows, staffingQuery } from '@ccfed/analytics/staffing-plan';
import { CALLBACK_RISK } from '@ccfed/dashboards/analytics';
import { DASHBOARDS } from '@ccfed/dashboards/dashboards';
import { expandMacros } from '@ccfed/dashboards/macros';
import type { ColumnKind, DashboardSpec } from '@ccfed/dashboards/panel';
import { assertRunsOnCurrentClickHouse, migratedDatabaseSetup } from '@ccfed/services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clickhouseClient, freshDatabase } from '../support/engines.js';

// ---------------------------------------------------------------------------------------------
// Fixture: 2026-03-02, 09:00–10:00 UTC. Service level 20 s, short abandon 5 s.
// ---------------------------------------------------------------------------------------------

const SL_MS = 20_000;
const SHORT_MS = 5_000;
const EPOCH = formatDateTime(new Date(0));
const at = (time: string): Date => new Date(`2026-03-02T${time}Z`);

const FROM = at('09:00:00');
const TO = at('10:00:00');
const HQ: Scope = { role: 'hq' };

let seq = 0;
interface Call {
  readonly id: string;
  readonly site?: string;
  readonly skill?: string;
  readonly customer?: string;
}
type Row = Record<string, string | number | readonly string[] | readonly number[]>;

function ev(c: Call, kind: string, time: Date, extra: Row = {}): Row {
  seq += 1;
  return {
    event_id: `e${seq}`,
    tenant_id: 't1',
    site_id: c.site ?? 'site-a',
    call_id: c.id,
    kind,
    event_time: formatDateTime(time),
    // Written, as the ingester does: 18.16 does not apply the DEFAULT to an omitted field.
    event_date: formatDateTime(time).slice(0, 10),
    event_ms: 0,
    skill: c.skill ?? 'billing',
    tier: 1,
    agent_id: '',
    // The caller's identity is on every event of a call, as CallEvent carries it.
    customer_id: c.customer ?? '',
    caller_hash: '',
    arrival_time: EPOCH,
    wait_ms: 0,
    service_level_ms: 0,
    short_abandon_ms: 0,
    by_caller: 0,
    talk_ms: 0,
    hold_ms: 0,
    ended_by: 0,
    wrap_up_ms: 0,
    disposition: '',
    peer_site_id: '',
    sip_code: 0,
    decision_id: '',
    payload: '{}',
    kafka_partition: 0,
    kafka_offset: seq,
    ...extra,
  };
}
const offered = (c: Call, time: Date, arrival = time) =>
  ev(c, 'offered', time, { arrival_time: formatDateTime(arrival) });
/** The wait runs from the arrival: an outcome event's arrival is its time less the wait. */
const arrivedBefore = (time: Date, waitMs: number) =>
  formatDateTime(new Date(time.getTime() - waitMs));
const answered = (c: Call, time: Date, agent: string, waitMs: number) =>
  ev(c, 'answered', time, {
    agent_id: agent,
    wait_ms: waitMs,
    service_level_ms: SL_MS,
    arrival_time: arrivedBefore(time, waitMs),
  });
const abandoned = (c: Call, time: Date, waitMs: number, byCaller: boolean) =>
  ev(c, 'abandoned', time, {
    arrival_time: arrivedBefore(time, waitMs),
    wait_ms: waitMs,
    by_caller: byCaller ? 1 : 0,
    service_level_ms: SL_MS,
    short_abandon_ms: SHORT_MS,
  });
const ended = (c: Call, time: Date, agent: string, talkMs: number, holdMs = 0) =>
  ev(c, 'ended', time, { agent_id: agent, talk_ms: talkMs, hold_ms: holdMs, ended_by: 1 });
const wrapped = (c: Call, time: Date, agent: string, wrapMs: number) =>
  ev(c, 'wrap_up_done', time, { agent_id: agent, wrap_up_ms: wrapMs, disposition: 'done' });

const C1: Call = { id: 'c1', customer: 'cust-1' };
const C2: Call = { id: 'c2', customer: 'cust-2' };
const C3: Call = { id: 'c3' };
const C4: Call = { id: 'c4' };
const C5: Call = { id: 'c5' };
const C6: Call = { id: 'c6' };
const C6B: Call = { ...C6, site: 'site-b' };
const C8: Call = { id: 'c8', skill: 'sales' };
const C9: Call = { id: 'c9', site: 'site-b' };
const C12: Call = { id: 'c12', site: 'site-b', customer: 'cust-1' };

const CALL_EVENTS = [
  // C1 at site-a: answered after 10 s by a1; talk 170 s, hold 10 s, wrap-up 30 s.
  offered(C1, at('09:00:00')),
  answered(C1, at('09:00:10'), 'a1', 10_000),
  ended(C1, at('09:03:10'), 'a1', 170_000, 10_000),
  wrapped(C1, at('09:03:40'), 'a1', 30_000),
  // C2 at site-a: answered after 30 s by a2; talk 240 s, wrap-up 30 s.
  offered(C2, at('09:01:00')),
  answered(C2, at('09:01:30'), 'a2', 30_000),
  ended(C2, at('09:05:30'), 'a2', 240_000),
  wrapped(C2, at('09:06:00'), 'a2', 30_000),
  // C3: the caller hung up after 3 s (short); C4 after 45 s; C5 dropped by the system.
  offered(C3, at('09:02:00')),
  abandoned(C3, at('09:02:03'), 3_000, true),
  offered(C4, at('09:03:00')),
  abandoned(C4, at('09:03:45'), 45_000, true),
  offered(C5, at('09:04:00')),
  abandoned(C5, at('09:06:00'), 120_000, false),
  // C6: site-a overflows it to site-b, answered there by b1 after 55 s from the first arrival.
  offered(C6, at('09:05:00')),
  ev(C6, 'overflowed_out', at('09:05:40'), { peer_site_id: 'site-b', decision_id: 'd1' }),
  offered(C6B, at('09:05:41'), at('09:05:00')),
  ev(C6B, 'overflowed_in', at('09:05:41'), { peer_site_id: 'site-a', decision_id: 'd1' }),
  answered(C6B, at('09:05:55'), 'b1', 55_000),
  ended(C6B, at('09:08:55'), 'b1', 170_000, 10_000),
  wrapped(C6B, at('09:09:15'), 'b1', 20_000),
  // C8 (sales) at site-a: answered after 5 s by a2; talk 240 s, wrap-up 20 s.
  offered(C8, at('09:16:00')),
  answered(C8, at('09:16:05'), 'a2', 5_000),
  ended(C8, at('09:20:05'), 'a2', 240_000),
  wrapped(C8, at('09:20:25'), 'a2', 20_000),
  // C9 at site-b: the caller hung up after 25 s.
  offered(C9, at('09:20:00')),
  abandoned(C9, at('09:20:25'), 25_000, true),
  // C12: cust-1 calls again, reaches site-b, answered after 10 s by b1: C1 was not resolved.
  offered(C12, at('09:40:00')),
  answered(C12, at('09:40:10'), 'b1', 10_000),
  ended(C12, at('09:41:10'), 'b1', 60_000),
  wrapped(C12, at('09:41:30'), 'b1', 20_000),
];

/** Agent events, each closing the state the previous one opened ([state, until, reason]). */
function agentDay(
  agent: string,
  site: string,
  start: Date,
  states: readonly (readonly [string, Date, string?])[],
): Row[] {
  const rows: Row[] = [];
  const event = (
    from: string,
    since: Date,
    to: string,
    time: Date,
    reason = '',
    fromReason = '',
  ) => {
    seq += 1;
    rows.push({
      event_id: `e${seq}`,
      tenant_id: 't1',
      site_id: site,
      agent_id: agent,
      event_time: formatDateTime(time),
      // Written, as the ingester does: 18.16 does not apply the DEFAULT to an omitted field.
      event_date: formatDateTime(time).slice(0, 10),
      event_ms: 0,
      from_state: from,
      to_state: to,
      reason_code: reason,
      from_reason_code: fromReason,
      call_id: '',
      from_state_since: formatDateTime(since),
      from_state_since_ms: 0,
      kafka_partition: 0,
      kafka_offset: seq,
    });
  };
  // The login closes no interval.
  event('logged_out', new Date(0), states[0]![0], start, states[0]![2]);
  let since = start;
  states.forEach(([state, until, reason], i) => {
    const next = states[i + 1];
    event(state, since, next?.[0] ?? 'logged_out', until, next?.[2], reason);
    since = until;
  });
  return rows;
}

const AGENT_EVENTS = [
  // a1: ready 8 s, reserved 2 s, on call 180 s, wrap-up 30 s, ready 380 s, not ready (break)
  // 120 s, ready 1080 s, then logs out at 09:30.
  ...agentDay('a1', 'site-a', at('09:00:00'), [
    ['ready', at('09:00:08')],
    ['reserved', at('09:00:10')],
    ['on_call', at('09:03:10')],
    ['wrap_up', at('09:03:40')],
    ['ready', at('09:10:00')],
    ['not_ready', at('09:12:00'), 'break'],
    ['ready', at('09:30:00')],
  ]),
  // a2: ready 40 s, on call 240 s, wrap-up 30 s, ready 605 s, on call 240 s, wrap-up 20 s, then
  // not ready (lunch) from 09:20:25 until 10:10, past the end of the range.
  ...agentDay('a2', 'site-a', at('09:00:50'), [
    ['ready', at('09:01:30')],
    ['on_call', at('09:05:30')],
    ['wrap_up', at('09:06:00')],
    ['ready', at('09:16:05')],
    ['on_call', at('09:20:05')],
    ['wrap_up', at('09:20:25')],
    ['not_ready', at('10:10:00'), 'lunch'],
  ]),
  // b1 at site-b: ready 355 s, on call 180 s, wrap-up 20 s, ready 1855 s, on call 60 s,
  // wrap-up 20 s, ready 1110 s until 10:00.
  ...agentDay('b1', 'site-b', at('09:00:00'), [
    ['ready', at('09:05:55')],
    ['on_call', at('09:08:55')],
    ['wrap_up', at('09:09:15')],
    ['ready', at('09:40:10')],
    ['on_call', at('09:41:10')],
    ['wrap_up', at('09:41:30')],
    ['ready', at('10:00:00')],
  ]),
];
// a3 logs in at 09:55 and is ready at the end of the range (only the login: no interval).
AGENT_EVENTS.push(
  ...agentDay('a3', 'site-a', at('09:55:00'), [['ready', at('11:00:00')]]).slice(0, 1),
);

function snapshot(site: string, sequence: number, time: Date, skill: string, figures: Row): Row {
  seq += 1;
  return {
    event_id: `s-${site}-${sequence}-${skill}`,
    tenant_id: 't1',
    site_id: site,
    event_time: formatDateTime(time),
    // Written, as the ingester does: 18.16 does not apply the DEFAULT to an omitted field.
    event_date: formatDateTime(time).slice(0, 10),
    event_ms: 0,
    sequence,
    accepting_overflow: 1,
    skill,
    queued: 0,
    oldest_wait_ms: 0,
    agents_staffed: 0,
    agents_idle: 0,
    expected_wait_ms: 0,
    offered_today: 0,
    answered_within_threshold_today: 0,
    answered_today: 0,
    abandoned_today: 0,
    inbound_overflow_pending: 0,
    average_handle_ms: 0,
    tenant_ids: ['t1'],
    tenant_queued: [0],
    tenant_agents_staffed: [0],
    tenant_agents_idle: [0],
    tenant_expected_wait_ms: [0],
    kafka_partition: 0,
    kafka_offset: seq,
    ...figures,
  };
}

const NEWEST_A = { queued: 3, oldest_wait_ms: 42_000, agents_staffed: 2, agents_idle: 0 };
const SNAPSHOTS = [
  // site-a's older snapshot had a sales row; the newest has billing only, and is stored twice.
  snapshot('site-a', 1, at('09:59:00'), 'billing', { queued: 2 }),
  snapshot('site-a', 1, at('09:59:00'), 'sales', { queued: 1 }),
  snapshot('site-a', 2, at('09:59:30'), 'billing', { ...NEWEST_A, expected_wait_ms: 60_000 }),
  snapshot('site-a', 2, at('09:59:30'), 'billing', { ...NEWEST_A, expected_wait_ms: 60_000 }),
  snapshot('site-b', 7, at('09:58:00'), 'billing', { agents_staffed: 1, agents_idle: 1 }),
  // After the range: not shown.
  snapshot('site-b', 8, at('10:30:00'), 'billing', { queued: 9 }),
];

function survey(site: string, csat: number, nps: number | null, extra: Row = {}): Row {
  seq += 1;
  return {
    event_id: `sv${seq}`,
    tenant_id: 't1',
    site_id: site,
    call_id: `sv-call-${seq}`,
    customer_id: '',
    agent_id: '',
    skill: 'billing',
    event_time: formatDateTime(at('09:50:00')),
    // Written, as the ingester does: 18.16 does not apply the DEFAULT to an omitted field.
    event_date: formatDateTime(at('09:50:00')).slice(0, 10),
    csat,
    nps: nps ?? 0,
    has_nps: nps === null ? 0 : 1,
    resolved: 0,
    has_resolved: 0,
    complaint_severity: 0,
    kafka_partition: 0,
    kafka_offset: seq,
    ...extra,
  };
}

// site-a: CSAT 5/4/2 answered, one skipped → 2 of 3 top-2; NPS 10, 8, 3 → (1 − 1) / 3 = 0.
// site-b: CSAT 3 → 0 of 1; NPS 9 → 100.
// cust-3's survey (CSAT 2, a major complaint) and cancellation intent put them on the call-back
// list: log-odds −2.6 + 0.6 (low CSAT) + 0.9 (2 complaint points) + 1.6 (intent) = 0.5 → 62 %.
const SURVEYS = [
  survey('site-a', 5, 10),
  survey('site-a', 4, 8),
  survey('site-a', 2, 3, { customer_id: 'cust-3', complaint_severity: 3 }),
  survey('site-a', 0, null),
  survey('site-b', 3, 9),
];

const CRM_EVENTS: Row[] = [
  {
    event_id: 'crm1',
    tenant_id: 't1',
    site_id: 'site-a',
    customer_id: 'cust-3',
    kind: 'cancellation',
    event_time: formatDateTime(at('09:30:00')),
    // Written, as the ingester does: 18.16 does not apply the DEFAULT to an omitted field.
    event_date: formatDateTime(at('09:30:00')).slice(0, 10),
    customer_value_minor: 50_000,
    product_id: 'broadband',
    product_ids: [],
    amount_minor: 0,
    cancel_reason: 'price',
    intent_only: 1,
    kafka_partition: 0,
    kafka_offset: 1,
  },
];

// ---------------------------------------------------------------------------------------------

let client: ClickHouseClient;
/** Grafana's and the API's own read-only users (docs/security.md, ClickHouse). */
let grafana: ClickHouseClient;
let apiClient: ClickHouseClient;

/** The variable values each dashboard is run with. */
const VARIABLES: Record<string, Record<string, string | string[]>> = {
  'ccfed-site': { site: 'site-a' },
  'ccfed-agents': { site: ['site-a', 'site-b'] },
  'ccfed-staffing': { site: 'site-a' },
};

interface Result {
  readonly meta: { name: string; type: string }[];
  readonly data: Record<string, unknown>[];
}

const expanded = (dash: DashboardSpec, sql: string): string =>
  expandMacros(sql, { from: FROM, to: TO, variables: VARIABLES[dash.uid] ?? {} });

/**
 * Runs `query` as Grafana does: as its read-only user, with the max_execution_time the ClickHouse
 * plugin sends on every query; or as the API, when the analytics builders are compared.
 */
async function run(query: string, as: 'grafana' | 'api' = 'grafana'): Promise<Result> {
  const rs =
    as === 'grafana'
      ? await grafana.query({
          query,
          format: 'JSON',
          clickhouse_settings: { max_execution_time: 60 },
        })
      : await apiClient.query({ query, format: 'JSON' });
  return rs.json<Record<string, unknown>>() as unknown as Promise<Result>;
}

const results = new Map<string, Result>();
/** The rows of panel `key` of dashboard `uid`, numbers as numbers. */
function panel(uid: string, key: string): Record<string, unknown>[] {
  const r = results.get(`${uid}/${key}`);
  if (!r) throw new Error(`no result for ${uid}/${key}`);
  return r.data.map((row) =>
    Object.fromEntries(
      Object.entries(row).map(([k, v]) => {
        const type = r.meta.find((m) => m.name === k)!.type;
        return [k, v !== null && /Int|Float/.test(type) ? Number(v) : v];
      }),
    ),
  );
}

const TYPES: Record<ColumnKind, RegExp> = {
  string: /^String$/,
  number: /^(Nullable\()?(U?Int(8|16|32|64)|Float(32|64))\)?$/,
  time: /^DateTime$/,
};

beforeAll(async () => {
  const fresh = await freshDatabase();
  client = fresh.client;
  grafana = clickhouseClient('grafana', fresh.database);
  apiClient = clickhouseClient('api', fresh.database);
  await client.insert({ table: 'call_events', values: CALL_EVENTS, format: 'JSONEachRow' });
  await client.insert({ table: 'agent_events', values: AGENT_EVENTS, format: 'JSONEachRow' });
  await client.insert({ table: 'site_snapshots', values: SNAPSHOTS, format: 'JSONEachRow' });
  await client.insert({ table: 'surveys', values: SURVEYS, format: 'JSONEachRow' });
  await client.insert({ table: 'crm_events', values: CRM_EVENTS, format: 'JSONEachRow' });
  // The churn panel reads the stored scoring in force at the range end: the job scored then.
  await runChurnScoring(
    {
      command: async (q) => {
        await client.command({ query: q.text });
      },
      rows: async (q) =>
        (await client.query({ query: q.text, format: 'JSONEachRow' })).json<never>(),
    },
    { scoredAt: TO, keep: 1 },
  );
  await insertStaffingPlan();
  for (const dash of DASHBOARDS)
    for (const p of dash.panels)
      results.set(`${dash.uid}/${p.key}`, await run(expanded(dash, p.sql)));
});

/**
 * A staffing plan made at 08:00 for the fixture's hour at site-a (billing, tenant t1): 3 agents an
 * interval, 2 at 09:45; a1 and a2 (site-a's agents) count for billing.
 */
async function insertStaffingPlan(): Promise<void> {
  const runAt = formatDateTime(at('08:00:00'));
  await client.insert({
    table: 'staffing_runs',
    format: 'JSONEachRow',
    values: [{ run_at: runAt, horizon_start: runAt, horizon_end: runAt, finished_at: runAt }],
  });
  await client.insert({
    table: 'staffing_plan',
    format: 'JSONEachRow',
    values: ['09:00:00', '09:15:00', '09:30:00', '09:45:00'].map((t, i) => ({
      run_at: runAt,
      tenant_id: 't1',
      site_id: 'site-a',
      skill: 'billing',
      bucket: formatDateTime(at(t)),
      offered: 10 + i,
      aht_s: 240,
      patience_s: 100,
      sl_threshold_s: 20,
      sl_target: 0.8,
      required_agents: i === 3 ? 2 : 3,
      expected_sl: 0.85,
    })),
  });
  await client.insert({
    table: 'staffing_agents',
    format: 'JSONEachRow',
    values: ['a1', 'a2'].map((agent_id) => ({
      run_at: runAt,
      tenant_id: 't1',
      site_id: 'site-a',
      agent_id,
      skill: 'billing',
    })),
  });
}

afterAll(async () => {
  await client?.close();
  await grafana?.close();
  await apiClient?.close();
});

describe.each(DASHBOARDS.map((d) => [d.uid, d] as const))(
  '%s on ClickHouse 18.16',
  (_uid, dash) => {
    it.each(dash.panels.map((p) => [p.key, p] as const))(
      '%s returns its declared columns, typed, with rows',
      (_key, p) => {
        const r = results.get(`${dash.uid}/${p.key}`)!;
        expect(r.meta.map((m) => m.name)).toEqual(p.columns.map(([name]) => name));
        p.columns.forEach(([name, kind], i) => {
          expect(r.meta[i]!.type, `${p.key}.${name}`).toMatch(TYPES[kind]);
        });
        expect(r.data.length, `${p.key} has no rows on the fixture`).toBeGreaterThan(0);
        for (const row of r.data)
          for (const [name, kind] of p.columns) {
            const v = row[name];
            if (kind === 'number' && v !== null)
              expect(Number.isFinite(Number(v)), `${p.key}.${name} = ${String(v)}`).toBe(true);
            if (kind === 'time') expect(v).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
          }
      },
    );

    it.each(dash.variables.map((v) => [v.name, v] as const))(
      'variable %s lists the sites',
      async (_name, v) => {
        const r = await run(expanded(dash, v.sql));
        expect(r.data.map((row) => Object.values(row)[0])).toEqual(['site-a', 'site-b']);
      },
    );
  },
);

/** Ratios to 9 decimals, everything else exactly. */
function expectRow(row: Record<string, unknown> | undefined, expected: Record<string, unknown>) {
  expect(row, `no row for ${JSON.stringify(expected)}`).toBeDefined();
  for (const [key, value] of Object.entries(expected)) {
    if (typeof value === 'number' && !Number.isInteger(value))
      expect(row![key], key).toBeCloseTo(value, 9);
    else expect(row![key], key).toEqual(value);
  }
}

async function kpis(filter: Record<string, unknown>): Promise<KpiRow[]> {
  const q = kpiQuery(
    HQ,
    validateKpiFilter({ from: FROM.toISOString(), to: TO.toISOString(), ...filter }),
  );
  return parseKpiRows((await run(q.text, 'api')).data);
}

/** The KPI fields a panel shows, from parseKpiRows: the panel must agree with the API. */
const kpiFigures = (r: KpiRow) => ({
  offered: r.offered,
  answered: r.answered,
  service_level: r.service_level,
  asa_s: r.asa_s,
  abandon_rate: r.abandon_rate,
});

describe('key figures, worked out by hand and equal to the analytics builders', () => {
  it('overview: federation and per site', async () => {
    // Offered 7 at site-a + 3 at site-b, one of them overflowed in → 9 calls. Answered C1 C2
    // C6 C8 C12 = 5, within 20 s C1 C8 C12 = 3; abandoned C3 (short) C4 C9; dropped C5.
    // SL = 3 / (5 + 3 − 1 + 1) = 0.375; abandon rate = 2 / 8; ASA = (10+30+55+5+10) / 5 = 22 s.
    expect(panel('ccfed-overview', 'federation')).toEqual([
      { offered: 9, answered: 5, service_level: 0.375, asa_s: 22, abandon_rate: 0.25 },
    ]);
    // site-a: SL 2 / (3 + 2 − 1 + 1), abandon rate 1 / 5, ASA 45 / 3; C6 overflowed out.
    // site-b: SL 1 / 3 (C12 in 20 s of C6 C12 C9), abandon rate 1 / 3, ASA 65 / 2; C6 in.
    const sites = panel('ccfed-overview', 'sites');
    expectRow(sites[0], {
      site: 'site-a',
      offered: 7,
      answered: 3,
      service_level: 0.4,
      asa_s: 15,
      abandon_rate: 0.2,
      overflow_in: 0,
      overflow_out: 1,
    });
    expectRow(sites[1], {
      site: 'site-b',
      offered: 3,
      answered: 2,
      service_level: 1 / 3,
      asa_s: 32.5,
      abandon_rate: 1 / 3,
      overflow_in: 1,
      overflow_out: 0,
    });
    const api = await kpis({ groupBy: ['site'] });
    expect(sites.map((s) => s.site)).toEqual(api.map((r) => r.site));
    sites.forEach((s, i) => expectRow(s, kpiFigures(api[i]!)));
    const [total] = await kpis({});
    expectRow(panel('ccfed-overview', 'federation')[0], {
      ...kpiFigures(total!),
      offered: total!.first_offered,
    });
  });

  it('overview: trend per 15 minutes and live queues', async () => {
    expect(panel('ccfed-overview', 'trend')).toEqual([
      { time: '2026-03-02 09:00:00', offered: 6, answered: 3 },
      { time: '2026-03-02 09:15:00', offered: 2, answered: 1 },
      { time: '2026-03-02 09:30:00', offered: 1, answered: 1 },
    ]);
    // site-a's newest snapshot (sequence 2, stored twice) has billing only; site-b's after the
    // range is not shown.
    expect(
      panel('ccfed-overview', 'live_queue').map((r) => [
        r.site,
        r.skill,
        r.snapshot_time,
        r.queued,
      ]),
    ).toEqual([
      ['site-a', 'billing', '2026-03-02 09:59:30', 3],
      ['site-b', 'billing', '2026-03-02 09:58:00', 0],
    ]);
    expectRow(panel('ccfed-overview', 'live_queue')[0], {
      oldest_wait_s: 42,
      agents_staffed: 2,
      agents_idle: 0,
      expected_wait_s: 60,
    });
  });

  it('site detail: skills, occupancy, agents by state', async () => {
    // site-a billing: offered C1–C6 = 6, answered 2, SL 1 / (2 + 2 − 1 + 1); handled C1 C2,
    // AHT (170 + 240 + 10 + 30 + 30) / 2 = 240 s. sales: C8, SL 1, AHT (240 + 20) / 1.
    const skills = panel('ccfed-site', 'skills');
    expectRow(skills[0], {
      skill: 'billing',
      offered: 6,
      answered: 2,
      abandoned: 2,
      dropped: 1,
      service_level: 0.25,
      aht_s: 240,
    });
    expectRow(skills[1], { skill: 'sales', offered: 1, service_level: 1, aht_s: 260 });
    const api = await kpis({ groupBy: ['skill'], sites: ['site-a'] });
    skills.forEach((s, i) => expectRow(s, { ...kpiFigures(api[i]!), aht_s: api[i]!.aht_s }));

    // Occupancy per interval as the API computes it (09:30 and 09:45: a2 on lunch, nobody
    // available, so none).
    const occupancy = await kpis({ groupBy: ['interval'], sites: ['site-a'] });
    const shown = panel('ccfed-site', 'occupancy').filter((r) => r.occupancy !== null);
    expect(shown.map((r) => r.time)).toEqual(['2026-03-02 09:00:00', '2026-03-02 09:15:00']);
    expect(shown.map((r) => r.occupancy)).toEqual(
      occupancy.filter((r) => r.occupancy !== null).map((r) => expect.closeTo(r.occupancy!, 9)),
    );
    // At 10:00: a1 logged out, a2 on lunch (not ready), a3 just logged in (ready).
    expect(panel('ccfed-site', 'agents_now')).toEqual([
      { state: 'not_ready', agents: 1 },
      { state: 'ready', agents: 1 },
    ]);
    // 09:00–09:15 at site-a, ready: a1 8 + 380 + 180 s, a2 40 + 540 s → 1148 s / 900 s agents.
    expectRow(panel('ccfed-site', 'agent_states')[0], {
      time: '2026-03-02 09:00:00',
      ready: 1148 / 900,
    });
  });

  it('agent performance: handled, AHT, occupancy, not-ready time clipped to the range', () => {
    const agents = panel('ccfed-agents', 'agents');
    expect(agents.map((a) => a.agent)).toEqual(['a1', 'a2', 'b1']);
    // a1: C1, (170 + 10 + 30) s; on call 180 + wrap-up 30 of 8+2+180+30+380+1080 s staffed.
    expectRow(agents[0], {
      handled: 1,
      aht_s: 210,
      occupancy: 210 / 1680,
      staffed_s: 1680,
      not_ready_s: 120,
    });
    // a2: C2 and C8, (240 + 240 + 30 + 20) / 2; 530 of 1175 s; lunch 09:20:25–10:00 in range.
    expectRow(agents[1], {
      handled: 2,
      aht_s: 265,
      occupancy: 530 / 1175,
      staffed_s: 1175,
      not_ready_s: 2375,
    });
    // b1: C6 and C12, (170 + 10 + 20 + 60 + 20) / 2.
    expectRow(agents[2], { handled: 2, aht_s: 140, occupancy: 280 / 3600, not_ready_s: 0 });
    expect(panel('ccfed-agents', 'not_ready')).toEqual([
      { site: 'site-a', agent: 'a1', reason: 'break', not_ready_s: 120 },
      { site: 'site-a', agent: 'a2', reason: 'lunch', not_ready_s: 2375 },
    ]);
    expect(panel('ccfed-agents', 'not_ready_by_reason')).toEqual([
      { reason: 'break', not_ready_s: 120 },
      { reason: 'lunch', not_ready_s: 2375 },
    ]);
  });

  it('analytics: CSAT/NPS, FCR, churn call-backs, overflow share', async () => {
    const satisfaction = panel('ccfed-analytics', 'satisfaction');
    expect(satisfaction).toEqual([
      { site: 'site-a', responses: 4, csat: 2 / 3, nps: 0 },
      { site: 'site-b', responses: 1, csat: 0, nps: 100 },
    ]);
    const api = parseSatisfactionRows(
      (await run(satisfactionQuery(HQ, { from: FROM, to: TO, by: 'site' }).text, 'api')).data,
    );
    expect(satisfaction.map((s) => [s.site, s.csat, s.nps])).toEqual(
      api.map((a) => [a.key, a.csat, a.nps]),
    );

    // cust-1's C1 at site-a was followed by C12: not resolved; cust-2's C2 resolved. C12 is a
    // repeat, not a first contact; the other calls have no customer.
    const fcr = panel('ccfed-analytics', 'fcr');
    expect(fcr).toEqual([{ site: 'site-a', first_contacts: 2, resolved: 1, fcr: 0.5 }]);
    const fcrApi = parseFcrRows(
      (
        await run(
          fcrQuery(
            HQ,
            validateKpiFilter({
              from: FROM.toISOString(),
              to: TO.toISOString(),
              groupBy: ['site'],
            }),
          ).text,
          'api',
        )
      ).data,
    );
    expect(fcr.map((r) => [r.site, r.fcr])).toEqual(fcrApi.map((r) => [r.site, r.fcr]));

    // cust-3 (62 %) is the only call-back; cust-1 (last handled at site-b) and cust-2 are not.
    const churn = panel('ccfed-analytics', 'churn_callbacks');
    expect(churn.map((r) => [r.site, r.callbacks, r.customers])).toEqual([
      ['site-a', 1, 2],
      ['site-b', 0, 1],
    ]);
    const scores = parseChurnRows((await run(churnScoresQuery(HQ, { asOf: TO }).text, 'api')).data);
    const atRisk = scores.filter((s) => s.risk >= CALLBACK_RISK);
    expect(atRisk.map((s) => s.customer_id)).toEqual(['cust-3']);
    expect(churn[0]!.value_at_risk).toBeCloseTo(atRisk[0]!.priority, 6);

    // site-a: 1 of its 7 first offered overflowed out; site-b: 1 of its 3 came in by overflow.
    expect(panel('ccfed-analytics', 'overflow_share')).toEqual([
      {
        site: 'site-a',
        first_offered: 7,
        overflow_out: 1,
        overflow_in: 0,
        overflow_out_share: 1 / 7,
        overflow_in_share: 0,
      },
      {
        site: 'site-b',
        first_offered: 2,
        overflow_out: 0,
        overflow_in: 1,
        overflow_out_share: 0,
        overflow_in_share: 1 / 3,
      },
    ]);
  });
  it("staffing: required beside staffed agents, as the API's staffing query says", async () => {
    const api = parseStaffingRows(
      (await run(staffingQuery(HQ, { from: FROM, to: TO, asOf: TO, siteId: 'site-a' }).text, 'api'))
        .data,
    );
    expect(api.map((r) => r.required_agents)).toEqual([3, 3, 3, 2]);
    const series = panel('ccfed-staffing', 'required_staffed');
    expect(series.map((r) => [r.time, r.required, r.forecast_calls])).toEqual([
      ['2026-03-02 09:00:00', 3, 10],
      ['2026-03-02 09:15:00', 3, 11],
      ['2026-03-02 09:30:00', 3, 12],
      ['2026-03-02 09:45:00', 2, 13],
    ]);
    for (const [i, r] of series.entries())
      expect(r.staffed).toBeCloseTo(api[i]!.staffed_agents!, 9);
    // Two agents at most: every interval short of 3, by 3 − staffed.
    const short = panel('ccfed-staffing', 'understaffed');
    expect(short.length).toBe(api.filter((r) => r.understaffed).length);
    expect(short.length).toBeGreaterThanOrEqual(3);
    for (const r of short)
      expect(r.short_by).toBeCloseTo(Number(r.required) - Number(r.staffed), 9);
  });
});

describe('current ClickHouse', () => {
  it('runs every panel and variable query as expanded', async () => {
    const setup = migratedDatabaseSetup();
    await assertRunsOnCurrentClickHouse(
      setup,
      DASHBOARDS.flatMap((d) => [
        ...d.variables.map((v) => ({
          name: `${d.uid} variable ${v.name}`,
          sql: expanded(d, v.sql),
        })),
        ...d.panels.map((p) => ({ name: `${d.uid}/${p.key}`, sql: expanded(d, p.sql) })),
      ]),
    );
  });
});
