import { describe, expect, it } from 'vitest';
import {
  inboundContext,
  inviteSource,
  LATE_AFTER_MS,
  type InviteSource,
} from './inbound-context.js';
import { federationKeys, ReplayWindow, signContext } from './sip-context-signature.js';

const KEYS = federationKeys('federation-key-for-unit-tests-0123456789');
const NOW = 1_700_000_000_000;
const CALL = { callId: 'c1@origin', dialedNumber: '400100200' };

/** X-CC-* headers as Kamailio hands them over (no prefix), signed by `origin` at `at`. */
function signed(headers: Record<string, string>, at = NOW): Record<string, string> {
  const signature = signContext(KEYS[0]!, { ...CALL, headers }, at);
  return { ...headers, Signature: signature };
}

function decide(source: InviteSource, cc: Record<string, string>, replay = new ReplayWindow()) {
  return inboundContext({ source, ...CALL, cc, keys: KEYS, replay, nowMs: NOW });
}

const FORGED = { Tier: 'vip', Customer: 'cust-9', Arrival: String(NOW - 3_600_000) };
const OVERFLOW = { 'Origin-Site': 'shanghai', Skill: 'support', Tier: 'gold', Hops: '1' };

describe('which X-CC-* headers of an INVITE count', () => {
  it('names the source from Kamailio’s event; anything unexpected is untrusted', () => {
    expect(inviteSource('peer', 'shanghai')).toEqual({ kind: 'peer', site: 'shanghai' });
    expect(inviteSource('trusted', '')).toEqual({ kind: 'trusted' });
    expect(inviteSource('peer', '')).toEqual({ kind: 'untrusted' });
    expect(inviteSource(undefined, undefined)).toEqual({ kind: 'untrusted' });
  });

  it('honours none from an untrusted source, and says so', () => {
    expect(decide({ kind: 'untrusted' }, FORGED)).toEqual({
      ok: true,
      headers: {},
      signed: false,
      ignored: ['X-CC-* from an untrusted source ignored: Tier, Customer, Arrival'],
    });
  });

  it('honours what an IVR knows about the caller from a trusted source, not an overflow’s context', () => {
    const d = decide({ kind: 'trusted' }, { ...FORGED, 'Origin-Site': 'beijing', Skill: 'sales' });
    expect(d).toMatchObject({
      ok: true,
      headers: { Tier: 'vip', Customer: 'cust-9', Skill: 'sales' },
      signed: false,
    });
    expect(d.ok && d.ignored).toHaveLength(2);
  });

  it('honours a peer’s signed context from that peer, once', () => {
    const replay = new ReplayWindow();
    const cc = signed(OVERFLOW);
    expect(decide({ kind: 'peer', site: 'shanghai' }, cc, replay)).toEqual({
      ok: true,
      headers: OVERFLOW,
      signed: true,
      ignored: [],
    });
    expect(decide({ kind: 'peer', site: 'shanghai' }, cc, replay)).toEqual({
      ok: false,
      code: 403,
      reason: 'replayed signature',
    });
  });

  it.each([
    ['unsigned context', OVERFLOW],
    ['bad signature', { ...signed(OVERFLOW), Tier: 'vip' }],
    ['stale signature', signed(OVERFLOW, NOW - 60_000)],
    ['malformed signature', { ...OVERFLOW, Signature: 'trust me' }],
  ])('refuses a peer’s context with 403: %s', (reason, cc) => {
    expect(decide({ kind: 'peer', site: 'shanghai' }, cc)).toEqual({
      ok: false,
      code: 403,
      reason,
    });
  });

  it('refuses a signed context that names another site as its origin than the one sending it', () => {
    expect(decide({ kind: 'peer', site: 'guangzhou' }, signed(OVERFLOW))).toEqual({
      ok: false,
      code: 403,
      reason: 'origin is not the sending site',
    });
  });

  it('refuses an overflow that arrives after the origin took its call back (held across a WAN cut)', () => {
    expect(
      decide({ kind: 'peer', site: 'shanghai' }, signed(OVERFLOW, NOW - LATE_AFTER_MS)).ok,
    ).toBe(true);
    expect(
      decide({ kind: 'peer', site: 'shanghai' }, signed(OVERFLOW, NOW - LATE_AFTER_MS - 1)),
    ).toEqual({ ok: false, code: 403, reason: 'arrived after the origin took the call back' });
  });

  it('takes a peer’s INVITE without any context as a plain call', () => {
    expect(decide({ kind: 'peer', site: 'shanghai' }, {})).toEqual({
      ok: true,
      headers: {},
      signed: false,
      ignored: [],
    });
  });
});
