import { describe, expect, it } from 'vitest';
import {
  canonicalContext,
  federationKeys,
  ReplayWindow,
  SIGNATURE_MAX_AGE_MS,
  SIGNATURE_MAX_FUTURE_MS,
  signContext,
  verifyContext,
  type SignatureVerdict,
} from './sip-context-signature.js';

const [KEY] = federationKeys('federation-key-for-unit-tests-0123456789');
const OTHER = Buffer.from('another-federation-key-for-tests-9876543210');
const NOW = 1_700_000_000_000;

const context = {
  callId: 'a84b4c76e66710@pc33',
  dialedNumber: '400100200',
  headers: {
    'X-CC-Origin-Site': 'shanghai',
    'X-CC-Skill': 'support',
    'X-CC-Tier': 'vip',
    'X-CC-Arrival': String(NOW - 20_000),
    'X-CC-Hops': '1',
  },
};

/** The headers as the target's Kamailio hands them over: names without X-CC-, signature added. */
function received(signature: string, headers: Record<string, string> = context.headers) {
  return {
    ...context,
    headers: {
      ...Object.fromEntries(Object.entries(headers).map(([n, v]) => [n.slice(5), v])),
      Signature: signature,
    },
  };
}

describe('SIP context signature', () => {
  it('verifies what was signed, whatever the header names’ case and order', () => {
    const sig = signContext(KEY!, context, NOW);
    expect(sig).toMatch(/^v1;t=1700000000000;s=[A-Za-z0-9_-]{43}$/);
    const shuffled = received(sig);
    const reversed = {
      ...shuffled,
      headers: Object.fromEntries(
        Object.entries(shuffled.headers)
          .reverse()
          .map(([n, v]) => [n.toUpperCase(), v]),
      ),
    };
    expect(verifyContext([KEY!], reversed, NOW + 1000)).toMatchObject({
      ok: true,
      signedAtMs: NOW,
    });
  });

  it('signs a canonical text: label, Call-ID, number, time, then name=value sorted by name', () => {
    expect(
      canonicalContext({ ...context, headers: { 'X-CC-Tier': ' vip ', Skill: 'sales' } }, 5),
    ).toBe('ccfed-sip-context-v1\na84b4c76e66710@pc33\n400100200\n5\nskill=sales\ntier=vip');
  });

  it.each([
    ['a value changed', { ...context.headers, 'X-CC-Tier': 'gold' }],
    ['a header added', { ...context.headers, 'X-CC-Customer': 'cust-1' }],
    ['a header removed', { ...context.headers, 'X-CC-Hops': undefined }],
  ])('refuses the signature with %s on the way', (_what, headers) => {
    const sig = signContext(KEY!, context, NOW);
    const clean = Object.fromEntries(
      Object.entries(headers).filter((e): e is [string, string] => e[1] !== undefined),
    );
    expect(verifyContext([KEY!], received(sig, clean), NOW)).toEqual({
      ok: false,
      reason: 'bad signature',
    });
  });

  it('refuses a signature moved to another call or another number', () => {
    const sig = signContext(KEY!, context, NOW);
    expect(verifyContext([KEY!], { ...received(sig), callId: 'other@pc33' }, NOW).ok).toBe(false);
    expect(verifyContext([KEY!], { ...received(sig), dialedNumber: '400100100' }, NOW).ok).toBe(
      false,
    );
  });

  it('refuses another key’s signature, and takes the previous key during a rotation', () => {
    const sig = signContext(OTHER, context, NOW);
    expect(verifyContext([KEY!], received(sig), NOW)).toEqual({
      ok: false,
      reason: 'bad signature',
    });
    expect(verifyContext([KEY!, OTHER], received(sig), NOW).ok).toBe(true);
  });

  it('refuses a missing or malformed signature', () => {
    expect(verifyContext([KEY!], { ...context, headers: { Tier: 'vip' } }, NOW)).toEqual({
      ok: false,
      reason: 'unsigned',
    });
    for (const bad of ['v1;t=1;s=short', 'v2;t=1700000000000;s=' + 'A'.repeat(43), 'garbage'])
      expect(verifyContext([KEY!], received(bad), NOW)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('accepts a signature up to its age bound and refuses it after, and one too far ahead', () => {
    const sig = signContext(KEY!, context, NOW);
    expect(verifyContext([KEY!], received(sig), NOW + SIGNATURE_MAX_AGE_MS).ok).toBe(true);
    expect(verifyContext([KEY!], received(sig), NOW + SIGNATURE_MAX_AGE_MS + 1)).toEqual({
      ok: false,
      reason: 'stale',
    });
    expect(verifyContext([KEY!], received(sig), NOW - SIGNATURE_MAX_FUTURE_MS).ok).toBe(true);
    expect(verifyContext([KEY!], received(sig), NOW - SIGNATURE_MAX_FUTURE_MS - 1)).toEqual({
      ok: false,
      reason: 'from the future',
    });
  });

  it('lets a signature through once while it is valid, and forgets it only after', () => {
    const replay = new ReplayWindow();
    const verdict = verifyContext(
      [KEY!],
      received(signContext(KEY!, context, NOW)),
      NOW,
    ) as Extract<SignatureVerdict, { ok: true }>;
    expect(replay.firstUse(verdict, NOW)).toBe(true);
    expect(replay.firstUse(verdict, NOW + 1)).toBe(false);
    expect(replay.firstUse(verdict, NOW + SIGNATURE_MAX_AGE_MS)).toBe(false);
    // Long after, the entry is gone (and the age check refuses the signature anyway).
    const later = verifyContext(
      [KEY!],
      received(signContext(KEY!, context, NOW + 10 * SIGNATURE_MAX_AGE_MS)),
      NOW + 10 * SIGNATURE_MAX_AGE_MS,
    ) as Extract<SignatureVerdict, { ok: true }>;
    expect(replay.firstUse(later, NOW + 10 * SIGNATURE_MAX_AGE_MS)).toBe(true);
    expect(replay.size).toBe(1);
  });
});
