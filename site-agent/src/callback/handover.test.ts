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
  checkHandoverIds,
  handoverAcceptance,
  originOnQuery,
  signHandover,
  signQuery,
  signSettlement,
  targetOnDecision,
  targetOnRequest,
  verifyHandover,
  verifyQuery,
  verifySettlement,
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

describe('the confirm step’s rules', () => {
  const h = { originSiteId: 'beijing', decisionId: 'd-2' };
  it.each([
    ['nothing held: weighed', undefined, undefined, false, 'weigh'],
    [
      'the same handover held provisionally: a repeat',
      { handedFrom: 'beijing', provisionalDecision: 'd-2' },
      undefined,
      false,
      'repeat',
    ],
    ['confirmed from that origin: a repeat', { handedFrom: 'beijing' }, undefined, true, 'repeat'],
    [
      'an earlier handover held provisionally: replaced',
      { handedFrom: 'beijing', provisionalDecision: 'd-1' },
      undefined,
      false,
      'replace',
    ],
    [
      'served here already (a late copy): a repeat',
      undefined,
      { originSiteId: 'beijing' },
      true,
      'repeat',
    ],
    [
      'another origin’s callback of that id',
      { handedFrom: 'shanghai' },
      undefined,
      false,
      'in use',
    ],
    ['one of this site’s own', {}, undefined, false, 'in use'],
    ['a call of that id', undefined, undefined, true, 'in use'],
    [
      'a call of that id, served from another origin',
      undefined,
      { originSiteId: 'shanghai' },
      true,
      'in use',
    ],
  ] as const)('a request: %s', (_what, held, served, inUse, action) => {
    expect(targetOnRequest(h, held, served, inUse)).toBe(action);
  });

  const s = (decisionId: string, committed: boolean) => ({
    callbackId: 'cb-1',
    originSiteId: 'beijing',
    decisionId,
    committed,
  });
  const provisional = { handedFrom: 'beijing', provisionalDecision: 'd-2' };
  it.each([
    [
      'committed, held provisionally under it: confirmed',
      s('d-2', true),
      provisional,
      undefined,
      'confirm',
    ],
    [
      'aborted, held provisionally under it: dropped',
      s('d-2', false),
      provisional,
      undefined,
      'drop',
    ],
    [
      'about an earlier handover (late, reordered): nothing',
      s('d-1', true),
      provisional,
      undefined,
      'known',
    ],
    [
      'an abort of an earlier one after a later one was confirmed: nothing',
      s('d-1', false),
      { handedFrom: 'beijing' },
      undefined,
      'known',
    ],
    [
      'committed again once confirmed: nothing',
      s('d-2', true),
      { handedFrom: 'beijing' },
      undefined,
      'known',
    ],
    [
      'committed again once served: nothing',
      s('d-2', true),
      undefined,
      { originSiteId: 'beijing', decisionId: 'd-2' },
      'known',
    ],
    ['an abort of nothing held: nothing', s('d-2', false), undefined, undefined, 'known'],
    ['committed, no trace of it: unknown', s('d-2', true), undefined, undefined, 'unknown'],
    [
      'from another origin than the holder’s: unknown',
      { ...s('d-2', true), originSiteId: 'shanghai' },
      provisional,
      undefined,
      'unknown',
    ],
  ] as const)('a decision: %s', (_what, settlement, held, served, action) => {
    expect(targetOnDecision(settlement, held, served)).toBe(action);
  });

  const q = { callbackId: 'cb-1', targetSiteId: 'guangzhou', decisionId: 'd-2' };
  it.each([
    [
      'committed to that target under that decision',
      { decisionId: 'd-2', targetSiteId: 'guangzhou' },
      undefined,
      { committed: true, stop: false },
    ],
    [
      'committed to another target',
      { decisionId: 'd-2', targetSiteId: 'shanghai' },
      undefined,
      { committed: false, stop: false },
    ],
    [
      'committed under another decision',
      { decisionId: 'd-1', targetSiteId: 'guangzhou' },
      undefined,
      { committed: false, stop: false },
    ],
    [
      'still waiting for that target’s answer: stopped first',
      undefined,
      { decisionId: 'd-2', targetSiteId: 'guangzhou' },
      { committed: false, stop: true },
    ],
    [
      'waiting for another handover’s answer: left alone',
      undefined,
      { decisionId: 'd-3', targetSiteId: 'guangzhou' },
      { committed: false, stop: false },
    ],
    [
      'no trace (never, or after a restart)',
      undefined,
      undefined,
      { committed: false, stop: false },
    ],
  ] as const)('a question to the origin: %s', (_what, committed, inFlight, answer) => {
    expect(originOnQuery(q, committed, inFlight)).toEqual(answer);
  });

  it('signs a settlement and a question over every field, each with its own purpose', () => {
    const settlement = s('d-2', false);
    const sig = signSettlement(KEY, settlement, T0);
    expect(verifySettlement([KEY], settlement, sig, T0)).toMatchObject({ ok: true });
    for (const changed of [
      { ...settlement, committed: true },
      { ...settlement, decisionId: 'd-3' },
      { ...settlement, callbackId: 'cb-2' },
      { ...settlement, originSiteId: 'shanghai' },
    ])
      expect(verifySettlement([KEY], changed, sig, T0)).toMatchObject({ ok: false });
    expect(verifySettlement([KEY], settlement, sig, T0 + 31_000)).toEqual({
      ok: false,
      reason: 'stale',
    });
    const qsig = signQuery(KEY, q, T0);
    expect(verifyQuery([KEY], q, qsig, T0)).toMatchObject({ ok: true });
    expect(verifyQuery([KEY], { ...q, targetSiteId: 'shanghai' }, qsig, T0)).toMatchObject({
      ok: false,
    });
    // A handover's signature never passes for a settlement's, nor a question's for either.
    expect(verifySettlement([KEY], settlement, signHandover(KEY, HANDOVER, T0), T0)).toMatchObject({
      ok: false,
    });
    expect(verifyQuery([KEY], q, sig, T0)).toMatchObject({ ok: false });
  });

  it('checks a settlement’s or a question’s ids, naming the field', () => {
    const topo = topology();
    const site = { field: 'origin_site_id', id: 'beijing' };
    expect(checkHandoverIds({ callbackId: 'cb-1', decisionId: 'd-1' }, site, topo)).toBeUndefined();
    expect(checkHandoverIds({ callbackId: '', decisionId: 'd-1' }, site, topo)).toBe(
      'callback_id: 1-255 printable characters',
    );
    expect(
      checkHandoverIds(
        { callbackId: 'cb-1', decisionId: 'd-1' },
        { ...site, id: 'atlantis' },
        topo,
      ),
    ).toBe('origin_site_id: not a site of the federation');
    expect(checkHandoverIds({ callbackId: 'cb-1', decisionId: 'x'.repeat(129) }, site, topo)).toBe(
      'decision_id: 1-128 printable characters',
    );
  });
});
