// The KPI queries against a real ClickHouse 18.16, on a fixture small enough to work out by hand:
// call and agent events inserted into the raw tables, so the materialized views fill the rollups
// and the per-call table exactly as in production. Every expected figure is derived in comments.
import { type ClickHouseClient } from '@clickhouse/client';
import { formatDateTime } from '@ccfed/common';
import { fcrQuery, parseFcrRows, type FcrRow } from '@ccfed/analytics/kpi-fcr';
import {
  kpiQuery,
  parseKpiRows,
  validateKpiFilter,
  KpiFilterError,
  type KpiRow,
} from '@ccfed/analytics/kpi';
import { type Scope } from '@ccfed/analytics/scope';
import { assertRunsOnCurrentClickHouse, migratedDatabaseSetup } from '@ccfed/services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, rows } from '../support/engines.js';

// ---------------------------------------------------------------------------------------------
// Fixture
// ---------------------------------------------------------------------------------------------

const SL_MS = 20_000; // service level: answered within 20 s
const SHORT_MS = 5_000; // short abandon: hung up within 5 s
const EPOCH = formatDateTime(new Date(0));

/** 2026-03-02 (a Monday) plus `days`, at 'hh:mm:ss' or 'hh:mm:ss.mmm' UTC. */
function at(time: string, days = 0): Date {
  const d = new Date(`2026-03-02T${time}Z`);
  return new Date(d.getTime() + days * 86_400_000);
}

interface CallSpec {
  readonly id: string;
  readonly tenant?: string;
  readonly site?: string;
  readonly skill?: string;
  readonly customer?: string;
  readonly caller?: string;
}

let eventSeq = 0;

/**
 * One call_events row as the ingester writes it: kind-specific columns 0 or '' elsewhere, the
 * caller's identity on every event (as CallEvent carries it).
 */
function ev(
  call: CallSpec,
  kind: string,
  time: Date,
  extra: Record<string, string | number> = {},
): Record<string, string | number> {
  eventSeq += 1;
  return {
    event_id: `e${eventSeq}`,
    tenant_id: call.tenant ?? 't1',
    site_id: call.site ?? 'site-a',
    call_id: call.id,
    kind,
    event_time: formatDateTime(time),
    // Written, as the ingester does: 18.16 does not apply the DEFAULT to an omitted field.
    event_date: formatDateTime(time).slice(0, 10),
    event_ms: time.getUTCMilliseconds(),
    skill: call.skill ?? 'billing',
    tier: 1,
    agent_id: '',
    customer_id: call.customer ?? '',
    caller_hash: call.caller ?? '',
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
    kafka_offset: eventSeq,
    ...extra,
  };
}

const offered = (c: CallSpec, time: Date, arrival = time) =>
  ev(c, 'offered', time, { arrival_time: formatDateTime(arrival) });
/** The wait runs from the arrival: an outcome event's arrival is its time less the wait. */
const arrivedBefore = (time: Date, waitMs: number) =>
  formatDateTime(new Date(time.getTime() - waitMs));
const answered = (c: CallSpec, time: Date, agent: string, waitMs: number) =>
  ev(c, 'answered', time, {
    agent_id: agent,
    wait_ms: waitMs,
    service_level_ms: SL_MS,
    arrival_time: arrivedBefore(time, waitMs),
  });
const abandoned = (c: CallSpec, time: Date, waitMs: number, byCaller: boolean) =>
  ev(c, 'abandoned', time, {
    arrival_time: arrivedBefore(time, waitMs),
    wait_ms: waitMs,
    by_caller: byCaller ? 1 : 0,
    service_level_ms: SL_MS,
    short_abandon_ms: SHORT_MS,
  });
const ended = (c: CallSpec, time: Date, agent: string, talkMs: number, holdMs = 0) =>
  ev(c, 'ended', time, { agent_id: agent, talk_ms: talkMs, hold_ms: holdMs, ended_by: 1 });
const wrapped = (c: CallSpec, time: Date, agent: string, wrapMs: number) =>
  ev(c, 'wrap_up_done', time, { agent_id: agent, wrap_up_ms: wrapMs, disposition: 'done' });

