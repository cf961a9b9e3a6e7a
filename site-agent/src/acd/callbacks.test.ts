import { ManualClock } from '@ccfed/common';
import { describe, expect, it } from 'vitest';
import { Acd, type AcdSkill } from './acd.js';
import {
  CallbackBook,
  CallbackError,
  type CallbackPolicy,
  type CallbackRequest,
} from './callbacks.js';

const T0 = Date.parse('2026-12-07T06:00:00Z');
const VIP = 4;
const STANDARD = 1;
const SKILLS: AcdSkill[] = [
  { id: 'sales', serviceLevelThresholdMs: 20_000, wrapUpMs: 1_000, averageHandleMs: 120_000 },
  { id: 'support', serviceLevelThresholdMs: 20_000, wrapUpMs: 1_000, averageHandleMs: 120_000 },
];
const POLICY: CallbackPolicy = {
  maxAttempts: 3,
  retryAfterMs: 300_000,
  order: 'agent_first',
  ringTimeoutMs: 30_000,
};

/** One site with `agents` sales agents, all logged in and not ready; sales offers callbacks. */
function setup(agents = 1) {
  const clock = new ManualClock(T0);
  const ids = Array.from({ length: agents }, (_, i) => `a${i + 1}`);
  const acd = new Acd({
    clock,
    skills: SKILLS,
    agents: ids.map((id) => ({ id, tenantId: 'acme-bank', skills: { sales: 5 } })),
  });
  for (const id of ids) acd.login(id);
  const book = new CallbackBook((skill) => (skill === 'sales' ? POLICY : undefined));
  const request = (over: Partial<CallbackRequest> & { id: string }): CallbackRequest => ({
    tenantId: 'acme-bank',
    skill: 'sales',
    number: '+8613800000001',
    callerHash: 'h1',
    tier: STANDARD,
    arrivalMs: clock.now(),
    scheduled: false,
    ...over,
  });
  /** Takes a callback into the book and its entry into the ACD, as the site does. */
  const take = (req: CallbackRequest) => {
    const r = book.request(req, clock.now());
    if (!r.ok) throw new Error(`refused: ${r.refused.kind}`);
    const cb = r.ok;
    acd.offer({
      callId: cb.id,
      tenantId: cb.tenantId,
      skill: cb.skill,
      tier: cb.tier,
      arrivalMs: cb.arrivalMs,
      ...(cb.notBeforeMs === undefined ? {} : { notBeforeMs: cb.notBeforeMs }),
    });
    return cb;
  };
  /** Agent `id` becomes ready: the call the ACD reserves them for, if any. */
  const free = (id: string): string | undefined => {
    const fx = acd.ready(id);
    return fx.assignments.find((a) => a.agentId === id)?.callId;
  };
  /** The agent serves the call it was reserved for and is not-ready again. */
  const serve = (id: string, callId: string) => {
    acd.answered(callId);
    acd.hangUp(callId);
    acd.notReady(id, 'break'); // after the wrap-up
    clock.advance(1_000);
    acd.tick();
  };
  return { clock, acd, book, request, take, free, serve };
}

