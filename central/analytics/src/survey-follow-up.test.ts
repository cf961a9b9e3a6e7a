import { describe, expect, it } from 'vitest';
import { surveyFollowUpCandidatesQuery, surveyFollowUpSample } from './survey-follow-up.js';

// severity: 1 none, 2 minor, 3 major, 4 critical (WrapUpDone.complaint_severity)
const row = (callId: string, customerId: string, severity: number, atS: number, recorded = 1) => ({
  call_id: callId,
  customer: customerId,
  recorded,
  severity,
  at_s: atS,
});

describe('surveyFollowUpSample', () => {
  it('takes major and critical complaints always, the agent’s word only, each customer once, most severe then newest first', () => {
    const rows = [
      row('k1', 'c-none', 1, 100),
      row('k2', 'c-major', 3, 200),
      row('k3', 'c-critical', 4, 150),
      row('k4', 'c-major', 4, 120), // the same customer's critical call counts
      row('k5', 'c-unrecorded', 4, 300, 0), // no agent's word: drawn as no complaint
      row('k6', 'c-late-major', 3, 400),
    ];
    expect(surveyFollowUpSample(rows, { baseRate: 0 }, 10)).toEqual([
      'c-critical',
      'c-major',
      'c-late-major',
    ]);
    expect(surveyFollowUpSample(rows, { baseRate: 1 }, 10)).toEqual([
      'c-critical',
      'c-major',
      'c-late-major',
      'c-unrecorded',
      'c-none',
    ]);
    expect(surveyFollowUpSample(rows, { baseRate: 1 }, 2)).toEqual(['c-critical', 'c-major']);
  });

  it('draws calls with no complaint at the base rate, the same ones every time', () => {
    const rows = Array.from({ length: 4000 }, (_, i) => row(`call-${i}`, `c-${i}`, 1, i));
    const a = surveyFollowUpSample(rows, { baseRate: 0.1 }, 1000);
    expect(a.length).toBeGreaterThan(340);
    expect(a.length).toBeLessThan(460);
    expect(surveyFollowUpSample(rows, { baseRate: 0.1 }, 1000)).toEqual(a);
    expect(surveyFollowUpSample(rows, { baseRate: 0.1, seed: 'other' }, 1000)).not.toEqual(a);
  });

  it('draws a campaign-sized sample: 50,000 of 60,000 customers with a major complaint', () => {
    const rows = Array.from({ length: 60_000 }, (_, i) => row(`call-${i}`, `c-${i}`, 3, i));
    const sample = surveyFollowUpSample(rows, { baseRate: 0 }, 50_000);
    expect(sample).toHaveLength(50_000);
    // The newest calls first, as with any equal severity.
    expect(sample[0]).toBe('c-59999');
    expect(sample[49_999]).toBe('c-10000');
  });

  it('refuses a bad limit or policy', () => {
    expect(() => surveyFollowUpSample([], { baseRate: 0.1 }, 0)).toThrow(/limit/);
    expect(() => surveyFollowUpSample([], { baseRate: 0.1 }, 100_001)).toThrow(/limit/);
    expect(() => surveyFollowUpSample([row('k', 'c', 1, 1)], { baseRate: 2 }, 5)).toThrow(
      /baseRate/,
    );
  });
});

describe('surveyFollowUpCandidatesQuery', () => {
  it('is one tenant’s, and refuses a period longer than 31 days or backwards', () => {
    const to = new Date('2026-12-07T00:00:00Z');
    const from = new Date('2026-11-30T00:00:00Z');
    const q = surveyFollowUpCandidatesQuery({ tenantId: 'acme-bank', from, to });
    expect(q.text).toContain("tenant_id = 'acme-bank'");
    expect(() =>
      surveyFollowUpCandidatesQuery({
        tenantId: 'acme-bank',
        from: new Date('2026-10-01T00:00:00Z'),
        to,
      }),
    ).toThrow(/1 to 31 days/);
    expect(() =>
      surveyFollowUpCandidatesQuery({ tenantId: 'acme-bank', from: to, to: from }),
    ).toThrow(/days/);
    expect(() => surveyFollowUpCandidatesQuery({ tenantId: "x' OR 1", from, to })).toThrow(
      /tenantId/,
    );
  });
});
