// A callback handed between two sites' desks, each with its real ACD, data directory and a
// scripted dialer, joined by what the gRPC channel carries: the origin's handover, signed, checked
// and verified at the target exactly as the RPC handler does (handover-rpc.ts), then the target's
// answer. Time is one manual clock.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
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
  let releaseReply: (() => void) | undefined;
  let holdReply = false;
  // A killed site agent's calls under way never come back to it.
  const generation = { origin: 0, target: 0 };
  const never = new Promise<never>(() => {});
  const gone = (m: Message) => new Error(`${m} lost: deadline exceeded`);
  const channel: HandoverChannel = {
    handOver: async (targetSiteId, h) => {
      expect(targetSiteId).toBe('guangzhou');
      sent.push('handover');
      const gen = generation.origin;
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
      if (holdReply) await new Promise<void>((ok) => (releaseReply = ok));
      if (loses('handoverReply')) throw gone('handoverReply');
      if (gen !== generation.origin) return never;
      return r as { accepted: boolean; reason: string };
    },
    settle: async (targetSiteId, s) => {
      expect(targetSiteId).toBe('guangzhou');
      sent.push('settle');
      const gen = generation.origin;
      const signature = signSettlement(KEY, s, clock.now());
      await settle();
      if (loses('settle')) throw gone('settle');
      if (!verifySettlement([KEY], s, signature, clock.now()).ok) throw new Error('bad signature');
      const r = fed.target.desk.settleHandover(s);
      if (loses('settleReply')) throw gone('settleReply');
      if (gen !== generation.origin) return never;
      return r;
    },
    outcome: async (originSiteId, q) => {
      expect(originSiteId).toBe('beijing');
      sent.push('outcome');
      const gen = generation.target;
      const signature = signQuery(KEY, q, clock.now());
      await settle();
      if (loses('outcome')) throw gone('outcome');
      if (!verifyQuery([KEY], q, signature, clock.now()).ok) throw new Error('bad signature');
      const r = fed.origin.desk.handoverOutcome(q);
      if (loses('outcomeReply')) throw gone('outcomeReply');
      if (gen !== generation.target) return never;
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
    generation[which] += 1;
    const again = site(which === 'origin' ? 'beijing' : 'guangzhou', clock, channel, was.dir);
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
    /** The target's answer to the handover waits until `releaseReply()`. */
    holdReplies: () => (holdReply = true),
    releaseReply: async () => {
      releaseReply?.();
      for (let i = 0; i < 6; i++) await settle();
    },
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

describe('a callback handed over is never held at two sites, whatever is lost (the confirm step)', () => {
  type Fed = ReturnType<typeof federation>;
  /** Every dial of the callback at either site, across restarts. */
  const dialsOf = (...sites: Site[]) =>
    sites.flatMap((x) => x.dialer.requests).filter((r) => r.callId === 'cb-beijing');
  const journal = (x: Site) => readdirSync(join(dirname(x.dir), 'callback-handovers'));

  /** Beijing takes the callback and hands it to Guangzhou, whose agent is ready. */
  const handOver = (f: Fed) => {
    f.origin.desk.take(ask());
    f.target.ready();
    expect(f.origin.desk.handOver('cb-beijing', { siteId: 'guangzhou', decisionId: 'd-1' })).toBe(
      true,
    );
  };

  it.each([
    ['the abort told at once', [] as Message[], ['handover', 'settle']],
    ['the abort lost too: the target asks', ['settle'], ['handover', 'settle', 'outcome']],
    [
      'the abort and the question lost: it asks again',
      ['settle', 'outcome'],
      ['handover', 'settle', 'outcome', 'outcome'],
    ],
    [
      'the abort and the answer to the question lost: it asks again',
      ['settle', 'outcomeReply'],
      ['handover', 'settle', 'outcome', 'outcome'],
    ],
  ] as const)(
    'the target took it but its answer was lost on both tries (%s): only the origin holds it and dials',
    async (_what, lost, messages) => {
      const f = federation({ thresholdMs: 3_600_000 });
      f.lose('handoverReply');
      for (const m of lost) f.lose(m);
      handOver(f);
      await f.deliver();
      expect(f.origin.kinds()).toEqual(['callbackRequested', 'callbackHandoverRefused']);
      // Held provisionally at most, never queued or dialed there.
      expect(f.holders()).toEqual(['origin']);
      for (let i = 0; i < 3; i++) await f.after(i === 0 ? 10_000 : 2_000);
      expect(f.target.desk.holds('cb-beijing')).toBe(false);
      expect(f.sent).toEqual(messages);
      f.origin.ready();
      expect(dialsOf(f.origin, f.target)).toEqual([
        expect.objectContaining({ agentId: f.origin.agentId }),
      ]);
      expect(f.target.kinds()).toEqual([]);
    },
  );

  it('the target asks before the origin heard its answer: the origin stops the handover, keeps the callback and dials it; the late "accepted" commits nothing', async () => {
    const f = federation({ thresholdMs: 3_600_000 });
    f.holdReplies();
    handOver(f);
    await f.deliver();
    // The origin's turn comes meanwhile: its agent waits for the handover to settle.
    f.origin.ready();
    expect(f.origin.acd.agentState(f.origin.agentId).name).toBe('reserved');
    await f.after(10_000);
    expect(f.sent).toEqual(['handover', 'outcome']);
    expect(f.target.desk.holds('cb-beijing')).toBe(false);
    expect(f.origin.events.at(-1)!.kind).toMatchObject({
      $case: 'callbackHandoverRefused',
      value: { reason: 'aborted: the target asked before its answer came' },
    });
    expect(dialsOf(f.origin)).toHaveLength(1);
    await f.releaseReply();
    // The late answer is told it was aborted; nobody serves it twice.
    expect(f.sent).toEqual(['handover', 'outcome', 'settle']);
    expect(f.origin.kinds()).not.toContain('callbackHandedOver');
    expect(journal(f.origin)).toEqual([]);
    expect(dialsOf(f.origin, f.target)).toHaveLength(1);
    expect(f.target.kinds()).toEqual([]);
  });

  it.each([
    ['the commit lost once: told again 2 s later', 1, ['handover', 'settle', 'settle']],
    [
      'the commit lost every time: the target asks and hears "committed"',
      10,
      ['handover', 'settle', 'settle', 'settle', 'settle', 'settle', 'settle', 'outcome'],
    ],
  ] as const)('%s', async (_what, times, messages) => {
    const f = federation({ thresholdMs: 3_600_000 });
    f.lose('settle', times);
    handOver(f);
    await f.deliver();
    // Committed at the origin (journaled first): gone from there, waiting undialed at the target.
    expect(f.origin.kinds()).toEqual(['callbackRequested', 'callbackHandedOver']);
    expect(readdirSync(f.origin.dir)).toEqual([]);
    expect(journal(f.origin)).toHaveLength(1);
    expect(f.holders()).toEqual([]);
    expect(dialsOf(f.target)).toEqual([]);
    for (let waited = 0; waited < 10_000 && f.holders().length === 0; waited += 2_000)
      await f.after(2_000);
    expect(f.sent).toEqual(messages);
    expect(f.holders()).toEqual(['target']);
    expect(f.target.kinds()).toEqual(['callbackHandedIn', 'callbackAttemptStarted']);
    expect(dialsOf(f.origin, f.target)).toEqual([
      expect.objectContaining({ agentId: f.target.agentId, number: NUMBER }),
    ]);
    // Once the target acknowledged a telling, the origin forgets it.
    for (let i = 0; i < 6 && journal(f.origin).length > 0; i++) await f.after(2_000);
    expect(journal(f.origin)).toEqual([]);
    expect(dialsOf(f.origin, f.target)).toHaveLength(1);
  });

  it('the answer to the commit lost: told again, answered known, served once; the journal emptied', async () => {
    const f = federation({ thresholdMs: 3_600_000 });
    f.lose('settleReply');
    handOver(f);
    await f.deliver();
    expect(f.holders()).toEqual(['target']);
    expect(journal(f.origin)).toHaveLength(1);
    await f.after(2_000);
    expect(f.sent).toEqual(['handover', 'settle', 'settle']);
    expect(journal(f.origin)).toEqual([]);
    expect(f.target.kinds()).toEqual(['callbackHandedIn', 'callbackAttemptStarted']);
    expect(dialsOf(f.origin, f.target)).toHaveLength(1);
  });

  it('a copy of the request arriving after the target served it, even across a target restart, is answered taken and never taken again', async () => {
    const f = federation({ thresholdMs: 3_600_000 });
    handOver(f);
    await f.deliver();
    const first = f.target;
    await first.dialer.end({ kind: 'connected', answeredAtMs: f.clock.now() });
    expect(f.target.desk.holds('cb-beijing')).toBe(false);
    const again = f.restart('target');
    const copy = {
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
      decisionId: 'd-1',
      traceparent: '',
    };
    again.ready();
    expect(
      again.desk.receiveHandover(copy, { thresholdMs: 3_600_000, drained: false }),
    ).toMatchObject({ accepted: true });
    expect(again.desk.holds('cb-beijing')).toBe(false);
    await f.after(10_000);
    expect(dialsOf(first, again)).toHaveLength(1);
  });

  it('a late abort of an earlier handover, after a later one was committed, changes nothing', async () => {
    const f = federation();
    f.target.ready();
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
      decisionId: 'd-1',
      traceparent: '',
    };
    const here = { thresholdMs: 3_600_000, drained: false };
    const of = (decisionId: string, committed: boolean) => ({
      callbackId: 'cb-beijing',
      originSiteId: 'beijing',
      decisionId,
      committed,
    });
    expect(f.target.desk.receiveHandover(h, here)).toMatchObject({ accepted: true });
    // The origin gave up on d-1 and hands it over again: d-2 replaces the provisional d-1.
    expect(f.target.desk.receiveHandover({ ...h, decisionId: 'd-2' }, here)).toMatchObject({
      accepted: true,
    });
    expect(f.target.desk.settleHandover(of('d-1', true))).toEqual({ known: true });
    expect(f.target.desk.pending('all')).toEqual([]);
    expect(f.target.desk.settleHandover(of('d-2', true))).toEqual({ known: true });
    expect(f.target.desk.settleHandover(of('d-1', false))).toEqual({ known: true });
    expect(f.target.desk.holds('cb-beijing')).toBe(true);
    expect(f.target.kinds()).toEqual(['callbackHandedIn', 'callbackAttemptStarted']);
    expect(dialsOf(f.target)).toHaveLength(1);
    // A commit the target has no trace of is said so (the origin logs it).
    expect(f.target.desk.settleHandover({ ...of('d-3', true), callbackId: 'cb-x' })).toEqual({
      known: false,
    });
  });

  it('the origin killed while waiting for the answer: back in its place at the origin, the target asks and drops its copy', async () => {
    const f = federation({ thresholdMs: 3_600_000 });
    f.origin.acd.offer({
      callId: 'before',
      tenantId: 'acme-bank',
      skill: 'sales',
      tier: 1,
      arrivalMs: T0 - 90_000,
    });
    handOver(f);
    const killed = f.origin;
    const origin = f.restart('origin');
    origin.acd.offer({
      callId: 'before',
      tenantId: 'acme-bank',
      skill: 'sales',
      tier: 1,
      arrivalMs: T0 - 90_000,
    });
    expect(origin.acd.queuedCalls('sales').map((c) => c.callId)).toEqual(['before', 'cb-beijing']);
    // The request was on its way: the target takes it provisionally; its answer finds nobody.
    await f.deliver();
    expect(f.target.desk.holds('cb-beijing')).toBe(true);
    await f.after(10_000);
    expect(f.sent).toEqual(['handover', 'outcome']);
    expect(f.target.desk.holds('cb-beijing')).toBe(false);
    expect(f.holders()).toEqual(['origin']);
    origin.acd.abandon('before');
    origin.ready();
    expect(dialsOf(killed, origin, f.target)).toEqual([
      expect.objectContaining({ agentId: origin.agentId }),
    ]);
  });

  it.each([
    ['after journaling the commit and removing its callback', false],
    ['after journaling the commit, before removing its callback', true],
  ])(
    'the origin killed %s: not restored there, the target told again and serving it',
    async (_what, fileLeft) => {
      const f = federation({ thresholdMs: 3_600_000 });
      f.lose('settle');
      f.origin.desk.take(ask());
      const [file] = readdirSync(f.origin.dir);
      const kept = readFileSync(join(f.origin.dir, file!), 'utf8');
      f.target.ready();
      f.origin.desk.handOver('cb-beijing', { siteId: 'guangzhou', decisionId: 'd-1' });
      await f.deliver();
      if (fileLeft) writeFileSync(join(f.origin.dir, file!), kept, { mode: 0o600 });
      const killed = f.origin;
      const origin = f.restart('origin');
      expect(origin.desk.holds('cb-beijing')).toBe(false);
      expect(readdirSync(origin.dir)).toEqual([]);
      await f.after(0);
      expect(f.sent).toEqual(['handover', 'settle', 'settle']);
      expect(f.holders()).toEqual(['target']);
      expect(journal(origin)).toEqual([]);
      expect(dialsOf(killed, origin, f.target)).toEqual([
        expect.objectContaining({ agentId: f.target.agentId }),
      ]);
    },
  );

  it('the target killed while holding it provisionally: restored held, not queued; confirmed when told, then dialed once', async () => {
    const f = federation({ thresholdMs: 3_600_000 });
    f.lose('settle', 10);
    handOver(f);
    await f.deliver();
    const killed = f.target;
    const target = f.restart('target');
    target.ready();
    expect(target.desk.holds('cb-beijing')).toBe(true);
    expect(target.acd.queuedCalls('sales')).toEqual([]);
    expect(dialsOf(killed, target)).toEqual([]);
    // The origin's tellings are all lost; the target's bound passes and it asks.
    for (let i = 0; i < 5 && f.holders().length === 0; i++) await f.after(2_000);
    expect(f.sent.at(-1)).toBe('outcome');
    expect(f.holders()).toEqual(['target']);
    expect(dialsOf(killed, target)).toEqual([
      expect.objectContaining({ agentId: target.agentId, number: NUMBER }),
    ]);
    await f.after(2_000);
    expect(dialsOf(f.origin, killed, target)).toHaveLength(1);
  });
});
