// The generator's INSERT … SELECT statements on a current ClickHouse (chdb), and the figures
// they produce through the materialized views: the shape the benchmark's report relies on
// (abandons, overflows, waits, surveys, occupancy) has to be there, not merely rows. The same
// statements run on 18.16 in every `npm run bench:queries`.
import { readMigrations, runOnCurrentClickHouse } from '@ccfed/services';
import { describe, expect, it } from 'vitest';
import {
  agentEventsInsert,
  callEventsInsert,
  crmEventsInsert,
  DEFAULT_PARAMS,
  routeDecisionsInsert,
  siteSnapshotsInsert,
  surveysInsert,
  weekProfile,
} from './generate.js';

const CALLS = 20_000;
const p = { ...DEFAULT_PARAMS, calls: CALLS * 52, customers: 3_000 };

describe('weekProfile', () => {
  it('rises to 1 over 168 hours, weekday office hours busiest', () => {
    const cum = weekProfile();
    expect(cum).toHaveLength(168);
    expect(cum.at(-1)).toBe(1);
    const share = (h: number) => cum[h]! - (h === 0 ? 0 : cum[h - 1]!);
    expect(share(10)).toBeGreaterThan(share(3) * 10);
    expect(share(5 * 24 + 10)).toBeCloseTo(share(10) / 2, 9);
  });
});

describe('generated data on current ClickHouse', () => {
  it('fills the raw tables and, through the views, the rollups with realistic figures', async () => {
    const setup = [
      'CREATE DATABASE ccfed',
      'USE ccfed',
      ...readMigrations().flatMap((m) => m.statements),
    ];
    // The first week's calls (CALLS of them), three days of agents (every agent works one of them), customers, an hour of snapshots.
    const inserts = [
      callEventsInsert(p, 0, CALLS),
      surveysInsert(p, 0, CALLS),
      routeDecisionsInsert(p, 0, CALLS),
      agentEventsInsert(p, 0, 3),
      crmEventsInsert(p, 0, p.customers),
      siteSnapshotsInsert(p, 0, 60),
    ].map((q) => q.text);
    const checks = [
      `SELECT count() AS calls_seen, sum(abandoned) / calls_seen AS abandon_share,
              sum(overflowed) / calls_seen AS overflow_share, quantileExact(0.5)(wait_ms) AS median_wait,
              sum(answered) AS answered_calls, uniqExact(customer_id) AS customers,
              min(arrival_time) AS first, max(arrival_time) AS last
       FROM calls`,
      `SELECT sum(offered) - sum(overflow_in) AS first_offered, sum(answered) AS answered_calls,
              sum(handled) AS handled_calls, (sum(talk_ms) + sum(hold_ms) + sum(wrap_up_ms)) / handled_calls AS aht_ms
       FROM call_rollup_15m`,
      'SELECT count() AS surveys FROM surveys',
      `SELECT countIf(verdict = 'overflow') AS overflows FROM route_decisions`,
      `SELECT sum(on_call_ms + wrap_up_ms) / sum(ready_ms + reserved_ms + on_call_ms + wrap_up_ms) AS occupancy,
              uniqExact(agent_id) AS agents
       FROM agent_rollup_15m`,
      `SELECT uniqExact(customer_id) AS with_holdings FROM crm_events WHERE kind = 'holdings'`,
      'SELECT count() AS snapshots FROM site_snapshots',
      // FCR's contacts: one per call with an outcome (every generated call has one and a customer).
      'SELECT count() AS contacts, uniqExact(call_key) AS calls, sum(answered) AS answered FROM contacts',
    ];
    const results = await runOnCurrentClickHouse([...setup, ...inserts, ...checks]);
    const failed = results
      .map((r, i) => (r.ok ? '' : `${[...setup, ...inserts, ...checks][i]}\n  ${r.error}`))
      .filter(Boolean);
    expect(failed).toEqual([]);
    const [calls, rollup, surveys, decisions, agents, crm, snapshots, contacts] = results
      .slice(setup.length + inserts.length)
      .map((r) => (r.ok ? r.rows[0]! : {}));
    const n = (row: Record<string, unknown> | undefined, key: string) => Number(row?.[key]);

    expect(n(calls, 'calls_seen')).toBe(CALLS);
    expect(n(calls, 'abandon_share')).toBeGreaterThan(0.1);
    expect(n(calls, 'abandon_share')).toBeLessThan(0.16);
    expect(n(calls, 'overflow_share')).toBeGreaterThan(0.02);
    expect(n(calls, 'overflow_share')).toBeLessThan(0.04);
    expect(n(calls, 'median_wait')).toBeLessThan(60_000);
    // Repeat callers: fewer customers than calls.
    expect(n(calls, 'customers')).toBeLessThan(CALLS * 0.9);
    expect(String(calls?.first) >= '2025-11-02 16:00:00').toBe(true);
    expect(String(calls?.last) < '2025-11-09 16:00:00').toBe(true);

    // Federation-wide offered counts each call once, overflowed or not.
    expect(n(rollup, 'first_offered')).toBe(CALLS);
    expect(n(rollup, 'answered_calls')).toBe(n(calls, 'answered_calls'));
    expect(n(rollup, 'handled_calls')).toBe(n(calls, 'answered_calls'));
    expect(n(rollup, 'aht_ms')).toBeGreaterThan(150_000);
    expect(n(rollup, 'aht_ms')).toBeLessThan(450_000);

    expect(n(surveys, 'surveys') / n(calls, 'answered_calls')).toBeGreaterThan(0.08);
    expect(n(surveys, 'surveys') / n(calls, 'answered_calls')).toBeLessThan(0.12);
    expect(n(decisions, 'overflows')).toBe(Math.round(n(calls, 'overflow_share') * CALLS));
    expect(n(agents, 'occupancy')).toBeGreaterThan(0.7);
    expect(n(agents, 'occupancy')).toBeLessThan(0.95);
    expect(n(agents, 'agents')).toBe(350);
    expect(n(crm, 'with_holdings')).toBe(p.customers);
    expect(n(snapshots, 'snapshots')).toBe(60 * 20);
    expect(n(contacts, 'contacts')).toBe(CALLS);
    expect(n(contacts, 'calls')).toBe(CALLS);
    expect(n(contacts, 'answered')).toBe(n(calls, 'answered_calls'));
  }, 120_000);
});
