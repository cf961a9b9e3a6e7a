import { ManualClock } from '@ccfed/common';
import { describe, expect, it } from 'vitest';
import { Pacer, type InboundLoad } from '../dialer/pacing.js';
import type { DialOutcome, DialRequest, Dialer, TakeAgent } from '../dialer/port.js';
import {
  AbandonedCalls,
  CampaignRun,
  type CampaignAgents,
  type CampaignAttemptRecord,
  type CampaignContact,
  type CampaignDefinition,
  DEFAULT_PREVIEW_TIMEOUT_MS,
  PREVIEW_SKIP_HOLD_MS,
} from './campaign-run.js';
import { PreviewDecisionError, type PreviewOffer } from './preview-offers.js';
import { DEFAULT_RULES } from './rules.js';

const MINUTE = 60_000;
const HOUR = 3_600_000;
// 13:00 in London, 22:00 in Tokyo.
const NOW = Date.parse('2026-12-07T13:00:00Z');

/**
 * A dialer whose customers answer as scripted, one outcome per attempt at their number, after the
 * tick that dialed them. A line with no agent reserved that is scripted to connect takes its agent
 * as the customer answers, and is abandoned (the recorded message) when none is given.
 */
class ScriptedDialer implements Dialer {
  readonly requests: DialRequest[] = [];
  constructor(private readonly script: Record<string, DialOutcome['kind'][]>) {}
  async dial(
    request: DialRequest,
    _signal?: AbortSignal,
    takeAgent?: TakeAgent,
  ): Promise<DialOutcome> {
    this.requests.push(request);
    const kind = this.script[request.number]?.shift() ?? 'no_answer';
    await Promise.resolve();
    if (kind === 'connected' && request.agentId === undefined && takeAgent?.() === undefined)
      return { kind: 'abandoned', answeredAtMs: NOW };
    if (kind === 'connected' || kind === 'abandoned')
      return Promise.resolve({ kind, answeredAtMs: NOW });
    if (kind === 'failed') return Promise.resolve({ kind, reason: 'scripted' });
    return Promise.resolve({ kind });
  }
  numbersDialed(): string[] {
    return this.requests.map((r) => r.number);
  }
}

/** A skill's agents: reserved ones are busy until released or, once connected, hung up. */
class Agents implements CampaignAgents {
  readonly free: string[];
  private readonly reserved = new Map<string, string>();
  load: InboundLoad = {
    queued: 0,
    offered: 0,
    answeredWithinTarget: 0,
    target: 0.8,
    minOffered: 20,
  };
  constructor(private readonly ids: string[]) {
    this.free = [...ids];
  }
  staffing() {
    const loggedIn = this.ids.length;
    return {
      loggedIn,
      free: this.free.length,
      busy: loggedIn - this.free.length,
      averageHandleMs: 180_000,
    };
  }
  inboundLoad(): InboundLoad {
    return this.load;
  }
  reserve(_skill: string, _tenant: string, callId: string): string | undefined {
    const agent = this.free.shift();
    if (agent !== undefined) this.reserved.set(callId, agent);
    return agent;
  }
  release(callId: string): void {
    const agent = this.reserved.get(callId);
    if (agent === undefined) throw new Error(`no agent reserved for ${callId}`);
    this.reserved.delete(callId);
    this.free.push(agent);
  }
  holds(callId: string, agentId: string): boolean {
    return this.reserved.get(callId) === agentId;
  }
  /** The agent is reserved for `callId` as a restarted site's ACD took it up. */
  keptReserved(callId: string, agentId: string): void {
    this.free.splice(this.free.indexOf(agentId), 1);
    this.reserved.set(callId, agentId);
  }
  /** Agents freed not ready after a lapsed preview, by call id. */
  readonly absent: string[] = [];
  releaseAbsent(callId: string): void {
    const agent = this.reserved.get(callId);
    if (agent === undefined) throw new Error(`no agent reserved for ${callId}`);
    this.reserved.delete(callId);
    this.absent.push(agent);
  }
  readonly talking = new Set<string>();
  connected(callId: string): void {
    this.talking.add(callId);
  }
  /** A connected call ended: its agent is free again. */
  hangUp(callId: string): void {
    if (!this.talking.delete(callId)) throw new Error(`${callId} is not talking`);
    this.release(callId);
  }
}