// Intervals: I1 = 09:00–09:15, I2 = 09:15–09:30 on 2026-03-02. SL 20 s, short abandon 5 s.
const C1 = { id: 'c1' };
const C2 = { id: 'c2' };
const C3 = { id: 'c3' };
const C4 = { id: 'c4' };
const C5 = { id: 'c5' };
const C6 = { id: 'c6' }; // overflowed from site-a to site-b
const C6B = { ...C6, site: 'site-b' };
const C7 = { id: 'c7' }; // answered in I1, ended and wrapped up in I2
const C8 = { id: 'c8', skill: 'sales' };
const C9 = { id: 'c9', site: 'site-b' };
const C10 = { id: 'c10', tenant: 't2' };
const C11 = { id: 'c11' }; // site-b refused the overflow; answered at site-a

const CALL_EVENTS = [
  // C1: answered after 10 s (in SL) by a1; talk 170 s, hold 10 s, wrap-up 30 s — all in I1.
  offered(C1, at('09:00:00')),
  ev(C1, 'queued', at('09:00:00')),
  answered(C1, at('09:00:10'), 'a1', 10_000),
  ended(C1, at('09:03:10'), 'a1', 170_000, 10_000),
  wrapped(C1, at('09:03:40'), 'a1', 30_000),
  // C2: answered after 30 s (outside SL) by a2; talk 240 s, wrap-up 30 s — all in I1.
  offered(C2, at('09:01:00')),
  ev(C2, 'queued', at('09:01:00')),
  answered(C2, at('09:01:30'), 'a2', 30_000),
  ended(C2, at('09:05:30'), 'a2', 240_000),
  wrapped(C2, at('09:06:00'), 'a2', 30_000),
  // C3: the caller hung up after 3 s: a short abandon.
  offered(C3, at('09:02:00')),
  ev(C3, 'queued', at('09:02:00')),
  abandoned(C3, at('09:02:03'), 3_000, true),
  // C4: the caller hung up after 45 s.
  offered(C4, at('09:03:00')),
  ev(C4, 'queued', at('09:03:00')),
  abandoned(C4, at('09:03:45'), 45_000, true),
  // C5: the system gave up after 120 s (queue timeout): dropped, not abandoned.
  offered(C5, at('09:04:00')),
  ev(C5, 'queued', at('09:04:00')),
  abandoned(C5, at('09:06:00'), 120_000, false),
  // C6: arrives at site-a 09:05:00, overflowed to site-b at 09:05:40, answered there by b1 at
  // 09:05:55 after 55 s counted from the first arrival; talk 170 s, hold 10 s, wrap-up 20 s.
  offered(C6, at('09:05:00')),
  ev(C6, 'queued', at('09:05:00')),
  ev(C6, 'overflow_requested', at('09:05:40')),
  ev(C6, 'overflowed_out', at('09:05:40'), { peer_site_id: 'site-b', decision_id: 'd1' }),
  offered(C6B, at('09:05:41'), at('09:05:00')),
  ev(C6B, 'overflowed_in', at('09:05:41'), { peer_site_id: 'site-a', decision_id: 'd1' }),
  answered(C6B, at('09:05:55'), 'b1', 55_000),
  ended(C6B, at('09:08:55'), 'b1', 170_000, 10_000),
  wrapped(C6B, at('09:09:15'), 'b1', 20_000),
  // C7: answered after 15 s at 09:13:15 (I1) by a1; ends 09:18:15 and wraps up 09:18:45 (I2).
  offered(C7, at('09:13:00')),
  answered(C7, at('09:13:15'), 'a1', 15_000),
  ended(C7, at('09:18:15'), 'a1', 300_000),
  wrapped(C7, at('09:18:45'), 'a1', 30_000),
  // C8 (sales): answered after 5 s by a2; talk 240 s, wrap-up 20 s — all in I2.
  offered(C8, at('09:16:00')),
  answered(C8, at('09:16:05'), 'a2', 5_000),
  ended(C8, at('09:20:05'), 'a2', 240_000),
  wrapped(C8, at('09:20:25'), 'a2', 20_000),
  // C9 at site-b: the caller hung up after 25 s (not short).
  offered(C9, at('09:20:00')),
  abandoned(C9, at('09:20:25'), 25_000, true),
  // C10, tenant t2 at site-a: answered after 8 s by a3; talk 120 s, wrap-up 10 s — all in I1.
  offered(C10, at('09:02:00')),
  answered(C10, at('09:02:08'), 'a3', 8_000),
  ended(C10, at('09:04:08'), 'a3', 120_000),
  wrapped(C10, at('09:04:18'), 'a3', 10_000),
  // C11: site-b refused the overflow; answered at site-a after 40 s; talk 180 s, wrap-up 20 s.
  offered(C11, at('09:22:00')),
  ev(C11, 'overflow_requested', at('09:22:30')),
  ev(C11, 'overflow_rejected', at('09:22:30'), { peer_site_id: 'site-b', sip_code: 486 }),
  answered(C11, at('09:22:40'), 'a1', 40_000),
  ended(C11, at('09:25:40'), 'a1', 180_000),
  wrapped(C11, at('09:26:00'), 'a1', 20_000),
];

