// The callback desk against a real ACD, a real data directory and a dialer that answers each
// attempt as the test scripts it (the port's outcomes; the SIP dialer has tests of its own).
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '@ccfed/common';
import type { CallEvent } from '@ccfed/proto';
import { parseTopology } from '@ccfed/topology';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { Acd, type Effects } from '../acd/acd.js';
import { acdSetup } from '../acd/from-topology.js';
import type { Dialer, DialOutcome, DialRequest } from '../dialer/port.js';
import { EventStamper } from '../events/event-meta.js';
import { CallbackDesk, type TakeCallback } from './callback-desk.js';
import { CallbackStore } from './callback-store.js';
import { parse, stringify } from 'yaml';

const EXAMPLE = new URL('../../../topology/example.yaml', import.meta.url).pathname;
const T0 = Date.parse('2026-12-07T06:00:00Z');

/** The example federation, its sales skill offering callbacks (3 attempts, 5 minutes apart). */
function topology(offer = true) {
  const doc = parse(readFileSync(EXAMPLE, 'utf8'));
  if (offer)
    doc.skills[0].callback = { offerAfterSeconds: 60, maxAttempts: 3, retryAfterSeconds: 300 };
  return parseTopology(stringify(doc), 'test.yaml');
}

/** A dialer whose attempts end as the test says, when it says. */
class ScriptedDialer implements Dialer {
  readonly requests: DialRequest[] = [];
  private readonly pending: ((o: DialOutcome) => void)[] = [];
  dial(request: DialRequest): Promise<DialOutcome> {
    this.requests.push(request);
    return new Promise((resolve) => this.pending.push(resolve));
  }
  async end(outcome: DialOutcome): Promise<void> {
    this.pending.shift()!(outcome);
    await new Promise((r) => setImmediate(r));
  }
}

function setup(opts: { dialer?: Dialer; dir?: string; offer?: boolean } = {}) {
  const topo = topology(opts.offer);
  const site = topo.sites.find((s) => s.id === 'beijing')!;
  const clock = new ManualClock(T0);
  const acd = new Acd({ clock, ...acdSetup(topo, site) });
  const dir = opts.dir ?? join(mkdtempSync(join(tmpdir(), 'ccfed-callbacks-')), 'callbacks');
  const events: CallEvent[] = [];
  const carried: Effects[] = [];
  const desk = new CallbackDesk({
    clock,
    topology: topo,
    acd,
    store: new CallbackStore(dir),
    dialer: opts.dialer,
    stamper: new EventStamper({ clock, siteId: site.id }),
    publisher: { callEvent: async (e) => void events.push(e) },
    log: pino({ level: 'silent' }),
    newId: () => 'cb-new',
  });
  desk.attach((fx) => carried.push(fx));
  const agentId = site.agents.find((a) => 'sales' in a.skills && a.tenant === 'acme-bank')!.id;
  acd.login(agentId);
  const ask = (over: Partial<TakeCallback> = {}): TakeCallback => ({
    tenantId: 'acme-bank',
    skill: 'sales',
    number: '+8613800000001',
    callerHash: 'h-1',
    customerId: 'cust-1',
    traceparent: '',
    tier: 1,
    arrivalMs: T0 - 60_000,
    scheduled: false,
    origin: 'api',
    requestedBy: 'supervisor:beijing',
    ...over,
  });
  /** The agent becomes ready; the desk gets the ACD's assignments as the call flow hands them. */
  const ready = () => {
    const fx = acd.ready(agentId);
    for (const a of fx.assignments) desk.assigned(a);
    return fx;
  };
  const kinds = () => events.map((e) => e.kind!.$case);
  return { clock, acd, desk, dir, events, kinds, carried, ask, ready, agentId };
}

const settle = () => new Promise((r) => setImmediate(r));