const contact = (id: string, number: string, timeZone = 'Europe/London'): CampaignContact => ({
  contactId: id,
  number,
  timeZone,
});

function setup(opts: {
  contacts: CampaignContact[];
  script: Record<string, DialOutcome['kind'][]>;
  agents?: string[];
  mode?: CampaignDefinition['mode'];
  dnc?: string[];
  abandoned?: AbandonedCalls;
  previewTimeoutMs?: number;
  pacer?: Pacer;
}) {
  const clock = new ManualClock(NOW);
  const dialer = new ScriptedDialer(opts.script);
  const agents = new Agents(opts.agents ?? ['a1']);
  const records: CampaignAttemptRecord[] = [];
  // What reached the journal, in order: attempts' ends and the open offers after each change.
  const trail: string[] = [];
  const journalled: (readonly PreviewOffer[])[] = [];
  let n = 0;
  const run = new CampaignRun(
    {
      campaignId: 'retention-1',
      tenantId: 'acme',
      skill: 'retention',
      mode: opts.mode ?? 'progressive',
      rules: { ...DEFAULT_RULES, dnc: new Set(opts.dnc ?? []) },
      contacts: opts.contacts,
      ringTimeoutMs: 20_000,
      ...(opts.previewTimeoutMs !== undefined && { previewTimeoutMs: opts.previewTimeoutMs }),
    },
    {
      clock,
      dialer,
      agents,
      newId: () => `id-${++n}`,
      recorded: (r) => {
        records.push(r);
        trail.push(`${r.outcome} ${r.attemptId}`);
      },
      offersChanged: (open) => {
        journalled.push(open);
        trail.push(`open [${open.map((o) => o.offerId).join(' ')}]`);
      },
      abandoned: opts.abandoned ?? new AbandonedCalls(),
      ...(opts.pacer && { pacer: opts.pacer }),
    },
  );
  run.start();
  return { clock, dialer, agents, records, run, trail, journalled };
}