interface AgentSpec {
  readonly id: string;
  readonly tenant?: string;
  readonly site?: string;
}

/** An agent event that closes [since, time) in `from`, as the ingester writes it. */
function agentEv(agent: AgentSpec, from: string, since: Date, to: string, time: Date) {
  eventSeq += 1;
  return {
    event_id: `e${eventSeq}`,
    tenant_id: agent.tenant ?? 't1',
    site_id: agent.site ?? 'site-a',
    agent_id: agent.id,
    event_time: formatDateTime(time),
    // Written, as the ingester does: 18.16 does not apply the DEFAULT to an omitted field.
    event_date: formatDateTime(time).slice(0, 10),
    event_ms: time.getUTCMilliseconds(),
    from_state: from,
    to_state: to,
    reason_code: '',
    call_id: '',
    from_state_since: formatDateTime(since),
    from_state_since_ms: since.getUTCMilliseconds(),
    kafka_partition: 0,
    kafka_offset: eventSeq,
  };
}

/** Events that each close the state opened by the one before: [state, until][] from `start`. */
function agentDay(agent: AgentSpec, start: Date, states: readonly [string, Date][]) {
  let since = start;
  return states.map(([state, until], i) => {
    const next = states[i + 1]?.[0] ?? 'logged_out';
    const row = agentEv(agent, state, since, next, until);
    since = until;
    return row;
  });
}

const A1 = { id: 'a1' };
const B1 = { id: 'b1', site: 'site-b' };
const A3 = { id: 'a3', tenant: 't2' };

const AGENT_EVENTS = [
  // The login closes no interval (from_state_since is the epoch); no row in the rollup.
  agentEv(A1, 'logged_out', new Date(0), 'ready', at('09:00:00')),
  ...agentDay(A1, at('09:00:00'), [
    ['ready', at('09:00:08')], // ready 8 s
    ['reserved', at('09:00:10.500')], // reserved 2.5 s
    ['on_call', at('09:03:10')], // on call 179.5 s
    ['wrap_up', at('09:03:40')], // wrap-up 30 s
    ['ready', at('09:10:00')], // ready 380 s
    ['not_ready', at('09:12:00')], // not ready 120 s
    ['ready', at('09:13:15')], // ready 75 s
    ['on_call', at('09:18:15')], // on call: 105 s in I1, 195 s in I2
    ['wrap_up', at('09:18:45')], // wrap-up 30 s in I2
  ]),
  ...agentDay(B1, at('09:00:00'), [
    ['ready', at('09:05:55')], // ready 355 s
    ['on_call', at('09:08:55')], // on call 180 s
    ['wrap_up', at('09:09:15')], // wrap-up 20 s
    ['ready', at('09:15:00')], // ready 345 s
  ]),
  ...agentDay(A3, at('09:00:00'), [
    ['ready', at('09:02:08')], // ready 128 s
    ['on_call', at('09:04:08')], // on call 120 s
    ['wrap_up', at('09:04:18')], // wrap-up 10 s
    ['ready', at('09:07:30')], // ready 192 s
  ]),
];

// First-contact resolution, a week later (day D = 2026-03-09), skill billing unless said.
const D = 7;
const F = (id: string, extra: Partial<CallSpec> = {}): CallSpec => ({ id, ...extra });
function answeredCall(c: CallSpec, time: Date, agent = 'a1') {
  const answer = new Date(time.getTime() + 10_000);
  return [
    offered(c, time),
    answered(c, answer, agent, 10_000),
    ended(c, new Date(answer.getTime() + 60_000), agent, 60_000),
  ];
}
function abandonedCall(c: CallSpec, time: Date, waitMs: number) {
  return [offered(c, time), abandoned(c, new Date(time.getTime() + waitMs), waitMs, true)];
}

