import { routing } from '@ccfed/proto';
import { describe, expect, it } from 'vitest';
import { alternativesText, decisionLine } from './decision.js';

const overflow = routing.RouteDecision.fromPartial({
  meta: { eventId: 'e-1', siteId: 'router', eventTime: new Date('2026-11-22T08:15:30.250Z') },
  request: {
    callId: 'call-42',
    originSiteId: 'shanghai',
    tenantId: 'acme-bank',
    skill: 'support',
    originExpectedWaitMs: 95_000,
  },
  response: {
    decisionId: 'd-1',
    verdict: routing.Verdict.VERDICT_OVERFLOW,
    targetSiteId: 'beijing',
    reason: 'beijing expects 12.0 s against 95.0 s at shanghai',
    alternatives: [
      { siteId: 'guangzhou', eligible: true, expectedWaitMs: 40_000, handicapMs: 5_000 },
      { siteId: 'beijing', eligible: true, expectedWaitMs: 12_000 },
      { siteId: 'wuhan', eligible: false, excludedReason: 'not accepting overflow' },
    ],
  },
});

describe('decisionLine', () => {
  it('shows time, call, origin → target, reason, the best sites by wait + handicap, and the excluded', () => {
    expect(decisionLine(overflow)).toBe(
      '2026-11-22T08:15:30.250Z  call-42  shanghai → overflow beijing  ' +
        '"beijing expects 12.0 s against 95.0 s at shanghai"  ' +
        'alternatives: beijing 12s, guangzhou 40s+5s; excluded: wuhan (not accepting overflow)',
    );
  });

  it('shows a stay without alternatives, timed by the Kafka message when the event has no time', () => {
    const stay = routing.RouteDecision.fromPartial({
      request: { callId: 'call-7', originSiteId: 'beijing' },
      response: {
        verdict: routing.Verdict.VERDICT_STAY,
        reason: 'expected wait 3.0 s at beijing is under the 60.0 s threshold',
      },
    });
    expect(decisionLine(stay, new Date('2026-11-22T09:00:00.000Z'))).toBe(
      '2026-11-22T09:00:00.000Z  call-7  beijing → stay  ' +
        '"expected wait 3.0 s at beijing is under the 60.0 s threshold"',
    );
  });

  it('says what is missing instead of printing blanks', () => {
    expect(decisionLine(routing.RouteDecision.fromPartial({}))).toBe(
      '(no time)  (no call id)  (no origin) → no answer  (no reason)',
    );
  });
});

describe('alternativesText', () => {
  it('names at most three eligible sites, best first', () => {
    const alternatives = ['a', 'b', 'c', 'd'].map((siteId, i) =>
      routing.Alternative.fromPartial({ siteId, eligible: true, expectedWaitMs: (4 - i) * 10_000 }),
    );
    expect(alternativesText(alternatives)).toBe('alternatives: d 10s, c 20s, b 30s');
  });

  it('says when no site was eligible', () => {
    expect(
      alternativesText([
        routing.Alternative.fromPartial({
          siteId: 'x',
          excludedReason: 'not heard from for 9.0 s',
        }),
      ]),
    ).toBe('alternatives: none eligible; excluded: x (not heard from for 9.0 s)');
  });
});
