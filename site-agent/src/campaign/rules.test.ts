import { describe, expect, it } from 'vitest';
import {
  ABANDONED_QUIET_MS,
  checkRules,
  DEFAULT_RULES,
  dialVerdict,
  isTimeZone,
  nextWindowOpening,
  type CampaignRules,
  type ContactHistory,
} from './rules.js';

const MINUTE = 60_000;
const HOUR = 3_600_000;
const at = (iso: string) => Date.parse(iso);

const rules = (over: Partial<CampaignRules> = {}): CampaignRules => ({
  ...DEFAULT_RULES,
  dnc: new Set(['+447700900999']),
  ...over,
});

const contact = (over: Partial<ContactHistory> = {}): ContactHistory => ({
  number: '+447700900123',
  timeZone: 'Europe/London',
  attempts: 0,
  ...over,
});

// 13:00 in London on a Monday, 22:00 in Tokyo, 05:00 in Los Angeles.
const NOW = at('2026-12-07T13:00:00Z');

describe('calling window in the customer’s local time', () => {
  it('dials a customer whose local time is inside 08:00-21:00', () => {
    expect(dialVerdict(contact(), rules(), NOW)).toEqual({ kind: 'dial' });
  });

  it('holds a customer for whom it is night until 08:00 their time (Tokyo, 22:00)', () => {
    expect(dialVerdict(contact({ timeZone: 'Asia/Tokyo' }), rules(), NOW)).toEqual({
      kind: 'later',
      reason: 'window',
      notBeforeMs: at('2026-12-07T23:00:00Z'), // 08:00 JST on the 8th
    });
  });

  it('holds a customer before the window opens the same local day (Los Angeles, 05:00)', () => {
    expect(dialVerdict(contact({ timeZone: 'America/Los_Angeles' }), rules(), NOW)).toEqual({
      kind: 'later',
      reason: 'window',
      notBeforeMs: at('2026-12-07T16:00:00Z'),
    });
  });

  it('treats 21:00 as closed and 20:59 as open', () => {
    const r = rules();
    expect(dialVerdict(contact(), r, at('2026-12-07T20:59:00Z'))).toEqual({ kind: 'dial' });
    expect(dialVerdict(contact(), r, at('2026-12-07T21:00:00Z'))).toMatchObject({
      kind: 'later',
      notBeforeMs: at('2026-12-08T08:00:00Z'),
    });
  });

  it('opens at 08:00 summer time the morning the clocks go forward (London, 28 March 2027)', () => {
    // 22:00 GMT on the 27th; the clocks go from 01:00 GMT to 02:00 BST in the night.
    expect(
      nextWindowOpening(at('2027-03-27T22:00:00Z'), DEFAULT_RULES.window, 'Europe/London'),
    ).toBe(at('2027-03-28T07:00:00Z'));
  });

  it('opens at 08:00 standard time the morning the clocks go back (New York, 1 November 2026)', () => {
    // 21:30 EDT on 31 October; at 02:00 EDT the clocks go back to 01:00 EST.
    expect(
      nextWindowOpening(at('2026-11-01T01:30:00Z'), DEFAULT_RULES.window, 'America/New_York'),
    ).toBe(at('2026-11-01T13:00:00Z'));
  });

  it('a window opening inside the hour the clocks skip opens when the clocks resume', () => {
    // 02:30 does not exist in New York on 14 March 2027: 02:00 EST is 03:00 EDT (07:00Z).
    const window = { startMinute: 2 * 60 + 30, endMinute: 5 * 60 };
    expect(nextWindowOpening(at('2027-03-14T05:00:00Z'), window, 'America/New_York')).toBe(
      at('2027-03-14T07:00:00Z'),
    );
  });

  it('uses the platform’s zone names and refuses others', () => {
    expect(isTimeZone('Asia/Shanghai')).toBe(true);
    expect(isTimeZone('Mars/Olympus_Mons')).toBe(false);
    expect(isTimeZone('')).toBe(false);
  });
});

describe('do-not-call, attempts and retries', () => {
  it('never dials a number on the do-not-call list', () => {
    expect(dialVerdict(contact({ number: '+447700900999' }), rules(), NOW)).toEqual({
      kind: 'never',
      reason: 'dnc',
    });
  });

  it('never dials again once the most attempts are spent', () => {
    const c = contact({ attempts: 3, last: { outcome: 'no_answer', atMs: NOW - 5 * HOUR } });
    expect(dialVerdict(c, rules(), NOW)).toEqual({ kind: 'never', reason: 'max_attempts' });
  });

  it('never dials a customer who was connected to an agent', () => {
    const c = contact({ attempts: 1, last: { outcome: 'connected', atMs: NOW - HOUR } });
    expect(dialVerdict(c, rules(), NOW)).toEqual({ kind: 'never', reason: 'completed' });
  });

  it('retries a busy line after its delay, not before', () => {
    const busyAt = NOW - 10 * MINUTE;
    const c = contact({ attempts: 1, last: { outcome: 'busy', atMs: busyAt } });
    expect(dialVerdict(c, rules(), NOW)).toEqual({
      kind: 'later',
      reason: 'retry_delay',
      notBeforeMs: busyAt + 15 * MINUTE,
    });
    expect(dialVerdict(c, rules(), busyAt + 15 * MINUTE)).toEqual({ kind: 'dial' });
  });

  it('a retry falling in the customer’s night waits for their morning', () => {
    const c = contact({
      attempts: 1,
      last: { outcome: 'no_answer', atMs: at('2026-12-07T20:00:00Z') },
    });
    expect(dialVerdict(c, rules(), at('2026-12-07T20:30:00Z'))).toEqual({
      kind: 'later',
      reason: 'retry_delay',
      notBeforeMs: at('2026-12-08T08:00:00Z'),
    });
  });
});

describe('no redial within 72 h of an abandoned call', () => {
  const abandonedAt = at('2026-12-04T13:00:00Z');
  const c = contact({
    attempts: 1,
    last: { outcome: 'abandoned', atMs: abandonedAt },
    lastAbandonedAtMs: abandonedAt,
  });

  it('holds the number for 72 h, in window or not', () => {
    expect(dialVerdict(c, rules(), abandonedAt + 71 * HOUR)).toEqual({
      kind: 'later',
      reason: 'abandoned_72h',
      notBeforeMs: abandonedAt + ABANDONED_QUIET_MS,
    });
    expect(dialVerdict(c, rules(), abandonedAt + ABANDONED_QUIET_MS)).toEqual({ kind: 'dial' });
  });

  it('outlasts a shorter retry delay of a later attempt', () => {
    const later = contact({
      attempts: 2,
      last: { outcome: 'busy', atMs: abandonedAt + HOUR },
      lastAbandonedAtMs: abandonedAt,
    });
    expect(dialVerdict(later, rules(), abandonedAt + 2 * HOUR)).toMatchObject({
      kind: 'later',
      reason: 'abandoned_72h',
    });
  });
});

describe('rules are checked', () => {
  it('refuses a window that closes before it opens, naming it', () => {
    expect(() => checkRules(rules({ window: { startMinute: 1260, endMinute: 480 } }))).toThrow(
      /calling window/,
    );
  });

  it('refuses an impossible number of attempts and a retry under a minute', () => {
    expect(() => checkRules(rules({ maxAttempts: 0 }))).toThrow(/maxAttempts/);
    expect(() =>
      checkRules(rules({ retryAfterMs: { ...DEFAULT_RULES.retryAfterMs, busy: 1000 } })),
    ).toThrow(/retry after busy/);
  });
});