const FCR_EVENTS = [
  // cust-1: F1 answered at site-a on D; F2 two days later at site-b: F1 unresolved, F2 a repeat.
  ...answeredCall(F('f1', { customer: 'cust-1' }), at('10:00:00', D)),
  ...answeredCall(F('f2', { customer: 'cust-1', site: 'site-b' }), at('10:00:00', D + 2), 'b1'),
  // cust-2: F3 on D, F4 at site-b eight days later (outside 7 days): both first, both resolved.
  ...answeredCall(F('f3', { customer: 'cust-2' }), at('11:00:00', D)),
  ...answeredCall(F('f4', { customer: 'cust-2', site: 'site-b' }), at('11:00:00', D + 8), 'b1'),
  // cust-3: F5 on D; the next day a 2 s abandon (a short abandon is no repeat): F5 resolved.
  ...answeredCall(F('f5', { customer: 'cust-3' }), at('12:00:00', D)),
  ...abandonedCall(F('f6', { customer: 'cust-3' }), at('12:00:00', D + 1), 2_000),
  // cust-4: F7 billing on D, F8 sales the next day: different skills, both first and resolved.
  ...answeredCall(F('f7', { customer: 'cust-4' }), at('13:00:00', D)),
  ...answeredCall(F('f8', { customer: 'cust-4', skill: 'sales' }), at('13:00:00', D + 1)),
  // Known only by caller hash: F9 on D; F10 three days later hangs up after 30 s: a repeat.
  ...answeredCall(F('f9', { caller: 'hash-5' }), at('14:00:00', D)),
  ...abandonedCall(F('f10', { caller: 'hash-5' }), at('14:00:00', D + 3), 30_000),
  // cust-6: F11 abandoned (not a contact handled), F12 answered 30 min later: F12 first, resolved.
  ...abandonedCall(F('f11', { customer: 'cust-6' }), at('09:00:00', D), 30_000),
  ...answeredCall(F('f12', { customer: 'cust-6' }), at('09:30:00', D)),
  // Anonymous: no customer id, no caller hash: left out.
  ...answeredCall(F('f13'), at('15:00:00', D)),
  // Tenant t2 has its own cust-1: its F14 is no repeat of t1's F1, and resolved.
  ...answeredCall(F('f14', { customer: 'cust-1', tenant: 't2' }), at('10:00:00', D), 'a3'),
];

// ---------------------------------------------------------------------------------------------

let client: ClickHouseClient;
const ran: { name: string; sql: string }[] = [];

const HOUR = { from: '2026-03-02T09:00:00Z', to: '2026-03-02T10:00:00Z' };
const HQ: Scope = { role: 'hq' };
const DAY_D_FILTER = { from: '2026-03-09T00:00:00Z', to: '2026-03-10T00:00:00Z' };
const I1 = '2026-03-02T09:00:00.000Z';
const I2 = '2026-03-02T09:15:00.000Z';

async function kpis(name: string, scope: Scope, filter: unknown): Promise<KpiRow[]> {
  const query = kpiQuery(scope, validateKpiFilter(filter)).text;
  ran.push({ name, sql: query });
  return parseKpiRows(await rows<Record<string, unknown>>(client, query));
}

async function fcr(name: string, scope: Scope, filter: unknown): Promise<FcrRow[]> {
  const query = fcrQuery(scope, validateKpiFilter(filter)).text;
  ran.push({ name, sql: query });
  return parseFcrRows(await rows<Record<string, unknown>>(client, query));
}

/** Every expected field equals the row's; ratios to 9 decimals. */
function expectFigures(row: KpiRow | FcrRow | undefined, expected: Record<string, unknown>) {
  expect(row, `no row for ${JSON.stringify(expected)}`).toBeDefined();
  for (const [key, value] of Object.entries(expected)) {
    const actual = (row as unknown as Record<string, unknown>)[key];
    if (typeof value === 'number' && !Number.isInteger(value))
      expect(actual, key).toBeCloseTo(value, 9);
    else expect(actual, key).toEqual(value);
  }
}

async function insertAll() {
  await client.insert({ table: 'call_events', values: CALL_EVENTS, format: 'JSONEachRow' });
  await client.insert({ table: 'agent_events', values: AGENT_EVENTS, format: 'JSONEachRow' });
  await client.insert({ table: 'call_events', values: FCR_EVENTS, format: 'JSONEachRow' });
}

beforeAll(async () => {
  ({ client } = await freshDatabase());
  await insertAll();
});

afterAll(async () => {
  await client?.close();
});

