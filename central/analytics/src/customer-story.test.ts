import { describe, expect, it } from 'vitest';
import {
  buildCustomerStory,
  customerStoryQuery,
  parseStoryRows,
  type StoryRow,
} from './customer-story.js';

const asOf = new Date('2026-12-01T12:00:00Z');
const daysAgo = (d: number) => Math.floor(asOf.getTime() / 1000) - d * 86_400;

const row = (over: Partial<StoryRow>): StoryRow => ({
  call_id: 'c',
  at_s: daysAgo(1),
  outcome: 'answered',
  site_id: 'beijing',
  skill: 'support',
  wait_ms: 10_000,
  by_caller: 0,
  short_abandon: 0,
  agent_recorded: 0,
  disposition: '',
  agent_resolved: 0,
  agent_severity: 0,
  surveys: 0,
  survey_has_resolved: 0,
  survey_resolved: 0,
  survey_severity: 0,
  csat: 0,
  survey_at_s: 0,
  ...over,
});

describe('customerStoryQuery', () => {
  it('reads one customer of one tenant: a primary-key range of customer_story', () => {
    const text = customerStoryQuery({ tenantId: 'acme-bank', customerId: 'cust-7', asOf }).text;
    expect(text).toMatch(
      /FROM customer_story\nWHERE tenant_id = 'acme-bank' AND customer_id = 'cust-7'/,
    );
    expect(text).toMatch(/GROUP BY call_id/);
    expect(() =>
      customerStoryQuery({ tenantId: 'acme-bank', customerId: "x' OR 1", asOf }),
    ).toThrow(/customerId/);
  });
});

describe('buildCustomerStory', () => {
  it('prefers the agent’s wrap-up to the survey for a call, and counts both calls’ complaints', () => {
    const story = buildCustomerStory(
      'cust-7',
      parseStoryRows([
        // JSONEachRow from 18.16: numbers as strings too.
        {
          ...row({ call_id: 'c2', at_s: daysAgo(2) }),
          agent_recorded: '1',
          agent_severity: '3',
          agent_resolved: '0',
          disposition: 'escalated',
          surveys: '1',
          survey_severity: '1',
          csat: '1',
          survey_at_s: String(daysAgo(2)),
        },
        row({
          call_id: 'c1',
          at_s: daysAgo(20),
          surveys: 1,
          survey_severity: 2,
          survey_has_resolved: 1,
          survey_resolved: 1,
          csat: 4,
          survey_at_s: daysAgo(19),
        }),
        row({
          call_id: 'c0',
          at_s: daysAgo(40),
          outcome: 'abandoned',
          by_caller: 1,
          wait_ms: 200_000,
        }),
        row({
          call_id: 'm',
          at_s: daysAgo(41),
          outcome: 'abandoned',
          by_caller: 1,
          short_abandon: 1,
          wait_ms: 1_000,
        }),
        row({ call_id: 'i', at_s: daysAgo(5), outcome: 'intent' }),
      ]),
      asOf,
    );
    expect(
      story.contacts.map((c) => [
        c.callId,
        c.complaintSeverity,
        c.resolvedFirstContact,
        c.recordedBy,
      ]),
    ).toEqual([
      ['c2', 'major', false, 'agent'],
      ['c1', 'minor', true, 'survey'],
      ['c0', null, null, null],
    ]);
    expect(story.contacts[0]!.disposition).toBe('escalated');
    expect(story.complaints).toBe(2);
    expect(story.csat.map((s) => [s.callId, s.csat])).toEqual([
      ['c2', 1],
      ['c1', 4],
    ]);
    expect(story.churn.features).toEqual({
      repeat_contacts: 1, // c2 and c1 in 30 days
      complaint: 3, // major 2 + minor 1
      abandons: 2,
      long_waits: 1,
      low_csat: 1,
      cancellation_intent: 1,
    });
    expect(story.churn.reasons).toContain('complaint');
    expect(story.churn.risk).toBeGreaterThan(0.5);
  });

  it('an empty story is a low risk with no reasons', () => {
    const story = buildCustomerStory('nobody', [], asOf);
    expect(story.contacts).toEqual([]);
    expect(story.churn.reasons).toEqual([]);
    expect(story.churn.risk).toBeLessThan(0.1);
  });
});
