import { describe, expect, it } from 'vitest';
import { LoginThrottle, type AttemptVerdict } from './login-throttle.js';

const T0 = Date.UTC(2026, 2, 2, 9, 0, 0);
const limits = {
  perSource: { burst: 3, refillSeconds: 10 },
  perUser: { burst: 5, refillSeconds: 60 },
};

/** `n` failed attempts (tokens kept) from `source` at `username`; the verdicts. */
function fail(t: LoginThrottle, n: number, source: string, username: string, now = T0) {
  return Array.from({ length: n }, () => t.attempt(source, username, now));
}
const allowed = (v: readonly AttemptVerdict[]) => v.filter((x) => x.allowed).length;

describe('log-in throttle', () => {
  it('lets a source fail `burst` times, then refuses with the wait until its next attempt', () => {
    const t = new LoginThrottle(limits);
    expect(allowed(fail(t, 3, '203.0.113.7', 'li.wei'))).toBe(3);
    expect(t.attempt('203.0.113.7', 'li.wei', T0)).toEqual({
      allowed: false,
      retryAfterSeconds: 10,
      limitedBy: 'source',
    });
    // Other users from the same source are refused too: it is the source that guesses.
    expect(t.attempt('203.0.113.7', 'gz.sup', T0 + 4_000)).toMatchObject({
      allowed: false,
      retryAfterSeconds: 6,
    });
    // One attempt back after refillSeconds, not the whole burst.
    expect(t.attempt('203.0.113.7', 'gz.sup', T0 + 10_000).allowed).toBe(true);
    expect(t.attempt('203.0.113.7', 'gz.sup', T0 + 10_000).allowed).toBe(false);
  });

  it('leaves a user to log in from another source while one source is refused', () => {
    const t = new LoginThrottle(limits);
    fail(t, 10, '203.0.113.7', 'li.wei');
    expect(t.attempt('198.51.100.2', 'li.wei', T0).allowed).toBe(true);
  });

  it("caps one user's guesses across many sources, and says so", () => {
    const t = new LoginThrottle(limits);
    const sources = ['a', 'b', 'c', 'd', 'e', 'f'];
    const verdicts = sources.map((s) => t.attempt(s, 'li.wei', T0));
    expect(allowed(verdicts)).toBe(5);
    expect(verdicts.at(-1)).toEqual({ allowed: false, retryAfterSeconds: 60, limitedBy: 'user' });
    // Another user from a fresh source is not affected.
    expect(t.attempt('g', 'gz.sup', T0).allowed).toBe(true);
  });

  it('gives the tokens back on success: a user who logs in right is never slowed down', () => {
    const t = new LoginThrottle(limits);
    for (let i = 0; i < 50; i++) {
      const v = t.attempt('203.0.113.7', 'li.wei', T0 + i);
      expect(v.allowed).toBe(true);
      if (v.allowed) t.refund(v.ticket, T0 + i);
    }
    expect(t.size).toBe(0);
  });

  it('refills with time up to the burst, no further', () => {
    const t = new LoginThrottle(limits);
    fail(t, 3, 's', 'u');
    // An hour later: three attempts again, not 360.
    expect(allowed(fail(t, 4, 's', 'u', T0 + 3_600_000))).toBe(3);
  });

  it('forgets buckets that have filled up, and keeps at most maxKeys', () => {
    const t = new LoginThrottle({ ...limits, maxKeys: 10 });
    for (let i = 0; i < 20; i++) t.attempt(`s${i}`, `u${i}`, T0);
    expect(t.size).toBeLessThanOrEqual(10);
    // Long after, the old buckets are full again and go as new attempts come.
    for (let i = 0; i < 10; i++) t.attempt('late', 'late', T0 + 3_600_000);
    expect(t.size).toBeLessThanOrEqual(4);
  });

  it('refuses limits that make no sense', () => {
    expect(
      () => new LoginThrottle({ ...limits, perSource: { burst: 0, refillSeconds: 1 } }),
    ).toThrow(/perSource.burst/);
    expect(() => new LoginThrottle({ ...limits, perUser: { burst: 1, refillSeconds: 0 } })).toThrow(
      /perUser.refillSeconds/,
    );
  });
});
