import { describe, expect, it } from 'vitest';
import { KpiFilterError, kpiQuery, parseKpiRows, validateKpiFilter } from './kpi.js';

const good = { from: '2026-03-01T00:00:00Z', to: '2026-03-02T00:00:00Z' };

function failure(input: unknown): KpiFilterError {
  try {
    validateKpiFilter(input);
  } catch (e) {
    if (e instanceof KpiFilterError) return e;
    throw e;
  }
  throw new Error(`accepted ${JSON.stringify(input)}`);
}

describe('validateKpiFilter', () => {
  it('accepts a well-formed filter and turns the timestamps into Dates', () => {
    const f = validateKpiFilter({
      ...good,
      from: '2026-03-01T08:00:00+08:00',
      groupBy: ['site', 'interval'],
      sites: ['beijing', 'site-2'],
      tenants: ['acme-bank'],
    });
    expect(f).toEqual({
      from: new Date('2026-03-01T00:00:00Z'),
      to: new Date('2026-03-02T00:00:00Z'),
      groupBy: ['site', 'interval'],
      sites: ['beijing', 'site-2'],
      tenants: ['acme-bank'],
    });
    expect(validateKpiFilter(good).groupBy).toEqual([]);
  });

  it('refuses from after to, naming to', () => {
    const e = failure({ from: good.to, to: good.from });
    expect(e).toBeInstanceOf(KpiFilterError);
    expect(e.message).toMatch(/to: expected to be later than from/);
    expect(failure({ from: good.from, to: good.from }).message).toMatch(/^invalid KPI filter: to:/);
  });

  it('refuses a span longer than 400 days', () => {
    expect(failure({ from: '2025-01-01T00:00:00Z', to: '2026-03-01T00:00:00Z' }).message).toMatch(
      /to: expected at most 400 days after from, got 424/,
    );
    expect(() =>
      validateKpiFilter({ from: '2025-01-01T00:00:00Z', to: '2026-02-05T00:00:00Z' }),
    ).not.toThrow();
  });

  it('refuses a timestamp that is not ISO 8601, naming the field', () => {
    expect(failure({ ...good, from: 'yesterday' }).message).toMatch(/from: expected an ISO 8601/);
    expect(failure({ ...good, to: '2026-03-02 00:00:00' }).message).toMatch(/to: expected an ISO/);
    expect(failure({ to: good.to }).message).toMatch(/from:/);
  });

  it('refuses an unknown or repeated groupBy dimension', () => {
    expect(failure({ ...good, groupBy: ['site', 'agent'] }).message).toMatch(
      /groupBy\.1: expected one of site, skill, tenant, interval, hour, day/,
    );
    expect(failure({ ...good, groupBy: ['site', 'site'] }).message).toMatch(
      /groupBy: expected each dimension at most once/,
    );
  });

  it('refuses an id with a quote in it, and an empty id list, naming the field', () => {
    expect(failure({ ...good, sites: ['beijing', "x' OR 1=1"] }).message).toMatch(
      /sites\.1: expected an id/,
    );
    expect(failure({ ...good, tenants: ['Acme'] }).message).toMatch(/tenants\.0: expected an id/);
    expect(failure({ ...good, skills: [] }).message).toMatch(/skills: expected at least one id/);
  });

  it('refuses fields it does not know', () => {
    expect(failure({ ...good, site: 'beijing' }).message).toMatch(/site/);
  });
});

describe('kpiQuery', () => {
  const filter = validateKpiFilter({ ...good, groupBy: ['site', 'interval'] });

  it('puts the scope into every rollup it reads: calls, callbacks, agents', () => {
    const text = kpiQuery({ role: 'tenant', tenantId: 'acme-bank' }, filter).text;
    expect(text.match(/`tenant_id` = 'acme-bank'/g)).toHaveLength(3);
    expect(text).toContain('FROM call_rollup_15m');
    expect(text).toContain('FROM callback_rollup_15m');
    expect(text).toContain('FROM agent_rollup_15m');
  });

  it('leaves agent time out when grouping or filtering by skill', () => {
    const bySkill = validateKpiFilter({ ...good, groupBy: ['skill'] });
    expect(kpiQuery({ role: 'hq' }, bySkill).text).not.toContain('agent_rollup_15m');
    const oneSkill = validateKpiFilter({ ...good, skills: ['billing'] });
    expect(kpiQuery({ role: 'hq' }, oneSkill).text).not.toContain('agent_rollup_15m');
  });
});

describe('parseKpiRows', () => {
  const zeros = {
    offered: '0',
    overflow_in: '0',
    overflow_out: '0',
    overflow_rejected: '0',
    answered: '0',
    answered_in_sl: '0',
    answer_wait_ms: '0',
    abandoned: '0',
    abandoned_short: '0',
    dropped: '0',
    handled: '0',
    talk_ms: '0',
    hold_ms: '0',
    wrap_up_ms: '0',
    transferred: '0',
    ready_ms: '0',
    reserved_ms: '0',
    on_call_ms: '0',
    agent_wrap_up_ms: '0',
    callbacks_requested: '0',
    callbacks_connected: '0',
    callbacks_connected_in_sl: '0',
    callback_wait_ms: '0',
    callbacks_cancelled: '0',
    callback_attempts: '0',
    with_agents: 1,
  };

  it('gives null ratios, not NaN, when nothing was counted', () => {
    const [row] = parseKpiRows([{ ...zeros, site: 'a', interval: 1772323200 }]);
    expect(row).toMatchObject({
      site: 'a',
      interval: '2026-03-01T00:00:00.000Z',
      service_level: null,
      asa_s: null,
      aht_s: null,
      occupancy: null,
      staffed_s: 0,
      callback_service_level: null,
      callback_wait_s: null,
    });
  });

  it("gives the callbacks' service level over those connected or given up, and their mean wait", () => {
    const [row] = parseKpiRows([
      {
        ...zeros,
        callbacks_requested: '5',
        callbacks_connected: '3',
        callbacks_connected_in_sl: '2',
        callback_wait_ms: '900000',
        callbacks_cancelled: '1',
        callback_attempts: '6',
      },
    ]);
    expect(row).toMatchObject({
      callbacks_requested: 5,
      callbacks_connected: 3,
      callbacks_cancelled: 1,
      callback_attempts: 6,
      callback_service_level: 2 / 4,
      callback_wait_s: 300,
    });
  });

  it('refuses a row whose number is not a number', () => {
    expect(() => parseKpiRows([{ ...zeros, answered: 'x' }])).toThrow(/answered is "x"/);
  });
});