describe('a progressive campaign dials within the rules', () => {
  it('dials one line per free agent, agent first, with the agent the ACD reserved', async () => {
    const { dialer, run } = setup({
      contacts: [
        contact('c1', '+447700900001'),
        contact('c2', '+447700900002'),
        contact('c3', '+447700900003'),
      ],
      script: { '+447700900001': ['connected'], '+447700900002': ['connected'] },
      agents: ['a1', 'a2'],
    });
    expect(run.tick()).toBe(2);
    await run.settled();
    expect(dialer.requests.map((r) => [r.number, r.agentId, r.order, r.tenantId, r.skill])).toEqual(
      [
        ['+447700900001', 'a1', 'agent_first', 'acme', 'retention'],
        ['+447700900002', 'a2', 'agent_first', 'acme', 'retention'],
      ],
    );
    // Both agents are on their calls: nobody is left to take the third customer.
    expect(run.tick()).toBe(0);
    expect(run.contactState('c3')).toEqual({ kind: 'pending' });
  });

  it("an agent freed while its colleagues' lines ring gets a line of its own", async () => {
    const { dialer, run, agents } = setup({
      contacts: [
        contact('c1', '+447700900001'),
        contact('c2', '+447700900002'),
        contact('c3', '+447700900003'),
      ],
      script: {},
      agents: ['a1', 'a2', 'a3'],
    });
    // a1 is on an earlier call; a2 and a3 are reserved for the two lines this tick dials
    agents.reserve('retention', 'acme', 'earlier');
    agents.connected('earlier');
    expect(run.tick()).toBe(2);
    // a1 frees while both lines still ring: their agents are reserved, so a1 is free for a third
    agents.hangUp('earlier');
    expect(run.tick()).toBe(1);
    expect(dialer.requests.map((r) => [r.number, r.agentId])).toEqual([
      ['+447700900001', 'a2'],
      ['+447700900002', 'a3'],
      ['+447700900003', 'a1'],
    ]);
    await run.settled();
  });

  it('skips the night-time zone until its morning, the DNC number for good and a number abandoned 71 h ago', async () => {
    const abandoned = new AbandonedCalls();
    abandoned.note('+447700900004', NOW - 71 * HOUR);
    const { dialer, run, clock, agents } = setup({
      contacts: [
        contact('tokyo', '+81300000001', 'Asia/Tokyo'),
        contact('dnc', '+447700900003'),
        contact('abandoned', '+447700900004'),
        contact('london', '+447700900005'),
      ],
      script: { '+447700900005': ['connected'] },
      dnc: ['+447700900003'],
      abandoned,
    });
    expect(run.tick()).toBe(1);
    await run.settled();
    expect(dialer.numbersDialed()).toEqual(['+447700900005']);
    expect(run.contactState('tokyo')).toEqual({
      kind: 'later',
      reason: 'window',
      notBeforeMs: Date.parse('2026-12-07T23:00:00Z'),
    });
    expect(run.contactState('dnc')).toEqual({ kind: 'done', reason: 'dnc' });
    expect(run.contactState('abandoned')).toEqual({
      kind: 'later',
      reason: 'abandoned_72h',
      notBeforeMs: NOW + HOUR,
    });
    expect(run.contactState('london')).toEqual({ kind: 'done', reason: 'completed' });
    expect(run.nextDueMs()).toBe(NOW + HOUR);

    // An hour on the 72 h are over (the London call has ended); at 08:00 in Tokyo, Tokyo is due.
    agents.hangUp('id-1');
    clock.advance(HOUR);
    expect(run.tick()).toBe(1);
    await run.settled();
    clock.set(Date.parse('2026-12-07T23:00:00Z') - MINUTE);
    expect(run.tick()).toBe(0);
    clock.advance(MINUTE);
    expect(run.tick()).toBe(1);
    await run.settled();
    expect(dialer.numbersDialed()).toEqual(['+447700900005', '+447700900004', '+81300000001']);
  });

  it('retries a busy customer after the busy delay and not before', async () => {
    const { dialer, run, clock, records } = setup({
      contacts: [contact('c1', '+447700900001')],
      script: { '+447700900001': ['busy', 'connected'] },
    });
    run.tick();
    await run.settled();
    expect(run.contactState('c1')).toMatchObject({ kind: 'later', reason: 'retry_delay' });
    clock.advance(10 * MINUTE);
    expect(run.tick()).toBe(0);
    clock.advance(5 * MINUTE);
    expect(run.tick()).toBe(1);
    await run.settled();
    expect(dialer.numbersDialed()).toEqual(['+447700900001', '+447700900001']);
    expect(records.map((r) => [r.attempt, r.outcome, r.atMs - NOW])).toEqual([
      [1, 'busy', 0],
      [2, 'connected', 15 * MINUTE],
    ]);
  });

  it('stops after the most attempts', async () => {
    const { run, clock } = setup({
      contacts: [contact('c1', '+447700900001')],
      script: { '+447700900001': ['no_answer', 'no_answer', 'no_answer', 'connected'] },
    });
    for (let i = 0; i < 3; i++) {
      expect(run.tick()).toBe(1);
      await run.settled();
      clock.advance(2 * HOUR);
    }
    expect(run.tick()).toBe(0);
    expect(run.contactState('c1')).toEqual({ kind: 'done', reason: 'max_attempts' });
  });

  it('an agent who does not answer costs the customer no attempt', async () => {
    const { dialer, run, records } = setup({
      contacts: [contact('c1', '+447700900001')],
      script: { '+447700900001': ['agent_no_answer', 'connected'] },
    });
    run.tick();
    await run.settled();
    expect(run.tick()).toBe(1);
    await run.settled();
    expect(dialer.requests).toHaveLength(2);
    expect(records.map((r) => [r.attempt, r.outcome])).toEqual([
      [0, 'agent_no_answer'],
      [1, 'connected'],
    ]);
  });
});

