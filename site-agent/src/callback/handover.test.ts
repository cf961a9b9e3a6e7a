// The handover's pure pieces: its signature over every field, the checks a target makes of a
// request, and whether a target takes a callback.
import { readFileSync } from 'node:fs';
import { parseTopology } from '@ccfed/topology';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { NO_AGENTS_EWT_MS } from '../acd/ewt.js';
import { signContext } from '../sip-context-signature.js';
import {
  checkHandover,
  handoverAcceptance,
  signHandover,
  verifyHandover,
  type Handover,
  type HandoverFields,
} from './handover.js';

const EXAMPLE = new URL('../../../topology/example.yaml', import.meta.url).pathname;
const T0 = Date.parse('2026-12-07T06:00:00Z');
const KEY = Buffer.from('a-federation-key-of-at-least-thirty-two-bytes', 'utf8');

function topology() {
  const doc = parse(readFileSync(EXAMPLE, 'utf8'));
  doc.skills[0].callback = { offerAfterSeconds: 60, maxAttempts: 3, retryAfterSeconds: 300 };
  return parseTopology(stringify(doc), 'test.yaml');
}

const HANDOVER: Handover = {
  callbackId: 'call-7@10.0.0.1',
  originSiteId: 'beijing',
  tenantId: 'acme-bank',
  skill: 'sales',
  tier: 4,
  number: '+8613800000001',
  callerHash: '0123456789abcdef0123456789abcdef',
  customerId: 'cust-1',
  arrivalMs: T0 - 90_000,
  requestedAtMs: T0 - 60_000,
  scheduled: false,
  attempts: 1,
  notBeforeMs: T0 - 1_000,
  decisionId: 'd-1',
  traceparent: '',
};

const fields = (over: Partial<HandoverFields> = {}): HandoverFields => ({
  ...HANDOVER,
  arrivalTime: new Date(HANDOVER.arrivalMs),
  requestedAt: new Date(HANDOVER.requestedAtMs),
  notBefore: new Date(HANDOVER.notBeforeMs!),
  ...over,
});

describe('the handover signature', () => {
  const signature = signHandover(KEY, HANDOVER, T0);

  it('holds over the fields it was made for, with the current or the previous key', () => {
    expect(verifyHandover([KEY], HANDOVER, signature, T0 + 1_000)).toMatchObject({ ok: true });
    const other = Buffer.from('the-next-federation-key-of-thirty-two-bytes!', 'utf8');
    expect(verifyHandover([other, KEY], HANDOVER, signature, T0)).toMatchObject({ ok: true });
  });

  it.each([
    ['a tier raised', { tier: 5 }],
    ['an arrival moved ahead', { arrivalMs: T0 - 900_000 }],
    ['another number', { number: '+8613800000002' }],
    ['attempts reset', { attempts: 0 }],
    ['the retry delay dropped', { notBeforeMs: undefined }],
    ['another origin', { originSiteId: 'shanghai' }],
  ] as const)('breaks with %s', (_what, change) => {
    expect(verifyHandover([KEY], { ...HANDOVER, ...change }, signature, T0)).toEqual({
      ok: false,
      reason: 'bad signature',
    });
  });

  it('is refused with another key, stale, or when it is an overflowed call’s SIP signature', () => {
    const stranger = Buffer.from('somebody-else-s-key-of-thirty-two-bytes-long', 'utf8');
    expect(verifyHandover([stranger], HANDOVER, signature, T0)).toMatchObject({ ok: false });
    expect(verifyHandover([KEY], HANDOVER, signature, T0 + 31_000)).toEqual({
      ok: false,
      reason: 'stale',
    });
    const sip = signContext(
      KEY,
      { callId: HANDOVER.callbackId, dialedNumber: HANDOVER.number, headers: {} },
      T0,
    );
    expect(verifyHandover([KEY], HANDOVER, sip, T0)).toEqual({
      ok: false,
      reason: 'bad signature',
    });
  });
});

describe('checkHandover', () => {
  const topo = topology();

  it('gives the handover a well-formed request describes', () => {
    expect(checkHandover(fields(), topo, T0)).toEqual({ ok: HANDOVER });
  });

  it.each([
    [{ callbackId: '' }, 'callback_id'],
    [{ originSiteId: 'atlantis' }, 'origin_site_id'],
    [{ tenantId: 'nobody' }, 'tenant_id'],
    [{ skill: 'support' }, 'skill: "support" takes no callbacks'],
    [{ tier: 9 }, 'tier'],
    [{ number: '13800000001' }, 'number: not E.164'],
    [{ callerHash: 'zz' }, 'caller_hash'],
    [{ arrivalTime: undefined }, 'arrival_time: missing'],
    [{ arrivalTime: new Date(T0 + 60_000) }, 'arrival_time: in the future'],
    [{ requestedAt: new Date(T0 + 60_000) }, 'requested_at'],
    [{ attempts: 3 }, 'attempts: 3 of at most 2'],
    [{ traceparent: 'x' }, 'traceparent'],
  ] as const)('refuses %o, naming %s', (change, named) => {
    const r = checkHandover(fields(change), topo, T0);
    expect(r).toHaveProperty('error');
    expect((r as { error: string }).error).toContain(named);
  });

  it('never repeats the number in its reasons', () => {
    const r = checkHandover(fields({ number: '+86 138 0000 0001' }), topo, T0);
    expect(JSON.stringify(r)).not.toContain('138');
  });
});

describe('handoverAcceptance', () => {
  it('takes a callback it can serve within the threshold, and nothing while drained or unstaffed', () => {
    const site = { thresholdMs: 30_000, drained: false };
    expect(handoverAcceptance({ ...site, expectedWaitMs: 0 })).toEqual({ accept: true });
    expect(handoverAcceptance({ ...site, expectedWaitMs: 30_000 })).toEqual({ accept: true });
    expect(handoverAcceptance({ ...site, expectedWaitMs: 30_001 })).toEqual({
      accept: false,
      reason: 'no capacity',
    });
    expect(handoverAcceptance({ ...site, expectedWaitMs: NO_AGENTS_EWT_MS })).toEqual({
      accept: false,
      reason: 'no agents',
    });
    expect(handoverAcceptance({ ...site, drained: true, expectedWaitMs: 0 })).toEqual({
      accept: false,
      reason: 'draining',
    });
    expect(
      handoverAcceptance({ thresholdMs: undefined, drained: false, expectedWaitMs: 600_000 }),
    ).toEqual({ accept: true });
  });
});