describe('KPIs from the 15-minute rollups', () => {
  it('per site, skill, tenant and interval', async () => {
    const got = await kpis('kpi by site/skill/tenant/interval', HQ, {
      ...HOUR,
      groupBy: ['site', 'skill', 'tenant', 'interval'],
    });
    expect(got.map((r) => `${r.site} ${r.skill} ${r.tenant} ${r.interval}`)).toEqual([
      `site-a billing t1 ${I1}`,
      `site-a billing t1 ${I2}`,
      `site-a billing t2 ${I1}`,
      `site-a sales t1 ${I2}`,
      `site-b billing t1 ${I1}`,
      `site-b billing t1 ${I2}`,
    ]);
    const [aI1, aI2, aT2, aSales, bI1, bI2] = got;

    // site-a billing t1 I1. Offered: C1 C2 C3 C4 C5 C6 C7 = 7, C6 left as overflow_out 1.
    // Answered C1 (10 s) C2 (30 s) C7 (15 s) = 3, in SL (≤ 20 s) C1 C7 = 2, waits 55 s.
    // Abandoned by the caller C3 (3 s, short) C4 (45 s) = 2; dropped by the system C5 = 1.
    // SL = 2 / (3 + 2 − 1 + 1) = 0.4; abandon rate = (2 − 1) / 5 = 0.2; ASA = 55 / 3 s.
    // Handled (ended in I1): C1 C2 = 2; talk 170 + 240, hold 10, wrap-up 30 + 30 = 480 s
    // → AHT 240 s. C7 ended in I2, so its talk and wrap-up are booked there.
    // Occupancy is null: agents have no skill, and the query groups by skill.
    expectFigures(aI1, {
      offered: 7,
      first_offered: 7,
      overflow_in: 0,
      overflow_out: 1,
      overflow_rejected: 0,
      answered: 3,
      answered_in_sl: 2,
      abandoned: 2,
      abandoned_short: 1,
      dropped: 1,
      handled: 2,
      service_level: 0.4,
      abandon_rate: 0.2,
      asa_s: 55 / 3,
      aht_s: 240,
      talk_s: 410,
      hold_s: 10,
      wrap_up_s: 60,
      occupancy: null,
      staffed_s: null,
    });
    // site-a billing t1 I2. Offered C11 = 1; its overflow refused = 1; answered after 40 s
    // (outside SL) → SL 0 / 1 = 0, ASA 40 s. Handled C7 (talk 300, wrap 30) and C11 (talk 180,
    // wrap 20) = 2 → AHT (480 + 50) / 2 = 265 s.
    expectFigures(aI2, {
      offered: 1,
      overflow_rejected: 1,
      overflow_out: 0,
      answered: 1,
      answered_in_sl: 0,
      abandoned: 0,
      dropped: 0,
      handled: 2,
      service_level: 0,
      abandon_rate: 0,
      asa_s: 40,
      aht_s: 265,
      talk_s: 480,
      wrap_up_s: 50,
    });
    // site-a billing t2 I1: C10 answered after 8 s, talk 120, wrap-up 10 → SL 1, ASA 8, AHT 130.
    expectFigures(aT2, {
      offered: 1,
      answered: 1,
      answered_in_sl: 1,
      handled: 1,
      service_level: 1,
      asa_s: 8,
      aht_s: 130,
    });
    // site-a sales t1 I2: C8 answered after 5 s, talk 240, wrap-up 20 → SL 1, ASA 5, AHT 260.
    expectFigures(aSales, {
      offered: 1,
      answered: 1,
      answered_in_sl: 1,
      handled: 1,
      service_level: 1,
      asa_s: 5,
      aht_s: 260,
    });
    // site-b billing t1 I1: C6 offered here too (overflow_in 1), so it first reached the
    // federation elsewhere: first_offered 0. Answered after 55 s from its first arrival
    // (outside SL) → SL 0, ASA 55; talk 170 + hold 10 + wrap-up 20 → AHT 200.
    expectFigures(bI1, {
      offered: 1,
      first_offered: 0,
      overflow_in: 1,
      answered: 1,
      answered_in_sl: 0,
      handled: 1,
      service_level: 0,
      asa_s: 55,
      aht_s: 200,
      hold_s: 10,
    });
    // site-b billing t1 I2: C9 abandoned after 25 s → SL 0 / 1, abandon rate 1, no ASA, no AHT.
    expectFigures(bI2, {
      offered: 1,
      first_offered: 1,
      answered: 0,
      abandoned: 1,
      abandoned_short: 0,
      service_level: 0,
      abandon_rate: 1,
      asa_s: null,
      aht_s: null,
    });
  });

  it('federation-wide: an overflowed call is offered once, and SL counts abandons against', async () => {
    const [all, ...more] = await kpis('kpi federation-wide', HQ, { ...HOUR, groupBy: [] });
    expect(more).toEqual([]);
    // offered 7 + 1 + 1 + 1 + 1 + 1 = 12, of which C6 twice: first_offered 12 − 1 = 11 calls.
    // Answered C1 C2 C6 C7 C8 C10 C11 = 7, in SL C1 C7 C8 C10 = 4; abandoned C3 C4 C9 = 3,
    // short C3 = 1; dropped C5 = 1. SL = 4 / (7 + 3 − 1 + 1) = 0.4; abandon rate 2 / 10.
    // Waits 10 + 30 + 55 + 15 + 5 + 8 + 40 = 163 s → ASA 163 / 7.
    // Handled 7; talk 410 + 480 + 240 + 120 + 170 = 1420, hold 20, wrap-up 60 + 50 + 20 + 10 +
    // 20 = 160 → AHT 1600 / 7 s.
    // Occupancy over a1, b1 and a3, whole hour: busy (on call + wrap-up) a1 179.5 + 30 + 105 +
    // 195 + 30 = 539.5 s, b1 180 + 20 = 200 s, a3 120 + 10 = 130 s → 869.5 s; staffed (ready +
    // reserved + busy; not-ready excluded) a1 463 + 2.5 + 539.5 = 1005, b1 355 + 345 + 200 =
    // 900, a3 128 + 192 + 130 = 450 → 2355 s.
    expectFigures(all, {
      offered: 12,
      first_offered: 11,
      overflow_in: 1,
      overflow_out: 1,
      overflow_rejected: 1,
      answered: 7,
      answered_in_sl: 4,
      abandoned: 3,
      abandoned_short: 1,
      dropped: 1,
      handled: 7,
      service_level: 0.4,
      abandon_rate: 0.2,
      asa_s: 163 / 7,
      aht_s: 1600 / 7,
      occupancy: 869.5 / 2355,
      staffed_s: 2355,
    });
  });

  it('occupancy per site and interval, with agent time split at the interval edge', async () => {
    const got = await kpis('kpi by site/interval', HQ, { ...HOUR, groupBy: ['site', 'interval'] });
    expect(got.map((r) => `${r.site} ${r.interval}`)).toEqual([
      `site-a ${I1}`,
      `site-a ${I2}`,
      `site-b ${I1}`,
      `site-b ${I2}`,
    ]);
    // site-a I1: a1 busy 179.5 + 30 + 105 (on call 09:13:15–09:15) = 314.5 s, staffed ready 8 +
    // 380 + 75 = 463, reserved 2.5 → 780 s; a3 busy 130 of 450 s → 444.5 / 1230.
    // Offered: t1 billing 7 + t2's C10 = 8.
    expectFigures(got[0], { occupancy: 444.5 / 1230, staffed_s: 1230, offered: 8 });
    // site-a I2: a1 on call 195 s (09:15–09:18:15) and wrap-up 30 s, nothing else → 1.
    expectFigures(got[1], { occupancy: 1, staffed_s: 225, offered: 2 });
    // site-b I1: b1 busy 200 of 900 s. site-b I2: no agent time → null.
    expectFigures(got[2], { occupancy: 200 / 900, staffed_s: 900 });
    expectFigures(got[3], { occupancy: null, staffed_s: 0, offered: 1 });
  });

  it('by hour and by day sums the intervals', async () => {
    const [hour] = await kpis('kpi by hour', HQ, { ...HOUR, groupBy: ['hour'] });
    const [day] = await kpis('kpi by day', HQ, {
      from: '2026-03-02T00:00:00Z',
      to: '2026-03-03T00:00:00Z',
      groupBy: ['day'],
    });
    expectFigures(hour, { hour: '2026-03-02T09:00:00.000Z', offered: 12, answered: 7 });
    expectFigures(day, { day: '2026-03-02T00:00:00.000Z', offered: 12, answered: 7 });
  });

  it('a tenant client sees only its tenant, whatever tenants and sites the filter names', async () => {
    const scope: Scope = { role: 'tenant', tenantId: 't2' };
    const got = await kpis('kpi tenant scope', scope, {
      ...HOUR,
      groupBy: ['tenant', 'site'],
      tenants: ['t1', 't2'],
      sites: ['site-a', 'site-b'],
    });
    // Only C10 and a3 belong to t2: occupancy 130 / 450.
    expect(got.map((r) => `${r.tenant} ${r.site}`)).toEqual(['t2 site-a']);
    expectFigures(got[0], { offered: 1, answered: 1, handled: 1, occupancy: 130 / 450 });
    const none = await kpis('kpi tenant scope, other tenant', scope, {
      ...HOUR,
      groupBy: ['tenant'],
      tenants: ['t1'],
    });
    expect(none).toEqual([]);
  });

  it('a site supervisor sees only their site, whatever sites the filter names', async () => {
    const scope: Scope = { role: 'site', siteId: 'site-b' };
    const got = await kpis('kpi site scope', scope, {
      ...HOUR,
      groupBy: ['site', 'tenant'],
      sites: ['site-a', 'site-b'],
    });
    // site-b: C6 (overflowed in, answered) and C9 (abandoned).
    expect(got.map((r) => `${r.site} ${r.tenant}`)).toEqual(['site-b t1']);
    expectFigures(got[0], { offered: 2, overflow_in: 1, answered: 1, abandoned: 1 });
  });

  it('filters by skill, and then leaves occupancy out', async () => {
    const [sales, ...more] = await kpis('kpi skill filter', HQ, { ...HOUR, skills: ['sales'] });
    expect(more).toEqual([]);
    expectFigures(sales, { offered: 1, answered: 1, occupancy: null, staffed_s: null });
  });

  it('reads only the buckets from `from` up to `to`', async () => {
    const [i2] = await kpis('kpi one interval', HQ, {
      from: '2026-03-02T09:15:00Z',
      to: '2026-03-02T09:30:00Z',
    });
    // I2 only: C11 (site-a), C8, C9 offered.
    expectFigures(i2, { offered: 3, answered: 2 });
  });
});