describe("a callback keeps the caller's place", () => {
  it.each(Array.from({ length: 20 }, (_, k) => k))(
    'of 20 queued callers (some VIP), caller %i who chose a callback is served exactly where it stood',
    (k) => {
      const { clock, acd, request, take, free, serve } = setup();
      const tierOf = (i: number) => (i % 7 === 3 ? VIP : STANDARD);
      for (let i = 0; i < 20; i++) {
        acd.offer({
          callId: `c${String(i).padStart(2, '0')}`,
          tenantId: 'acme-bank',
          skill: 'sales',
          tier: tierOf(i),
          arrivalMs: clock.now(),
        });
        clock.advance(1_000);
      }
      const before = acd.queuedCalls('sales').map((c) => c.callId);
      const chooser = `c${String(k).padStart(2, '0')}`;
      const queued = acd.queuedCalls('sales').find((c) => c.callId === chooser)!;

      // Caller k presses 1: the call ends, the callback takes its tier and arrival.
      clock.advance(30_000);
      acd.abandon(chooser);
      take(
        request({
          id: 'cb-1',
          tier: queued.tier,
          arrivalMs: queued.arrivalMs,
          originCallId: chooser,
        }),
      );
      // Later callers do not get ahead of it.
      acd.offer({
        callId: 'late',
        tenantId: 'acme-bank',
        skill: 'sales',
        tier: STANDARD,
        arrivalMs: clock.now(),
      });

      const served: string[] = [];
      for (;;) {
        clock.advance(60_000);
        const callId = free('a1');
        if (!callId) break;
        served.push(callId);
        serve('a1', callId);
      }
      expect(served).toEqual([...before.map((c) => (c === chooser ? 'cb-1' : c)), 'late']);
    },
  );

  it('lets one callback per number and skill be pending, and takes the same number on another skill', () => {
    const { book, request, take } = setup();
    take(request({ id: 'cb-1' }));
    expect(book.request(request({ id: 'cb-2' }), T0)).toEqual({
      refused: { kind: 'duplicate', pendingId: 'cb-1' },
    });
    expect(book.request(request({ id: 'cb-3', skill: 'support' }), T0)).toEqual({
      refused: { kind: 'not_offered', skill: 'support' },
    });
    expect(book.request(request({ id: 'cb-4', number: '+8613800000002' }), T0).ok?.id).toBe('cb-4');
    // Once the first one ends, the number may ask again.
    book.cancel('cb-1');
    expect(book.request(request({ id: 'cb-5' }), T0).ok?.id).toBe('cb-5');
  });

  it('holds at most maxPending callbacks, so that requests cannot pile up without bound', () => {
    const book = new CallbackBook(() => POLICY, 2);
    const req = (id: string, number: string): CallbackRequest => ({
      id,
      tenantId: 'acme-bank',
      skill: 'sales',
      number,
      callerHash: '',
      tier: STANDARD,
      arrivalMs: T0,
      scheduled: false,
    });
    expect(book.request(req('a', '+8613800000001'), T0).ok).toBeDefined();
    expect(book.request(req('b', '+8613800000002'), T0).ok).toBeDefined();
    expect(book.request(req('c', '+8613800000003'), T0)).toEqual({
      refused: { kind: 'full', maxPending: 2 },
    });
  });

  it('serves a scheduled callback not before its time, then behind everyone already waiting then', () => {
    const { clock, acd, take, request, free, serve } = setup();
    const at1400 = T0 + 3_600_000;
    take(request({ id: 'cb-1400', arrivalMs: at1400, scheduled: true }));
    // Before its time an agent is free and nothing is given to them.
    clock.advance(1_800_000);
    expect(free('a1')).toBeUndefined();
    acd.notReady('a1', 'break');
    // Two callers arrive before the scheduled time, one after it.
    acd.offer({
      callId: 'early',
      tenantId: 'acme-bank',
      skill: 'sales',
      tier: 1,
      arrivalMs: at1400 - 60_000,
    });
    clock.set(at1400 - 1);
    expect(acd.nextDeadline()).toBe(at1400);
    clock.set(at1400 + 10_000);
    acd.offer({
      callId: 'after',
      tenantId: 'acme-bank',
      skill: 'sales',
      tier: 1,
      arrivalMs: clock.now(),
    });
    const served: string[] = [];
    for (let id = free('a1'); id; id = free('a1')) {
      served.push(id);
      serve('a1', id);
    }
    expect(served).toEqual(['early', 'cb-1400', 'after']);
  });

  it('retries a customer who did not answer after the retry delay, in the same place, and stops after maxAttempts', () => {
    const { clock, acd, book, take, request, free } = setup();
    take(request({ id: 'cb-1' }));
    const outcomes = ['no_answer', 'busy', 'no_answer'] as const;
    for (const [i, kind] of outcomes.entries()) {
      expect(free('a1')).toBe('cb-1');
      const dial = book.startAttempt('cb-1', 'a1');
      expect(dial).toMatchObject({
        callId: 'cb-1',
        agentId: 'a1',
        number: '+8613800000001',
        order: 'agent_first',
      });
      const decision = book.attemptEnded('cb-1', dial.attemptId, { kind }, clock.now());
      if (i < 2) {
        expect(decision).toEqual({
          kind: 'retry',
          attempts: i + 1,
          notBeforeMs: clock.now() + 300_000,
        });
        acd.requeue('cb-1', clock.now() + 300_000);
        // The agent is ready at once, and the callback not offered until the delay has passed.
        expect(acd.agentState('a1')).toEqual({ name: 'ready' });
        clock.advance(299_999);
        expect(acd.tick().assignments).toEqual([]);
        acd.notReady('a1', 'break');
        clock.advance(1);
      } else {
        expect(decision).toEqual({ kind: 'exhausted', attempts: 3 });
        acd.abandon('cb-1');
      }
    }
    expect(book.pending()).toEqual([]);
    expect(acd.queuedCalls('sales')).toEqual([]);
    expect(acd.agentState('a1')).toEqual({ name: 'ready' });
  });

  it('does not count an agent who did not answer: that agent goes not-ready and the next one is reserved at once', () => {
    const { clock, acd, book, take, request } = setup(2);
    take(request({ id: 'cb-1' }));
    acd.ready('a1');
    const fx = acd.ready('a2');
    expect(fx.assignments).toEqual([]); // a1 already holds it
    const dial = book.startAttempt('cb-1', 'a1');
    expect(
      book.attemptEnded('cb-1', dial.attemptId, { kind: 'agent_no_answer' }, clock.now()),
    ).toEqual({
      kind: 'agent_no_answer',
    });
    const next = acd.ringFailed('cb-1');
    expect(acd.agentState('a1')).toEqual({ name: 'not_ready', reason: 'rona' });
    expect(next.assignments).toEqual([expect.objectContaining({ callId: 'cb-1', agentId: 'a2' })]);
    expect(book.get('cb-1')?.attempts).toBe(0);
  });

  it('ends a connected callback and refuses the outcome of an attempt it did not start', () => {
    const { clock, book, take, request, free } = setup();
    take(request({ id: 'cb-1' }));
    expect(free('a1')).toBe('cb-1');
    const dial = book.startAttempt('cb-1', 'a1');
    expect(() => book.attemptEnded('cb-1', 'other', { kind: 'busy' }, clock.now())).toThrow(
      CallbackError,
    );
    expect(
      book.attemptEnded(
        'cb-1',
        dial.attemptId,
        { kind: 'connected', answeredAtMs: clock.now() },
        clock.now(),
      ),
    ).toEqual({ kind: 'connected' });
    expect(book.get('cb-1')).toBeUndefined();
  });

  it('keeps a callback waiting a retry delay when no dialer took the attempt, without counting it', () => {
    const { clock, acd, book, take, request, free } = setup();
    take(request({ id: 'cb-1' }));
    expect(free('a1')).toBe('cb-1');
    const notBefore = book.attemptNotStarted('cb-1', clock.now());
    acd.requeue('cb-1', notBefore);
    expect(book.get('cb-1')).toMatchObject({ attempts: 0, notBeforeMs: T0 + 300_000 });
    expect(acd.agentState('a1')).toEqual({ name: 'ready' });
  });
});