describe('inbound first, pause, and the site-wide 72 h rule', () => {
  it('dials nothing while an inbound call waits or the inbound service level is below target', () => {
    const { run, agents, dialer } = setup({
      contacts: [contact('c1', '+447700900001')],
      script: {},
    });
    agents.load = { ...agents.load, queued: 1 };
    expect(run.tick()).toBe(0);
    expect(run.progress().held).toBe('inbound_waiting');
    agents.load = { queued: 0, offered: 40, answeredWithinTarget: 20, target: 0.8, minOffered: 20 };
    expect(run.tick()).toBe(0);
    expect(run.progress().held).toBe('service_level_below_target');
    expect(dialer.requests).toHaveLength(0);
  });

  it('a paused campaign starts nothing until started again', () => {
    const { run, dialer } = setup({ contacts: [contact('c1', '+447700900001')], script: {} });
    run.pause();
    expect(run.tick()).toBe(0);
    expect(run.progress()).toMatchObject({ status: 'paused', held: 'paused' });
    run.start();
    expect(run.tick()).toBe(1);
    expect(dialer.requests).toHaveLength(1);
  });

  it('a call abandoned in one campaign keeps the number from every campaign of the site for 72 h', async () => {
    const abandoned = new AbandonedCalls();
    const first = setup({
      contacts: [contact('c1', '+447700900001')],
      script: { '+447700900001': ['abandoned'] },
      mode: 'predictive',
      abandoned,
    });
    first.run.tick();
    await first.run.settled();
    expect(first.dialer.requests[0]!.order).toBe('customer_first');
    expect(abandoned.lastAt('+447700900001')).toBe(NOW);

    const second = setup({ contacts: [contact('x', '+447700900001')], script: {}, abandoned });
    expect(second.run.tick()).toBe(0);
    expect(second.run.contactState('x')).toEqual({
      kind: 'later',
      reason: 'abandoned_72h',
      notBeforeMs: NOW + 72 * HOUR,
    });
  });
});

describe('a predictive campaign dials beyond its idle agents', () => {
  /** A Pacer that has seen 2000 lines answered at 25 %, none abandoned: room to over-dial. */
  function warmPacer(clock: ManualClock): Pacer {
    const pacer = new Pacer({ clock });
    for (let i = 0; i < 2000; i++) pacer.record(i % 4 === 0 ? 'connected' : 'no_answer');
    return pacer;
  }
  const list = (n: number) =>
    Array.from({ length: n }, (_, i) => contact(`c${i + 1}`, `+4477009000${10 + i}`));

  it('dials more lines than idle agents, customer first with none reserved; answers take the idle agents, one beyond them is abandoned', async () => {
    const clock = new ManualClock(NOW);
    const { run, dialer, agents, records } = setup({
      contacts: list(12),
      // the first three customers answer; the rest do not
      script: {
        '+447700900010': ['connected'],
        '+447700900011': ['connected'],
        '+447700900012': ['connected'],
      },
      agents: ['a1', 'a2'],
      mode: 'predictive',
      pacer: warmPacer(clock),
    });
    // P(Binomial(3, 0.25) > 2) = 1.6 % is within the Pacer's 5 % tail; 4 lines' 5.1 % is not
    expect(run.tick()).toBe(3);
    expect(run.progress().held).toBeUndefined();
    expect(dialer.requests).toHaveLength(3);
    for (const r of dialer.requests) {
      expect(r.order).toBe('customer_first');
      expect(r.agentId).toBeUndefined();
    }
    // no agent is held while the customers ring
    expect(agents.free).toEqual(['a1', 'a2']);

    await run.settled();
    const byContact = new Map(records.map((r) => [r.contactId, r]));
    expect(byContact.get('c1')).toMatchObject({ outcome: 'connected', agentId: 'a1' });
    expect(byContact.get('c2')).toMatchObject({ outcome: 'connected', agentId: 'a2' });
    expect(byContact.get('c3')).toMatchObject({ outcome: 'abandoned', agentId: '' });
    expect(agents.talking).toEqual(
      new Set([byContact.get('c1')!.callId, byContact.get('c2')!.callId]),
    );
    expect(run.contactState('c3')).toMatchObject({ kind: 'later', reason: 'abandoned_72h' });
    expect(run.progress()).toMatchObject({ dialed: 3, connected: 2, abandoned: 1 });
  });

  it('dials progressively (one line per idle agent) while the Pacer has no abandon budget yet', () => {
    const { run } = setup({
      contacts: list(12),
      script: {},
      agents: ['a1', 'a2'],
      mode: 'predictive',
    });
    expect(run.tick()).toBe(2);
  });

  it('dials nothing while an inbound caller waits, and gives no agent to a customer answering meanwhile', async () => {
    const clock = new ManualClock(NOW);
    const { run, dialer, agents, records } = setup({
      contacts: list(12),
      script: { '+447700900010': ['connected'] },
      agents: ['a1', 'a2'],
      mode: 'predictive',
      pacer: warmPacer(clock),
    });
    agents.load = { ...agents.load, queued: 1 };
    expect(run.tick()).toBe(0);
    expect(run.progress().held).toBe('inbound_waiting');
    expect(dialer.requests).toHaveLength(0);

    agents.load = { ...agents.load, queued: 0 };
    expect(run.tick()).toBeGreaterThan(2);
    // a caller arrives before the first customer answers: the idle agents are the caller's
    agents.load = { ...agents.load, queued: 1 };
    await run.settled();
    expect(records.find((r) => r.contactId === 'c1')).toMatchObject({
      outcome: 'abandoned',
      agentId: '',
    });
    expect(agents.free).toEqual(['a1', 'a2']);
    expect(agents.talking.size).toBe(0);
  });
});