describe('first-contact resolution from the calls view', () => {
  const DAY_D = { from: '2026-03-09T00:00:00Z', to: '2026-03-10T00:00:00Z' };
  const TEN_DAYS = { from: '2026-03-09T00:00:00Z', to: '2026-03-19T00:00:00Z' };

  it('counts first contacts and those not repeated within 7 days', async () => {
    const got = await fcr('fcr by skill and day', HQ, { ...TEN_DAYS, groupBy: ['skill', 'day'] });
    expect(got.map((r) => `${r.skill} ${r.day}`)).toEqual([
      'billing 2026-03-09T00:00:00.000Z',
      'billing 2026-03-17T00:00:00.000Z',
      'sales 2026-03-10T00:00:00.000Z',
    ]);
    // Day D billing: first contacts F1 F3 F5 F7 F9 F12 (t1) and F14 (t2) = 7; F13 is anonymous.
    // Repeated within 7 days: F1 (F2 at site-b two days on), F9 (F10 abandoned three days on).
    // F5's short abandon and F7's sales call are no repeats → resolved 5.
    expectFigures(got[0], { first_contacts: 7, resolved: 5, fcr: 5 / 7 });
    // F2 is a repeat (F1 two days before), so D + 2 has no first contact. F4 comes 8 days after
    // F3: a first contact of its own, resolved. F8 (sales) likewise.
    expectFigures(got[1], { first_contacts: 1, resolved: 1, fcr: 1 });
    expectFigures(got[2], { first_contacts: 1, resolved: 1, fcr: 1 });
  });

  it('books a contact at the site that answered it and sees repeats at every site', async () => {
    const siteA = await fcr(
      'fcr site scope a',
      { role: 'site', siteId: 'site-a' },
      {
        ...DAY_D,
        groupBy: ['site'],
        sites: ['site-a', 'site-b'],
      },
    );
    // F1's repeat was answered at site-b, and still counts against site-a.
    expect(siteA.map((r) => r.site)).toEqual(['site-a']);
    expectFigures(siteA[0], { first_contacts: 7, resolved: 5 });
    const siteB = await fcr(
      'fcr site scope b',
      { role: 'site', siteId: 'site-b' },
      {
        ...TEN_DAYS,
        groupBy: ['site'],
        sites: ['site-a', 'site-b'],
      },
    );
    expect(siteB.map((r) => r.site)).toEqual(['site-b']);
    expectFigures(siteB[0], { first_contacts: 1, resolved: 1 }); // F4
  });

  it('a tenant client sees only its own customers', async () => {
    const t1 = await fcr(
      'fcr tenant scope',
      { role: 'tenant', tenantId: 't1' },
      {
        ...DAY_D,
        groupBy: ['tenant'],
        tenants: ['t1', 't2'],
      },
    );
    expect(t1.map((r) => r.tenant)).toEqual(['t1']);
    expectFigures(t1[0], { first_contacts: 6, resolved: 4, fcr: 4 / 6 });
  });

  it('refuses to book FCR finer than a day', () => {
    expect(() => fcrQuery(HQ, validateKpiFilter({ ...DAY_D, groupBy: ['interval'] }))).toThrowError(
      KpiFilterError,
    );
  });
});

