import { describe, expect, it } from 'vitest';
import { fcrQuery, parseFcrRows } from './kpi-fcr.js';
import { KpiFilterError, validateKpiFilter } from './kpi.js';

const day = validateKpiFilter({
  from: '2026-03-09T00:00:00Z',
  to: '2026-03-10T00:00:00Z',
  groupBy: ['site', 'day'],
  sites: ['site-a'],
});

describe('fcrQuery', () => {
  it('reads 7 days either side of the period, to see earlier contacts and later repeats', () => {
    const text = fcrQuery({ role: 'hq' }, day).text;
    expect(text).toContain("arrival_time >= toDateTime('2026-03-02 00:00:00', 'UTC')");
    expect(text).toContain("arrival_time < toDateTime('2026-03-17 00:00:00', 'UTC')");
    expect(text).toContain("contact_time >= toUInt32(toDateTime('2026-03-09 00:00:00', 'UTC'))");
    // Only the histories of customers with an answered contact in the period are read.
    expect(text).toContain(
      "answered = 1 AND arrival_time >= toDateTime('2026-03-09 00:00:00', 'UTC') AND arrival_time < toDateTime('2026-03-10 00:00:00', 'UTC')",
    );
    expect(text).toContain("has(['site-a'], contact_site)");
  });

  it('pins a site supervisor to the contacts their site answered', () => {
    const text = fcrQuery({ role: 'site', siteId: 'site-b' }, day).text;
    expect(text).toContain("`contact_site` = 'site-b'");
  });

  it('pins a tenant client to its tenant both where calls are read and where they are booked', () => {
    const text = fcrQuery({ role: 'tenant', tenantId: 'acme' }, day).text;
    // The contacts read twice (candidates, histories) and the agents' verdicts.
    expect(text.match(/`tenant_id` = 'acme'/g)).toHaveLength(3);
  });

  it('refuses a grouping finer than a day, naming groupBy', () => {
    const byInterval = validateKpiFilter({
      from: '2026-03-09T00:00:00Z',
      to: '2026-03-10T00:00:00Z',
      groupBy: ['interval'],
    });
    expect(() => fcrQuery({ role: 'hq' }, byInterval)).toThrow(KpiFilterError);
    expect(() => fcrQuery({ role: 'hq' }, byInterval)).toThrow(/groupBy: .*booked by day/);
  });
});

describe('parseFcrRows', () => {
  it('gives the share resolved, or null when there was no first contact', () => {
    expect(
      parseFcrRows([
        { site: 'site-a', day: 1773014400, first_contacts: '4', resolved: '3' },
        { site: 'site-b', day: 1773014400, first_contacts: '0', resolved: '0' },
      ]),
    ).toEqual([
      {
        site: 'site-a',
        day: '2026-03-09T00:00:00.000Z',
        first_contacts: 4,
        resolved: 3,
        fcr: 0.75,
      },
      {
        site: 'site-b',
        day: '2026-03-09T00:00:00.000Z',
        first_contacts: 0,
        resolved: 0,
        fcr: null,
      },
    ]);
  });
});
