import { describe, expect, it } from 'vitest';
import { parseSatisfactionRows, satisfactionQuery } from './satisfaction.js';

const from = new Date('2026-01-01T00:00:00Z');
const to = new Date('2026-02-01T00:00:00Z');

describe('satisfactionQuery', () => {
  it('refuses bad options, naming the field', () => {
    expect(() => satisfactionQuery({ role: 'hq' }, { from, to, by: 'tenant' as 'site' })).toThrow(
      /^by: /,
    );
    expect(() =>
      satisfactionQuery({ role: 'hq' }, { from: new Date('x'), to, by: 'site' }),
    ).toThrow(/^from: /);
    expect(() => satisfactionQuery({ role: 'hq' }, { from: to, to: from, by: 'site' })).toThrow(
      /^to: must be after from/,
    );
  });

  it('folds only the surveyed calls, from the days they can be on, within the scope', () => {
    const text = satisfactionQuery(
      { role: 'tenant', tenantId: 't1' },
      { from, to, by: 'wait_band' },
    ).text;
    expect(text).toMatch(
      /FROM call_facts\s+WHERE event_date >= toDate\(.*\) AND event_date <= toDate\(.*\)\s+AND call_id IN \(SELECT call_id FROM surveys WHERE/,
    );
    expect(text).not.toMatch(/FROM calls\b/);
    expect(text.match(/`tenant_id` = 't1'/g)).toHaveLength(2);
  });
});

describe('parseSatisfactionRows', () => {
  it('computes CSAT and NPS from the counts, and null where nobody answered', () => {
    const [a, b] = parseSatisfactionRows([
      {
        key: 's-a',
        responses: '5',
        csat_answered: '5',
        csat_top2: '3',
        nps_answered: '4',
        promoters: '1',
        detractors: '2',
      },
      {
        key: 's-b',
        responses: '1',
        csat_answered: '0',
        csat_top2: '0',
        nps_answered: '0',
        promoters: '0',
        detractors: '0',
      },
    ]);
    expect(a).toMatchObject({ csat: 0.6, nps: -25 });
    expect(b).toMatchObject({ csat: null, nps: null, responses: 1 });
    expect(() => parseSatisfactionRows([{ key: 'x', responses: '-1' }])).toThrow(
      /csat_answered|responses/,
    );
  });
});
