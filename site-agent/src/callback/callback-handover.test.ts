// A callback handed between two sites' desks, each with its real ACD, data directory and a
// scripted dialer, joined by what the gRPC channel carries: the origin's handover, signed, checked
// and verified at the target exactly as the RPC handler does (handover-rpc.ts), then the target's
// answer. Time is one manual clock.
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '@ccfed/common';
import type { CallEvent } from '@ccfed/proto';
import { parseTopology } from '@ccfed/topology';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { Acd } from '../acd/acd.js';
import { acdSetup } from '../acd/from-topology.js';
import type { Dialer, DialOutcome, DialRequest } from '../dialer/port.js';
import { EventStamper } from '../events/event-meta.js';
import { CallbackDesk, type HandoverChannel, type TakeCallback } from './callback-desk.js';
import { CallbackStore } from './callback-store.js';
import {
  checkHandover,
  signHandover,
  signQuery,
  signSettlement,
  verifyHandover,
  verifyQuery,
  verifySettlement,
} from './handover.js';

const EXAMPLE = new URL('../../../topology/example.yaml', import.meta.url).pathname;
const T0 = Date.parse('2026-12-07T06:00:00Z');
const KEY = Buffer.from('a-federation-key-of-at-least-thirty-two-bytes', 'utf8');
const NUMBER = '+8613800000001';

const topo = (() => {
  const doc = parse(readFileSync(EXAMPLE, 'utf8'));
  doc.skills[0].callback = { offerAfterSeconds: 60, maxAttempts: 3, retryAfterSeconds: 300 };
  return parseTopology(stringify(doc), 'test.yaml');
})();

class ScriptedDialer implements Dialer {
  readonly requests: DialRequest[] = [];
  private readonly pending: ((o: DialOutcome) => void)[] = [];
  dial(request: DialRequest): Promise<DialOutcome> {
    this.requests.push(request);
    return new Promise((resolve) => this.pending.push(resolve));
  }
  async end(outcome: DialOutcome): Promise<void> {
    this.pending.shift()!(outcome);
    await settle();
  }
}

const settle = () => new Promise((r) => setImmediate(r));

/** One site: its desk over its ACD, agents of acme-bank with sales logged in (not ready). */
function site(siteId: string, clock: ManualClock, channel: HandoverChannel, dir?: string) {
  const s = topo.sites.find((x) => x.id === siteId)!;
  const acd = new Acd({ clock, ...acdSetup(topo, s) });
  const callbacks =
    dir ?? join(mkdtempSync(join(tmpdir(), `ccfed-handover-${siteId}-`)), 'callbacks');
  const events: CallEvent[] = [];
  const dialer = new ScriptedDialer();
  const desk: CallbackDesk = new CallbackDesk({
    clock,
    topology: topo,
    acd,
    store: new CallbackStore(callbacks),
    dialer,
    stamper: new EventStamper({ clock, siteId }),
    publisher: { callEvent: async (e) => void events.push(e) },
    log: pino({ level: 'silent' }),
    newId: () => `cb-${siteId}`,
    siteId,
    handoverChannel: channel,
  });
  desk.attach((fx) => {
    for (const a of fx.assignments) desk.assigned(a);
  });
  const agentId = s.agents.find((a) => a.tenant === 'acme-bank' && a.skills.sales === 8)!.id;
  acd.login(agentId);
  const ready = () => {
    for (const a of acd.ready(agentId).assignments) desk.assigned(a);
  };
  const kinds = () => events.map((e) => e.kind!.$case);
  return { acd, desk, dir: callbacks, events, dialer, agentId, ready, kinds };
}
type Site = ReturnType<typeof site>;

const ask = (over: Partial<TakeCallback> = {}): TakeCallback => ({
  tenantId: 'acme-bank',
  skill: 'sales',
  number: NUMBER,
  callerHash: '0123456789abcdef0123456789abcdef',
  customerId: 'cust-1',
  traceparent: '',
  tier: 1,
  arrivalMs: T0 - 60_000,
  scheduled: false,
  origin: 'api',
  requestedBy: 'supervisor:beijing',
  ...over,
});

/** A message of the confirm step's channel, each way; `Reply` ones are the answers. */
type Message = 'handover' | 'handoverReply' | 'settle' | 'settleReply' | 'outcome' | 'outcomeReply';