describe('callbacks: their own figures and service level (050_callbacks.sql, docs/kpis.md)', () => {
  // On 2026-03-20, 10:00-10:15, site-a billing t1; no call events then.
  const T = (time: string) => at(time, 18);
  const cb = (id: string) => ({ id, skill: 'billing' });
  const SL = 1_800_000;
  beforeAll(async () => {
    await client.insert({
      table: 'call_events',
      values: [
        // cb1: asked while queued, busy at the first attempt, connected 620 s after it asked (in SL).
        ev(cb('cb1'), 'callback_requested', T('10:00:00'), { callback_sl_ms: SL }),
        ev(cb('cb1'), 'callback_attempt_started', T('10:05:00'), { agent_id: 'a1' }),
        ev(cb('cb1'), 'callback_attempt_ended', T('10:05:30'), {
          agent_id: 'a1',
          callback_outcome: 'busy',
          callback_counted: 1,
        }),
        ev(cb('cb1'), 'callback_attempt_started', T('10:10:00'), { agent_id: 'a1' }),
        ev(cb('cb1'), 'callback_completed', T('10:10:20'), {
          agent_id: 'a1',
          callback_outcome: 'connected',
          callback_wait_ms: 620_000,
          callback_sl_ms: SL,
        }),
        // cb2: scheduled, connected 2000 s after its time (out of SL).
        ev(cb('cb2'), 'callback_scheduled', T('10:01:00'), { callback_sl_ms: SL }),
        ev(cb('cb2'), 'callback_attempt_started', T('10:02:00'), { agent_id: 'a2' }),
        ev(cb('cb2'), 'callback_completed', T('10:14:00'), {
          agent_id: 'a2',
          callback_outcome: 'connected',
          callback_wait_ms: 2_000_000,
          callback_sl_ms: SL,
        }),
        // cb3: asked, given up (attempts exhausted): a miss.
        ev(cb('cb3'), 'callback_requested', T('10:03:00'), { callback_sl_ms: SL }),
        ev(cb('cb3'), 'callback_cancelled', T('10:12:00'), {
          callback_outcome: 'exhausted',
          callback_sl_ms: SL,
        }),
      ],
      format: 'JSONEachRow',
    });
  });

  it('counts requests, attempts, connections and give-ups; SL = in target / (connected + given up)', async () => {
    const [row, ...more] = await kpis('kpi with callbacks', HQ, {
      from: '2026-03-20T10:00:00Z',
      to: '2026-03-20T11:00:00Z',
      groupBy: ['site', 'skill'],
    });
    expect(more).toEqual([]);
    expectFigures(row, {
      site: 'site-a',
      skill: 'billing',
      offered: 0,
      answered: 0,
      callbacks_requested: 3,
      callback_attempts: 3,
      callbacks_connected: 2,
      callbacks_connected_in_sl: 1,
      callbacks_cancelled: 1,
      callback_service_level: 1 / 3,
      callback_wait_s: (620 + 2000) / 2,
    });
  });

  it('keeps a tenant to its own callbacks', async () => {
    const none = await kpis(
      'kpi callbacks, other tenant',
      { role: 'tenant', tenantId: 't2' },
      {
        from: '2026-03-20T10:00:00Z',
        to: '2026-03-20T11:00:00Z',
      },
    );
    expectFigures(none[0], { callbacks_requested: 0, callback_service_level: null });
  });
});

describe('the same events twice', () => {
  it('do not change figures read from the calls view', async () => {
    const before = await fcr('fcr before', HQ, { ...DAY_D_FILTER, groupBy: ['tenant'] });
    const count =
      'SELECT count() AS calls, sum(answered) AS answered, sum(talk_ms) AS talk FROM calls';
    const callsBefore = await rows(client, count);
    await insertAll();
    expect(await fcr('fcr after', HQ, { ...DAY_D_FILTER, groupBy: ['tenant'] })).toEqual(before);
    expect(await rows(client, count)).toEqual(callsBefore);
    expect(before.map((r) => `${r.tenant} ${r.first_contacts} ${r.resolved}`)).toEqual([
      't1 6 4',
      't2 1 1',
    ]);
  });
});

describe('current ClickHouse', () => {
  it('runs every KPI query this file ran on 18.16', async () => {
    expect(ran.length).toBeGreaterThanOrEqual(15);
    await assertRunsOnCurrentClickHouse(migratedDatabaseSetup(), ran);
  });
});