describe('the callback desk', () => {
  it('keeps a pending callback with its number only in the data directory, 0600, and takes it back after a restart in its place', () => {
    const first = setup();
    expect(first.desk.take(first.ask())).toMatchObject({ ok: { id: 'cb-new', position: 1 } });
    const files = readdirSync(first.dir);
    expect(files).toHaveLength(1);
    const file = join(first.dir, files[0]!);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(first.dir).mode & 0o777).toBe(0o700);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ number: '+8613800000001' });
    // The event has the hash, never the number.
    expect(JSON.stringify(first.events)).not.toContain('8613800000001');
    expect(first.kinds()).toEqual(['callbackRequested']);

    const again = setup({ dir: first.dir });
    expect(again.desk.restore()).toBe(1);
    expect(again.desk.pending('all')).toEqual([
      expect.objectContaining({ id: 'cb-new', arrivalMs: T0 - 60_000, attempts: 0, position: 1 }),
    ]);
  });

  it('cancels a kept callback at start when its skill no longer offers callbacks', () => {
    const first = setup();
    first.desk.take(first.ask());
    const later = setup({ dir: first.dir, offer: false });
    later.desk.restore();
    expect(later.kinds()).toEqual(['callbackCancelled']);
    expect(later.events[0]!.kind).toMatchObject({ value: { reason: 'skill_without_callbacks' } });
    expect(readdirSync(first.dir)).toEqual([]);
    expect(later.acd.queuedCalls('sales')).toEqual([]);
  });

  it('refuses a second callback for the same number and skill, a number that is not E.164, and a time that has passed', () => {
    const { desk, ask } = setup();
    expect('ok' in desk.take(ask())).toBe(true);
    expect(desk.take(ask())).toEqual({ refused: { kind: 'duplicate', pendingId: 'cb-new' } });
    expect(desk.take(ask({ number: '13800000001' }))).toEqual({ refused: { kind: 'bad_number' } });
    expect(desk.take(ask({ scheduled: true, arrivalMs: T0 }))).toEqual({
      refused: { kind: 'in_the_past' },
    });
    expect(desk.take(ask({ skill: 'support' }))).toEqual({
      refused: { kind: 'not_offered', skill: 'support' },
    });
  });

  it('without a dialer: the turn reserves the agent, then lets it go; the callback stays pending, no attempt counted', async () => {
    const { acd, desk, ask, ready, kinds, events, agentId, clock } = setup();
    desk.take(ask());
    ready();
    expect(acd.agentState(agentId)).toEqual({ name: 'reserved', callId: 'cb-new' });
    await settle();
    expect(acd.agentState(agentId)).toEqual({ name: 'ready' });
    expect(kinds()).toEqual([
      'callbackRequested',
      'callbackAttemptStarted',
      'callbackAttemptEnded',
    ]);
    expect(events[2]!.kind).toMatchObject({
      value: { outcome: 'no_dialer', counted: false, nextAttemptAt: new Date(T0 + 300_000) },
    });
    expect(desk.pending('all')).toEqual([
      expect.objectContaining({ id: 'cb-new', attempts: 0, notBeforeMs: clock.now() + 300_000 }),
    ]);
  });

  it('with a dialer: busy, then no answer after the retry delay, then connected; the agent talks, the file is gone', async () => {
    const dialer = new ScriptedDialer();
    const { acd, desk, ask, ready, kinds, events, agentId, clock, dir } = setup({ dialer });
    desk.take(ask());
    ready();
    expect(dialer.requests[0]).toMatchObject({
      callId: 'cb-new',
      agentId,
      number: '+8613800000001',
      order: 'agent_first',
      ringTimeoutMs: 30_000,
    });
    await dialer.end({ kind: 'busy' });
    expect(acd.agentState(agentId)).toEqual({ name: 'ready' });
    expect(acd.tick().assignments).toEqual([]);
    clock.advance(300_000);
    for (const a of acd.tick().assignments) desk.assigned(a);
    await dialer.end({ kind: 'no_answer' });
    clock.advance(300_000);
    for (const a of acd.tick().assignments) desk.assigned(a);
    await dialer.end({ kind: 'connected', answeredAtMs: clock.now() });
    expect(acd.agentState(agentId)).toEqual({ name: 'on_call', callId: 'cb-new' });
    expect(kinds()).toEqual([
      'callbackRequested',
      'callbackAttemptStarted',
      'callbackAttemptEnded',
      'callbackAttemptStarted',
      'callbackAttemptEnded',
      'callbackAttemptStarted',
      'callbackAttemptEnded',
      'callbackCompleted',
    ]);
    expect(events.at(-1)!.kind).toMatchObject({
      value: { agentId, waitMs: 600_000, serviceLevelThresholdMs: 1_800_000, attempts: 3 },
    });
    expect(readdirSync(dir)).toEqual([]);
    expect(desk.pending('all')).toEqual([]);
  });

  it('taken from a queued call at the head: the agent is reserved at once, but the number is dialed only once the caller’s own call has ended', async () => {
    const dialer = new ScriptedDialer();
    const { acd, desk, ask, ready, kinds, agentId } = setup({ dialer });
    acd.offer({
      callId: 'call-7',
      tenantId: 'acme-bank',
      skill: 'sales',
      tier: 1,
      arrivalMs: T0 - 60_000,
    });
    expect(desk.take(ask({ originCallId: 'call-7', origin: 'dtmf' }))).toMatchObject({
      ok: { id: 'call-7', position: 1 },
    });
    // The caller still hears the confirmation when the agent frees up.
    ready();
    expect(acd.agentState(agentId)).toMatchObject({ name: 'reserved', callId: 'call-7' });
    expect(kinds()).toEqual(['callbackRequested', 'callbackAttemptStarted']);
    expect(dialer.requests).toEqual([]);
    desk.callerLeft('call-7');
    expect(dialer.requests).toEqual([expect.objectContaining({ callId: 'call-7', agentId })]);
    await dialer.end({ kind: 'connected', answeredAtMs: T0 });
    expect(kinds().at(-1)).toBe('callbackCompleted');
    // Another call's end, or the same one's again, dials nothing more.
    desk.callerLeft('call-7');
    desk.callerLeft('call-8');
    expect(dialer.requests).toHaveLength(1);
  });

  it('ends a callback unserved after maxAttempts not reached, and lets the API cancel one of its tenant only', async () => {
    const dialer = new ScriptedDialer();
    const { desk, ask, ready, kinds, clock, acd, dir } = setup({ dialer });
    desk.take(ask());
    ready();
    for (let i = 0; i < 3; i++) {
      if (i > 0) {
        clock.advance(300_000);
        for (const a of acd.tick().assignments) desk.assigned(a);
      }
      await dialer.end({ kind: 'no_answer' });
    }
    expect(kinds().at(-1)).toBe('callbackCancelled');
    expect(readdirSync(dir)).toEqual([]);

    desk.take(ask({ number: '+8613800000002' }));
    expect(desk.cancel('cb-new', new Set(['zenith-telecom']), 'x')).toEqual({ kind: 'unknown' });
    expect(desk.cancel('cb-new', new Set(['acme-bank']), 'supervisor:beijing')).toBeUndefined();
    expect(desk.pending('all')).toEqual([]);
  });
});