describe('progress', () => {
  it('counts dialed, connected, abandoned, the 24 h abandon rate and every outcome', async () => {
    const { run, agents } = setup({
      contacts: [
        contact('c1', '+447700900001'),
        contact('c2', '+447700900002'),
        contact('c3', '+447700900003'),
        contact('c4', '+447700900004'),
      ],
      script: {
        '+447700900001': ['connected'],
        '+447700900002': ['abandoned'],
        '+447700900003': ['busy'],
        '+447700900004': ['no_answer'],
      },
      agents: ['a1', 'a2', 'a3', 'a4'],
    });
    run.tick();
    await run.settled();
    agents.hangUp('id-1');
    const p = run.progress();
    expect(p).toMatchObject({
      status: 'running',
      contacts: 4,
      dialed: 4,
      connected: 1,
      abandoned: 1,
      outcomes: { connected: 1, abandoned: 1, busy: 1, no_answer: 1 },
      standing: { 'done:completed': 1, 'later:abandoned_72h': 1, 'later:retry_delay': 2 },
    });
    // 1 abandoned of 2 live calls, with the Pacer's estimate of machine verdicts (none here).
    expect(p.abandonRate24h).toBeCloseTo(0.5, 5);
  });
});

describe('a preview campaign offers the contact to its agent, who dials or skips it', () => {
  const customers = () => [
    { ...contact('c1', '+447700900001'), customerId: 'cust-1' },
    { ...contact('c2', '+447700900002'), customerId: 'cust-2' },
    contact('c3', '+447700900003'),
  ];

  it('offers one contact per free agent and dials nothing before the agent decides', () => {
    const { dialer, run } = setup({
      contacts: customers(),
      script: {},
      agents: ['a1', 'a2'],
      mode: 'preview',
    });
    expect(run.tick()).toBe(2);
    expect(dialer.requests).toEqual([]);
    expect(run.previewFor('a1')).toEqual({
      offerId: 'id-2',
      callId: 'id-1',
      agentId: 'a1',
      contactId: 'c1',
      customerId: 'cust-1',
      offeredAtMs: NOW,
      expiresAtMs: NOW + DEFAULT_PREVIEW_TIMEOUT_MS,
    });
    expect(run.previewFor('a2')?.contactId).toBe('c2');
    expect(run.contactState('c1')).toEqual({ kind: 'previewing', offerId: 'id-2' });
    // Both agents hold a preview: nobody is left for the third contact.
    expect(run.tick()).toBe(0);
    expect(run.progress().previews).toEqual({ offered: 2, skipped: 0, released: 0 });
    expect(run.progress().dialed).toBe(0);
  });

  it('dial places the call agent first under the reserved call id and counts an attempt', async () => {
    const { dialer, run, records, agents } = setup({
      contacts: customers(),
      script: { '+447700900001': ['connected'] },
      mode: 'preview',
    });
    run.tick();
    const offer = run.previewFor('a1')!;
    run.decide(offer.offerId, 'a1', { kind: 'dial' });
    expect(run.previewFor('a1')).toBeUndefined();
    await run.settled();
    expect(dialer.requests.map((r) => [r.callId, r.agentId, r.number, r.order])).toEqual([
      [offer.callId, 'a1', '+447700900001', 'agent_first'],
    ]);
    expect(agents.talking.has(offer.callId)).toBe(true);
    expect(records.map((r) => [r.contactId, r.outcome, r.attempt])).toEqual([
      ['c1', 'connected', 1],
    ]);
    expect(run.contactState('c1')).toEqual({ kind: 'done', reason: 'completed' });
    expect(run.progress()).toMatchObject({ dialed: 1, connected: 1 });
  });

  it('skip frees the agent, costs no attempt, and holds the contact for 4 h', () => {
    const { dialer, run, records, agents, clock } = setup({
      contacts: customers(),
      script: {},
      mode: 'preview',
    });
    run.tick();
    const offer = run.previewFor('a1')!;
    run.decide(offer.offerId, 'a1', { kind: 'skip', reason: 'needs_preparation' });
    expect(agents.free).toEqual(['a1']);
    expect(records).toEqual([
      expect.objectContaining({
        contactId: 'c1',
        attemptId: offer.offerId,
        callId: offer.callId,
        agentId: 'a1',
        outcome: 'skipped',
        skipReason: 'needs_preparation',
        attempt: 0,
        atMs: NOW,
      }),
    ]);
    expect(run.contactState('c1')).toEqual({
      kind: 'later',
      reason: 'preview_skipped',
      notBeforeMs: NOW + PREVIEW_SKIP_HOLD_MS,
    });
    // The freed agent is offered the next contact, not the skipped one.
    run.tick();
    expect(run.previewFor('a1')?.contactId).toBe('c2');
    run.decide(run.previewFor('a1')!.offerId, 'a1', { kind: 'skip', reason: 'not_now' });
    run.tick();
    expect(run.previewFor('a1')?.contactId).toBe('c3');
    run.decide(run.previewFor('a1')!.offerId, 'a1', { kind: 'skip', reason: 'not_now' });
    clock.advance(PREVIEW_SKIP_HOLD_MS - 1);
    expect(run.tick()).toBe(0);
    clock.advance(1);
    run.tick();
    expect(run.previewFor('a1')?.contactId).toBe('c1');
    expect(dialer.requests).toEqual([]);
    expect(run.progress().previews).toEqual({ offered: 4, skipped: 3, released: 0 });
  });

  it('a preview undecided within its timeout is released: the agent freed not ready, the contact offered to another', () => {
    const { run, records, agents, clock } = setup({
      contacts: customers(),
      script: {},
      agents: ['a1'],
      mode: 'preview',
      previewTimeoutMs: 10_000,
    });
    run.tick();
    const offer = run.previewFor('a1')!;
    clock.advance(9_999);
    run.tick();
    expect(run.previewFor('a1')).toBe(offer);
    agents.free.push('a2'); // another agent comes in
    clock.advance(1);
    run.tick();
    expect(agents.absent).toEqual(['a1']);
    expect(records.map((r) => [r.agentId, r.outcome, r.attempt])).toEqual([['a1', 'released', 0]]);
    // Released, the same contact goes to the next agent free.
    expect(run.previewFor('a2')?.contactId).toBe('c1');
    expect(() => run.decide(offer.offerId, 'a1', { kind: 'dial' })).toThrow(
      expect.objectContaining({ code: 'stale' }),
    );
    expect(run.progress().previews).toEqual({ offered: 2, skipped: 0, released: 1 });
  });

  it('refuses a wrong id, another agent, a second decision, and one past its timeout', () => {
    const { run, clock, dialer } = setup({
      contacts: customers(),
      script: {},
      agents: ['a1', 'a2'],
      mode: 'preview',
    });
    run.tick();
    const mine = run.previewFor('a1')!;
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (err) {
        expect(err).toBeInstanceOf(PreviewDecisionError);
        return (err as PreviewDecisionError).code;
      }
      return 'accepted';
    };
    expect(code(() => run.decide('nope', 'a1', { kind: 'dial' }))).toBe('not_found');
    expect(code(() => run.decide(mine.offerId, 'a2', { kind: 'dial' }))).toBe('not_yours');
    expect(code(() => run.decide(mine.offerId, 'a1', { kind: 'skip', reason: 'other' }))).toBe(
      'accepted',
    );
    expect(code(() => run.decide(mine.offerId, 'a1', { kind: 'dial' }))).toBe('stale');
    const theirs = run.previewFor('a2')!;
    clock.advance(DEFAULT_PREVIEW_TIMEOUT_MS);
    expect(code(() => run.decide(theirs.offerId, 'a2', { kind: 'dial' }))).toBe('stale');
    expect(dialer.requests).toEqual([]);
  });

  it('pausing withdraws the open previews (the agents freed as they were); a replayed skip keeps its hold', () => {
    const { run, records, agents } = setup({ contacts: customers(), script: {}, mode: 'preview' });
    run.tick();
    run.pause();
    expect(agents.free).toEqual(['a1']);
    expect(agents.absent).toEqual([]);
    expect(records.map((r) => r.outcome)).toEqual(['released']);
    expect(run.contactState('c1')).toEqual({ kind: 'pending' });

    const again = setup({ contacts: customers(), script: {}, mode: 'preview' });
    again.run.replay({ ...records[0]!, outcome: 'skipped', skipReason: 'not_now' });
    expect(again.run.contactState('c1')).toMatchObject({
      kind: 'later',
      reason: 'preview_skipped',
    });
    expect(again.run.progress()).toMatchObject({ dialed: 0, previews: { skipped: 1 } });
  });
});