/**
 * Beijing (the origin, nobody ready) and Guangzhou (the target), joined as the RPC joins them:
 * each message signed at its sender, checked and verified at its receiver, then handed to the
 * other desk. `channel` may break the way instead; `lose` loses the next n messages of a kind
 * (a request lost never reaches the other site; a reply lost was acted on there, then lost).
 * A handover request waits until `deliver()` lets it through (a turn may come meanwhile).
 */
function federation(
  opts: { thresholdMs?: number; channel?: 'down' | 'tamper'; drained?: boolean } = {},
) {
  const clock = new ManualClock(T0);
  const lost = new Map<Message, number>();
  const loses = (m: Message) => {
    const n = lost.get(m) ?? 0;
    if (n > 0) lost.set(m, n - 1);
    return n > 0;
  };
  const sent: Message[] = [];
  let answer: (() => void) | undefined;
  const gone = (m: Message) => new Error(`${m} lost: deadline exceeded`);
  const channel: HandoverChannel = {
    handOver: async (targetSiteId, h) => {
      expect(targetSiteId).toBe('guangzhou');
      sent.push('handover');
      if (opts.channel === 'down') throw new Error('connect ECONNREFUSED 127.0.0.1:50061');
      const signature = signHandover(KEY, h, clock.now());
      const wire = opts.channel === 'tamper' ? { ...h, tier: 4 } : h;
      await new Promise<void>((r) => (answer = r));
      if (loses('handover')) throw gone('handover');
      const checked = checkHandover(
        {
          ...wire,
          arrivalTime: new Date(wire.arrivalMs),
          requestedAt: new Date(wire.requestedAtMs),
          notBefore: wire.notBeforeMs === undefined ? undefined : new Date(wire.notBeforeMs),
        },
        topo,
        clock.now(),
      );
      if ('error' in checked) throw new Error(checked.error);
      const verdict = verifyHandover([KEY], checked.ok, signature, clock.now());
      if (!verdict.ok) throw new Error(`PERMISSION_DENIED: signature: ${verdict.reason}`);
      const r = fed.target.desk.receiveHandover(checked.ok, {
        thresholdMs: opts.thresholdMs ?? 30_000,
        drained: opts.drained ?? false,
      });
      if (loses('handoverReply')) throw gone('handoverReply');
      return r as { accepted: boolean; reason: string };
    },
    settle: async (targetSiteId, s) => {
      expect(targetSiteId).toBe('guangzhou');
      sent.push('settle');
      const signature = signSettlement(KEY, s, clock.now());
      await settle();
      if (loses('settle')) throw gone('settle');
      if (!verifySettlement([KEY], s, signature, clock.now()).ok) throw new Error('bad signature');
      const r = fed.target.desk.settleHandover(s);
      if (loses('settleReply')) throw gone('settleReply');
      return r;
    },
    outcome: async (originSiteId, q) => {
      expect(originSiteId).toBe('beijing');
      sent.push('outcome');
      const signature = signQuery(KEY, q, clock.now());
      await settle();
      if (loses('outcome')) throw gone('outcome');
      if (!verifyQuery([KEY], q, signature, clock.now()).ok) throw new Error('bad signature');
      const r = fed.origin.desk.handoverOutcome(q);
      if (loses('outcomeReply')) throw gone('outcomeReply');
      return r;
    },
  };
  const deliver = async () => {
    await settle();
    answer?.();
    for (let i = 0; i < 6; i++) await settle();
  };
  /** Time passes by `ms`, both sites' ticks run, and what they sent is carried. */
  const after = async (ms: number) => {
    clock.advance(ms);
    fed.origin.desk.tick();
    fed.target.desk.tick();
    for (let i = 0; i < 6; i++) await settle();
  };
  /** The site agent is killed and started again over the same data directory. */
  const restart = (which: 'origin' | 'target') => {
    const was = fed[which];
    const again = site(was === fed.origin ? 'beijing' : 'guangzhou', clock, channel, was.dir);
    again.desk.restore();
    fed[which] = again;
    return again;
  };
  const fed: { origin: Site; target: Site } = {
    origin: site('beijing', clock, channel),
    target: site('guangzhou', clock, channel),
  };
  return {
    clock,
    get origin() {
      return fed.origin;
    },
    get target() {
      return fed.target;
    },
    deliver,
    after,
    restart,
    sent,
    lose: (m: Message, n = 1) => lost.set(m, n),
    /** Who holds the callback now, and who may dial it (queued, not provisional). */
    holders: () =>
      (['origin', 'target'] as const).filter((w) =>
        fed[w].desk.pending('all').some((c) => c.id === 'cb-beijing'),
      ),
  };
}

