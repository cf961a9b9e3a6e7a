import { describe, expect, it } from 'vitest';
import {
  churnCallbackQuery,
  churnLabelsQuery,
  churnScoresQuery,
  parseChurnCallbackRows,
  parseChurnRows,
} from './churn.js';
import { InvalidOptionError } from './churn-options.js';

const asOf = new Date('2026-06-01T00:00:00Z');

describe('churn queries', () => {
  it('refuses bad options, naming the field', () => {
    expect(() => churnCallbackQuery({ role: 'hq' }, { limit: 0, asOf })).toThrow(/^limit: /);
    // A campaign's list: up to the site's 100,000 contacts, not the 1000 of other queries.
    expect(churnCallbackQuery({ role: 'hq' }, { limit: 50_000, asOf }).text).toMatch(
      /LIMIT 50000$/,
    );
    expect(() => churnCallbackQuery({ role: 'hq' }, { limit: 100_001, asOf })).toThrow(
      /^limit: 100001 is not a whole number from 1 to 100000/,
    );
    expect(() => churnCallbackQuery({ role: 'hq' }, { limit: 10, asOf, siteId: 'North!' })).toThrow(
      InvalidOptionError,
    );
    expect(() =>
      churnCallbackQuery({ role: 'hq' }, { limit: 10, asOf: new Date(Number.NaN) }),
    ).toThrow(/^asOf: /);
    expect(() =>
      churnScoresQuery({ role: 'hq' }, { asOf: 'yesterday' as unknown as Date }),
    ).toThrow(/^asOf: /);
    expect(() => churnLabelsQuery({ role: 'hq' }, { from: asOf, to: new Date('x') })).toThrow(
      /^to: /,
    );
  });

  it("pins a tenant client to its tenant inside every source and a supervisor to its site's list", () => {
    const tenant = churnScoresQuery({ role: 'tenant', tenantId: 't-beta' }, { asOf }).text;
    // call_facts, surveys, the agents' wrap-ups (read twice: the survey's exclusion and their
    // own rows), crm_events and the outer filter.
    expect(tenant.match(/`tenant_id` = 't-beta'/g)).toHaveLength(6);
    // The call-back list reads the stored scores of its scope only.
    const stored = churnCallbackQuery(
      { role: 'tenant', tenantId: 't-beta' },
      { limit: 5, asOf },
    ).text;
    expect(stored).toContain('FROM churn_scores');
    // The priority bound and the rows.
    expect(stored.match(/`tenant_id` = 't-beta'/g)).toHaveLength(2);
    const site = churnCallbackQuery({ role: 'site', siteId: 's-north' }, { limit: 5, asOf }).text;
    expect(site).toContain("`site_id` = 's-north'");
    expect(site).toMatch(/ORDER BY priority DESC/);
    expect(site).toMatch(/LIMIT 5$/);
  });

  it('reads calls only from the call_facts partitions of the look-back window', () => {
    const text = churnScoresQuery({ role: 'hq' }, { asOf }).text;
    expect(text).not.toMatch(/FROM calls\b/);
    // 90 days back (2026-03-03) less a day, to a day after asOf.
    expect(text).toContain("event_date >= toDate(toDateTime('2026-03-02 00:00:00', 'UTC'))");
    expect(text).toContain("event_date <= toDate(toDateTime('2026-06-02 00:00:00', 'UTC'))");
  });

  it('parses rows whose counts arrive as strings and attaches the reasons', () => {
    const [row] = parseChurnRows([
      {
        tenant_id: 't',
        customer_id: 'c-1',
        site_id: 's',
        value: '250000',
        repeat_contacts: '0',
        complaint: '0',
        abandons: '2',
        long_waits: '0',
        low_csat: '1',
        cancellation_intent: '1',
        risk: 0.5,
        priority: 125000,
      },
    ]);
    expect(row).toMatchObject({
      value: 250000,
      abandons: 2,
      reasons: ['cancellation_intent', 'abandons', 'low_csat'],
    });
    expect(() => parseChurnRows([{ tenant_id: 't' }])).toThrow(
      /^churn row: repeat_contacts is undefined/,
    );
    const stored = { tenant_id: 't', customer_id: 'c-1', site_id: 's', value: 1, risk: 0.1 };
    const features = { repeat_contacts: 0, complaint: 0, abandons: 0, long_waits: 0, low_csat: 0 };
    const [callback] = parseChurnCallbackRows([
      { ...stored, ...features, cancellation_intent: 0, priority: 0.1, scored_at_s: '1780272000' },
    ]);
    expect(callback).toMatchObject({ scored_at: '2026-06-01T00:00:00.000Z', reasons: [] });
    expect(() =>
      parseChurnCallbackRows([{ ...stored, ...features, cancellation_intent: 0, priority: 0.1 }]),
    ).toThrow(/^churn row: scored_at_s is undefined/);
  });
});
