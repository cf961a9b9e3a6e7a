import { describe, expect, it } from 'vitest';
import { dayMayHoldExpired, expiredRecordings, expiryOf } from './retention.js';

const DAY = 86_400_000;
const T = Date.parse('2026-11-22T10:00:00Z');
const rec = (id: string, startedMs: number, expiresMs = startedMs + 90 * DAY) => ({
  id,
  startedMs,
  expiresMs,
});

describe('retention', () => {
  it('expires a recording its tenant’s retention after it started, to the millisecond', () => {
    const r = rec('a', T);
    expect(expiryOf(r, 30 * DAY)).toBe(T + 30 * DAY);
    expect(expiredRecordings([r], 30 * DAY, T + 30 * DAY - 1)).toEqual([]);
    expect(expiredRecordings([r], 30 * DAY, T + 30 * DAY)).toEqual([r]);
  });

  it('applies the retention in force, shortened or lengthened since the recording was stored', () => {
    const r = rec('a', T, T + 90 * DAY);
    expect(expiredRecordings([r], 7 * DAY, T + 8 * DAY)).toEqual([r]);
    expect(expiredRecordings([r], 365 * DAY, T + 100 * DAY)).toEqual([]);
  });

  it('keeps to the stored expiry when the tenant has no policy any more', () => {
    const r = rec('a', T, T + 10 * DAY);
    expect(expiredRecordings([r], undefined, T + 9 * DAY)).toEqual([]);
    expect(expiredRecordings([r], undefined, T + 10 * DAY)).toEqual([r]);
  });

  it('selects only the expired ones, oldest first', () => {
    const recs = [rec('new', T), rec('old', T - 40 * DAY), rec('older', T - 50 * DAY)];
    expect(expiredRecordings(recs, 30 * DAY, T + DAY).map((r) => r.id)).toEqual(['older', 'old']);
  });

  it('reads a day only once its first possible recording may have expired', () => {
    expect(dayMayHoldExpired('2026-11-22', 30 * DAY, Date.parse('2026-12-21T23:59:59Z'))).toBe(
      false,
    );
    expect(dayMayHoldExpired('2026-11-22', 30 * DAY, Date.parse('2026-12-22T00:00:00Z'))).toBe(
      true,
    );
    expect(dayMayHoldExpired('2026-11-22', undefined, T)).toBe(true);
  });
});