describe('a preview campaign across a site agent restart', () => {
  const customers = () => [contact('c1', '+447700900001'), contact('c2', '+447700900002')];
  const preview = (agents = ['a1']) =>
    setup({ contacts: customers(), script: {}, agents, mode: 'preview' as const });

  it('journals the open offers after every change, a skip after its record', () => {
    const { run, clock, trail, journalled } = preview(['a1', 'a2']);
    run.tick();
    expect(trail).toEqual(['open [id-2 id-4]']);
    expect(journalled.at(-1)).toEqual([run.previewFor('a1'), run.previewFor('a2')]);
    run.tick(); // nothing changed: nothing written
    expect(trail).toHaveLength(1);
    run.decide('id-2', 'a1', { kind: 'skip', reason: 'not_now' });
    // the skip is in the attempts before the offers file drops it: a crash between the two finds
    // the offer ended, never open with its end lost
    expect(trail.slice(1)).toEqual(['skipped id-2', 'open [id-4]']);
    run.decide('id-4', 'a2', { kind: 'dial' });
    // a dialed offer leaves the file before its call is placed
    expect(trail.at(-1)).toBe('open []');
    const written = trail.length;
    clock.advance(DEFAULT_PREVIEW_TIMEOUT_MS);
    run.tick(); // c1 held 4 h, c2 dialing: no offer, and nothing written again
    expect(trail).toHaveLength(written);
  });

  it('a stopping site keeps its open offers; a restarted one gives each back with its time left', () => {
    const first = preview();
    first.run.tick();
    const offer = first.run.previewFor('a1')!;
    first.run.stop();
    expect(first.trail).toEqual(['open [id-2]']); // nothing released, nothing rewritten

    // The site agent comes back 12 s later with a1 still reserved for the offer's call.
    const again = preview();
    again.clock.advance(12_000);
    again.agents.keptReserved(offer.callId, 'a1');
    again.run.restorePreviews([offer]);
    expect(again.run.previewFor('a1')).toEqual(offer);
    expect(offer.expiresAtMs - again.clock.now()).toBe(DEFAULT_PREVIEW_TIMEOUT_MS - 12_000);
    expect(again.run.contactState('c1')).toEqual({ kind: 'previewing', offerId: offer.offerId });
    expect(again.records).toEqual([]);
    expect(again.run.progress().previews).toEqual({ offered: 1, skipped: 0, released: 0 });
    // Nobody else is offered c1 meanwhile, and the agent's decision is taken: agent first, under
    // the call id the agent has been reserved under since before the restart.
    again.run.tick();
    again.run.decide(offer.offerId, 'a1', { kind: 'dial' });
    expect(again.dialer.requests).toMatchObject([
      { callId: offer.callId, agentId: 'a1', number: '+447700900001', order: 'agent_first' },
    ]);
  });

  it('an offer that ran out while the site was down is released without blame and costs no attempt', () => {
    const first = preview();
    first.run.tick();
    const offer = first.run.previewFor('a1')!;

    const again = preview();
    again.clock.advance(DEFAULT_PREVIEW_TIMEOUT_MS + 5_000);
    again.agents.keptReserved(offer.callId, 'a1');
    again.run.restorePreviews([offer]);
    expect(again.records).toEqual([
      expect.objectContaining({
        attemptId: offer.offerId,
        callId: offer.callId,
        agentId: 'a1',
        outcome: 'released',
        attempt: 0,
      }),
    ]);
    // ready, not "absent": the site, not the agent, kept them from deciding
    expect(again.agents.absent).toEqual([]);
    expect(again.agents.free).toEqual(['a1']);
    expect(again.trail.at(-1)).toBe('open []');
    // a late click is stale, and the contact, not skipped, is offered again at once
    expect(() => again.run.decide(offer.offerId, 'a1', { kind: 'dial' })).toThrow(
      expect.objectContaining({ code: 'stale' }),
    );
    again.run.tick();
    expect(again.run.previewFor('a1')?.contactId).toBe('c1');
    expect(again.run.progress().previews).toEqual({ offered: 2, skipped: 0, released: 1 });
  });

  it('an offer whose reservation the restart lost is released, nobody freed twice, the contact offered again', () => {
    const first = preview();
    first.run.tick();
    const offer = first.run.previewFor('a1')!;

    // The site's state was saved before the reservation: a1 came back ready.
    const again = preview(['a1', 'a2']);
    again.clock.advance(3_000);
    again.run.restorePreviews([offer]);
    expect(again.records.map((r) => [r.agentId, r.outcome, r.attempt])).toEqual([
      ['a1', 'released', 0],
    ]);
    expect(again.agents.free).toEqual(['a1', 'a2']); // release() was not asked for: it would throw
    expect(again.run.contactState('c1')).toEqual({ kind: 'pending' });
    again.run.tick();
    expect(again.run.previewFor('a1')?.contactId).toBe('c1');
    expect(again.run.previewFor('a2')?.contactId).toBe('c2');
  });

  it('a paused campaign takes up no offer; an offer of a contact already ended only frees its agent', () => {
    const first = preview(['a1', 'a2']);
    first.run.tick();
    const o1 = first.run.previewFor('a1')!;
    const o2 = first.run.previewFor('a2')!;
    const skip = { ...o2, offerId: 'id-2-ended' };
    first.run.decide(o2.offerId, 'a2', { kind: 'skip', reason: 'wrong_contact' });

    const again = preview(['a1', 'a2']);
    again.run.pause();
    again.agents.keptReserved(o1.callId, 'a1');
    again.agents.keptReserved(o2.callId, 'a2');
    for (const r of first.records) again.run.replay(r);
    again.run.restorePreviews([o1, skip]);
    expect(again.records.map((r) => [r.contactId, r.outcome])).toEqual([['c1', 'released']]);
    expect(again.agents.free.sort()).toEqual(['a1', 'a2']);
    expect(again.run.contactState('c2')).toMatchObject({
      kind: 'later',
      reason: 'preview_skipped',
    });
    expect(again.run.previewFor('a1')).toBeUndefined();
    expect(again.run.progress().previews).toEqual({ offered: 2, skipped: 1, released: 1 });
  });
});