describe('a callback handed to another site', () => {
  it('asks the router once its turn would come late at home, like a caller, and never once it was moved', () => {
    const { origin } = federation();
    origin.desk.take(ask());
    // Nobody ready or busy at Beijing: its wait is the "no agents" figure, past any threshold.
    expect(origin.desk.waitingCallbacks()).toEqual([
      expect.objectContaining({ callId: 'cb-beijing', waitedMs: 60_000, hops: 0 }),
    ]);
    expect(origin.desk.waitingCallbacks()[0]!.expectedWaitMs).toBeGreaterThan(30_000);
  });

  it('taken by the target: leaves the origin (book, queue, disk), keeps its place there, and the target reserves its agent and dials the number', async () => {
    // Guangzhou takes callbacks expected to wait up to an hour.
    const { clock, origin, target, deliver } = federation({ thresholdMs: 3_600_000 });
    origin.desk.take(ask({ tier: 1, arrivalMs: T0 - 60_000 }));
    // Guangzhou's own callers, one before the callback's arrival and one after.
    for (const [callId, arrivalMs] of [
      ['early', T0 - 120_000],
      ['late', T0 - 10_000],
    ] as const)
      target.acd.offer({ callId, tenantId: 'acme-bank', skill: 'sales', tier: 1, arrivalMs });
    // Guangzhou's agent is busy on another call, so its wait is short but not nothing.
    target.acd.offer({
      callId: 'busy',
      tenantId: 'acme-bank',
      skill: 'sales',
      tier: 4,
      arrivalMs: T0 - 1,
    });
    target.ready();
    expect(origin.desk.handOver('cb-beijing', { siteId: 'guangzhou', decisionId: 'd-1' })).toBe(
      true,
    );
    // Being handed over: held, not offered again, not cancellable.
    expect(origin.desk.waitingCallbacks()).toEqual([]);
    expect(origin.desk.cancel('cb-beijing', 'all', 'supervisor')).toEqual({ kind: 'handing_over' });
    await deliver();

    expect(origin.kinds()).toEqual(['callbackRequested', 'callbackHandedOver']);
    expect(origin.events[1]!.kind).toMatchObject({
      value: { targetSiteId: 'guangzhou', decisionId: 'd-1', attempts: 0 },
    });
    expect(origin.desk.pending('all')).toEqual([]);
    expect(origin.acd.queuedCalls('sales')).toEqual([]);
    expect(readdirSync(origin.dir)).toEqual([]);

    expect(target.kinds()).toEqual(['callbackHandedIn']);
    expect(target.events[0]).toMatchObject({
      callId: 'cb-beijing',
      callerHash: '0123456789abcdef0123456789abcdef',
      meta: { siteId: 'guangzhou' },
      kind: { value: { originSiteId: 'beijing', decisionId: 'd-1', attempts: 0 } },
    });
    expect(JSON.stringify([...origin.events, ...target.events])).not.toContain('8613800000001');
    // In the target's queue by its original arrival: after "early", before "late".
    expect(target.acd.queuedCalls('sales').map((c) => c.callId)).toEqual([
      'early',
      'cb-beijing',
      'late',
    ]);
    // It never moves again.
    expect(target.desk.waitingCallbacks()).toEqual([]);
    // Its turn at Guangzhou: the agent is reserved and Guangzhou's dialer calls the number.
    clock.advance(20_000);
    target.acd.abandon('early');
    for (const a of target.acd.abandon('busy').effects.assignments) target.desk.assigned(a);
    expect(target.dialer.requests).toEqual([
      expect.objectContaining({ callId: 'cb-beijing', agentId: target.agentId, number: NUMBER }),
    ]);
    await target.dialer.end({ kind: 'connected', answeredAtMs: clock.now() });
    expect(target.kinds()).toEqual([
      'callbackHandedIn',
      'callbackAttemptStarted',
      'callbackAttemptEnded',
      'callbackCompleted',
    ]);
    // Its service level counts from when the customer asked, at the origin.
    expect(target.events[3]!.kind).toMatchObject({ value: { waitMs: 20_000 } });
    expect(origin.dialer.requests).toEqual([]);
  });

  it.each([
    ['no capacity', { thresholdMs: 0 }, 'no capacity'],
    ['draining', { drained: true }, 'draining'],
    ['unreachable', { channel: 'down' as const }, 'unreachable: connect ECONNREFUSED'],
    ['a tampered handover', { channel: 'tamper' as const }, 'signature: bad signature'],
  ])('refused (%s): stays at the origin in its place, once', async (_what, opts, reason) => {
    const { clock, origin, target, deliver } = federation(opts);
    origin.acd.offer({
      callId: 'before',
      tenantId: 'acme-bank',
      skill: 'sales',
      tier: 1,
      arrivalMs: T0 - 90_000,
    });
    origin.desk.take(ask());
    origin.acd.offer({
      callId: 'after',
      tenantId: 'acme-bank',
      skill: 'sales',
      tier: 1,
      arrivalMs: T0 - 30_000,
    });
    // Guangzhou's agent is ringing for a caller of its own: its wait is more than nothing.
    target.ready();
    if ('thresholdMs' in opts)
      target.acd.offer({
        callId: 'queued-there',
        tenantId: 'acme-bank',
        skill: 'sales',
        tier: 1,
        arrivalMs: T0 - 300_000,
      });
    origin.desk.handOver('cb-beijing', { siteId: 'guangzhou', decisionId: 'd-2' });
    await deliver();
    expect(origin.kinds()).toEqual(['callbackRequested', 'callbackHandoverRefused']);
    expect((origin.events[1]!.kind as { value: { reason: string } }).value.reason).toContain(
      reason,
    );
    expect(origin.acd.queuedCalls('sales').map((c) => c.callId)).toEqual([
      'before',
      'cb-beijing',
      'after',
    ]);
    expect(readdirSync(origin.dir)).toHaveLength(1);
    // It asks the router again after the re-request interval (5 s in the example), not at once.
    expect(origin.desk.waitingCallbacks()).toEqual([]);
    clock.advance(4_999);
    expect(origin.desk.waitingCallbacks()).toEqual([]);
    clock.advance(1);
    expect(origin.desk.waitingCallbacks()).toHaveLength(1);
    expect(target.desk.pending('all')).toEqual([]);
    expect(target.events.filter((e) => e.callId === 'cb-beijing')).toEqual([]);
  });

  it('refused because the number has one pending there: both keep theirs, the origin its place', async () => {
    const { origin, target, deliver } = federation({ thresholdMs: 3_600_000 });
    target.ready();
    target.desk.take(ask({ arrivalMs: T0 - 5_000 }));
    origin.desk.take(ask());
    origin.desk.handOver('cb-beijing', { siteId: 'guangzhou', decisionId: 'd-3' });
    await deliver();
    expect(origin.kinds()).toEqual(['callbackRequested', 'callbackHandoverRefused']);
    expect(origin.events[1]!.kind).toMatchObject({ value: { reason: 'duplicate' } });
    expect(origin.desk.pending('all')).toHaveLength(1);
    expect(target.desk.pending('all').map((c) => c.id)).toEqual(['cb-guangzhou']);
  });

  it('whose turn comes at the origin while it is being handed over: the agent waits; dialed at home if refused', async () => {
    const { origin, deliver } = federation({ thresholdMs: 0, channel: undefined, drained: true });
    origin.desk.take(ask());
    origin.desk.handOver('cb-beijing', { siteId: 'guangzhou', decisionId: 'd-4' });
    origin.ready();
    expect(origin.acd.agentState(origin.agentId).name).toBe('reserved');
    expect(origin.dialer.requests).toEqual([]);
    await deliver();
    expect(origin.dialer.requests).toEqual([
      expect.objectContaining({ callId: 'cb-beijing', agentId: origin.agentId }),
    ]);
  });

  it('whose turn comes at the origin while it is being handed over: the agent is let go if the target takes it, and nobody dials twice', async () => {
    const { origin, target, deliver } = federation();
    target.ready();
    origin.desk.take(ask());
    origin.desk.handOver('cb-beijing', { siteId: 'guangzhou', decisionId: 'd-5' });
    origin.ready();
    expect(origin.acd.agentState(origin.agentId).name).toBe('reserved');
    await deliver();
    expect(origin.dialer.requests).toEqual([]);
    expect(origin.acd.agentState(origin.agentId).name).toBe('ready');
    expect(target.dialer.requests).toHaveLength(1);
  });

  it('keeps the attempt limit across the handover: attempts made at the origin count at the target', async () => {
    const { clock, origin, target, deliver } = federation();
    origin.desk.take(ask());
    origin.ready();
    await origin.dialer.end({ kind: 'no_answer' });
    // The retry delay runs at the origin; once due, it is offered to the router.
    expect(origin.desk.waitingCallbacks()).toEqual([]);
    origin.acd.logout(origin.agentId);
    clock.advance(300_000);
    expect(origin.desk.waitingCallbacks()).toHaveLength(1);
    target.ready();
    origin.desk.handOver('cb-beijing', { siteId: 'guangzhou', decisionId: 'd-6' });
    await deliver();
    expect(target.events[0]!.kind).toMatchObject({ value: { attempts: 1 } });
    await target.dialer.end({ kind: 'busy' });
    clock.advance(300_000);
    for (const a of target.acd.tick().assignments) target.desk.assigned(a);
    await target.dialer.end({ kind: 'no_answer' });
    expect(target.kinds().at(-1)).toBe('callbackCancelled');
    expect(target.events.at(-1)!.kind).toMatchObject({
      value: { reason: 'exhausted', attempts: 3 },
    });
  });

  it('a handover asked again after the target served it (its first answer lost) is answered as taken, never served twice', async () => {
    const { clock, origin, target, deliver } = federation({ thresholdMs: 3_600_000 });
    target.ready();
    origin.desk.take(ask());
    origin.desk.handOver('cb-beijing', { siteId: 'guangzhou', decisionId: 'd-8' });
    await deliver();
    await target.dialer.end({ kind: 'connected', answeredAtMs: clock.now() });
    expect(target.desk.pending('all')).toEqual([]);
    const again = {
      callbackId: 'cb-beijing',
      originSiteId: 'beijing',
      tenantId: 'acme-bank',
      skill: 'sales',
      tier: 1,
      number: NUMBER,
      callerHash: '',
      customerId: '',
      arrivalMs: T0 - 60_000,
      requestedAtMs: T0,
      scheduled: false,
      attempts: 0,
      decisionId: 'd-8',
      traceparent: '',
    };
    clock.advance(3_000);
    const site = { thresholdMs: 3_600_000, drained: false };
    expect(target.desk.receiveHandover(again, site)).toMatchObject({ accepted: true });
    expect(target.desk.pending('all')).toEqual([]);
    expect(target.dialer.requests).toHaveLength(1);
    // Another origin naming the id of a call this site holds (the callback's, now talking): refused.
    expect(target.desk.receiveHandover({ ...again, originSiteId: 'shanghai' }, site)).toEqual({
      accepted: false,
      reason: 'id in use',
    });
    expect(target.desk.pending('all')).toEqual([]);
  });

  it('a repeated handover of a callback already taken is answered as taken, not held twice', async () => {
    const { origin, target, deliver } = federation();
    target.ready();
    origin.desk.take(ask());
    const h = {
      callbackId: 'cb-beijing',
      originSiteId: 'beijing',
      tenantId: 'acme-bank',
      skill: 'sales',
      tier: 1,
      number: NUMBER,
      callerHash: '',
      customerId: '',
      arrivalMs: T0 - 60_000,
      requestedAtMs: T0,
      scheduled: false,
      attempts: 0,
      decisionId: 'd-7',
      traceparent: '',
    };
    const site = { thresholdMs: 30_000, drained: false };
    expect(target.desk.receiveHandover(h, site)).toMatchObject({ accepted: true });
    expect(target.desk.receiveHandover(h, site)).toMatchObject({ accepted: true });
    // Held provisionally, once: not listed, not queued, no event until the origin commits.
    expect(target.desk.pending('all')).toEqual([]);
    expect(target.desk.holds('cb-beijing')).toBe(true);
    expect(target.kinds()).toEqual([]);
    const commit = { callbackId: 'cb-beijing', originSiteId: 'beijing', decisionId: 'd-7' };
    expect(target.desk.settleHandover({ ...commit, committed: true })).toEqual({ known: true });
    expect(target.desk.settleHandover({ ...commit, committed: true })).toEqual({ known: true });
    expect(target.desk.receiveHandover(h, site)).toMatchObject({ accepted: true });
    expect(target.desk.pending('all')).toHaveLength(1);
    expect(target.kinds()).toEqual(['callbackHandedIn', 'callbackAttemptStarted']);
    await deliver();
  });
});
