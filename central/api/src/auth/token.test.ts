import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { issueToken, TokenError, verifyToken } from './token.js';

const secret = 'a-test-secret-that-is-long-enough-0123456789';
const now = Date.UTC(2026, 10, 22, 9, 0, 0);
const site = { sub: 'gz.sup', role: 'site', siteId: 'guangzhou' } as const;

function b64(json: unknown): string {
  return Buffer.from(JSON.stringify(json)).toString('base64url');
}

function signed(header: unknown, payload: unknown, key = secret): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac('sha256', key).update(input).digest('base64url')}`;
}

describe('tokens', () => {
  it('verifies what it issued, with the claims it was given', () => {
    const token = issueToken(site, { secret, ttlSeconds: 60, now });
    expect(verifyToken(token, { secret, now: now + 59_000 })).toEqual({
      ...site,
      exp: now / 1000 + 60,
    });
  });

  it('refuses a token once it has expired', () => {
    const token = issueToken(site, { secret, ttlSeconds: 60, now });
    expect(() => verifyToken(token, { secret, now: now + 60_000 })).toThrow(/expired/);
  });

  it('refuses a token signed with another secret', () => {
    const token = issueToken(site, { secret: `${secret}-other`, ttlSeconds: 60, now });
    expect(() => verifyToken(token, { secret, now })).toThrow(/signature does not match/);
  });

  it('refuses a token whose payload was changed after signing (a site made hq)', () => {
    const [h, p, s] = issueToken(site, { secret, ttlSeconds: 60, now }).split('.');
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString());
    const forged = `${h}.${b64({ ...claims, role: 'hq' })}.${s}`;
    expect(() => verifyToken(forged, { secret, now })).toThrow(/signature does not match/);
  });

  it('refuses a truncated or flipped signature', () => {
    const token = issueToken(site, { secret, ttlSeconds: 60, now });
    expect(() => verifyToken(token.slice(0, -2), { secret, now })).toThrow(TokenError);
    const last = token.at(-1) === 'A' ? 'B' : 'A';
    expect(() => verifyToken(token.slice(0, -1) + last, { secret, now })).toThrow(TokenError);
  });

  it('refuses alg none and any algorithm but HS256, even with a valid HMAC', () => {
    const claims = { ...site, exp: now / 1000 + 60 };
    const none = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`;
    expect(() => verifyToken(none, { secret, now })).toThrow(/algorithm is not HS256/);
    for (const alg of ['HS512', 'RS256', 'hs256', undefined]) {
      expect(() => verifyToken(signed({ alg, typ: 'JWT' }, claims), { secret, now })).toThrow(
        /algorithm is not HS256/,
      );
    }
    // The same HMAC under the right header is accepted: the refusal above was the algorithm.
    expect(verifyToken(signed({ alg: 'HS256', typ: 'JWT' }, claims), { secret, now }).sub).toBe(
      'gz.sup',
    );
  });

  it('refuses signed claims that name no usable role', () => {
    const exp = now / 1000 + 60;
    for (const claims of [
      { sub: 'x', role: 'site', exp },
      { sub: 'x', role: 'tenant', siteId: 'guangzhou', exp },
      { sub: 'x', role: 'admin', exp },
      { sub: 'x', role: 'hq' },
      { sub: '', role: 'hq', exp },
    ]) {
      expect(() => verifyToken(signed({ alg: 'HS256' }, claims), { secret, now })).toThrow(
        /claims are invalid/,
      );
    }
  });

  it('refuses malformed tokens with a TokenError, not a crash', () => {
    for (const bad of ['', 'a.b', 'a.b.c.d', '!!.??.**', `${b64({ alg: 'HS256' })}.notjson.sig`]) {
      expect(() => verifyToken(bad, { secret, now })).toThrow(TokenError);
    }
  });

  it('will not sign or verify with a short secret', () => {
    expect(() => issueToken(site, { secret: 'short', ttlSeconds: 60 })).toThrow(/at least 32/);
    expect(() => verifyToken('a.b.c', { secret: 'short' })).toThrow(/at least 32/);
  });
});
