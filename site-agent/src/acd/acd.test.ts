import { ManualClock } from '@ccfed/common';
import { describe, expect, it } from 'vitest';
import { Acd, AcdError, type AcdAgent, type AcdSkill } from './acd.js';
import { IllegalTransitionError } from './agent-state.js';
import { expectedWaitMs, NO_AGENTS_EWT_MS } from './ewt.js';
import type { QueuedCall } from './queue.js';

const VIP = 4;
const STANDARD = 1;
const T0 = Date.parse('2026-11-22T01:00:00Z');

const SKILLS: AcdSkill[] = [
  { id: 'sales', serviceLevelThresholdMs: 20_000, wrapUpMs: 5_000, averageHandleMs: 120_000 },
  { id: 'support', serviceLevelThresholdMs: 20_000, wrapUpMs: 10_000, averageHandleMs: 180_000 },
  {
    id: 'complaints',
    serviceLevelThresholdMs: 30_000,
    wrapUpMs: 0,
    averageHandleMs: 300_000,
    secondChoice: { skill: 'support', afterMs: 60_000 },
  },
];

function agent(id: string, skills: Record<string, number>): AcdAgent {
  return { id, tenantId: 'acme-bank', skills };
}

function setup(agents: AcdAgent[]) {
  const clock = new ManualClock(T0);
  const acd = new Acd({ clock, skills: SKILLS, agents });
  const call = (
    callId: string,
    skill: string,
    tier = STANDARD,
    arrivalMs = clock.now(),
  ): QueuedCall => ({
    callId,
    tenantId: 'acme-bank',
    skill,
    tier,
    arrivalMs,
  });
  const staff = (...ids: string[]) => {
    for (const id of ids) {
      acd.login(id);
      acd.ready(id);
    }
  };
  return { clock, acd, call, staff };
}

describe('Acd agent selection', () => {
  it('gives a call to the idle agent with the best proficiency for its skill', () => {
    const { acd, call, staff } = setup([
      agent('a1', { sales: 5 }),
      agent('a2', { sales: 9 }),
      agent('a3', { support: 10 }),
    ]);
    staff('a1', 'a2', 'a3');
    const r = acd.offer(call('c1', 'sales'));
    expect(r.kind).toBe('assigned');
    expect(r.kind === 'assigned' && r.assignment.agentId).toBe('a2');
    expect(acd.agentState('a2')).toEqual({ name: 'reserved', callId: 'c1' });
  });

  it('among equally proficient agents, picks the one idle longest', () => {
    const { acd, call, staff, clock } = setup([
      agent('a1', { sales: 7 }),
      agent('a2', { sales: 7 }),
    ]);
    staff('a2');
    clock.advance(1000);
    staff('a1');
    const r = acd.offer(call('c1', 'sales'));
    expect(r.kind === 'assigned' && r.assignment.agentId).toBe('a2');
  });

  it('never offers a call to an agent without the skill, even when idle', () => {
    const { acd, call, staff } = setup([agent('a1', { support: 9 })]);
    staff('a1');
    expect(acd.offer(call('c1', 'sales')).kind).toBe('queued');
    expect(acd.agentState('a1')).toEqual({ name: 'ready' });
  });
});

describe('Acd tenants', () => {
  it("never gives a client's call to another client's seat, and counts only the client's seats in its EWT", () => {
    const { acd, call, staff } = setup([
      { id: 'acme1', tenantId: 'acme-bank', skills: { support: 5 } },
      { id: 'zen1', tenantId: 'zenith-telecom', skills: { support: 9 } },
      { id: 'zen2', tenantId: 'zenith-telecom', skills: { support: 9 } },
    ]);
    staff('zen1', 'zen2');
    const r = acd.offer(call('c1', 'support'));
    expect(r.kind).toBe('queued');
    // Only acme1 could serve it, and acme1 is logged out: nobody of the tenant is staffed.
    expect(acd.expectedWaitOf('c1')).toBe(NO_AGENTS_EWT_MS);
    const fx = acd.login('acme1');
    expect(fx.assignments).toEqual([]);
    expect(acd.ready('acme1').assignments.map((a) => a.agentId)).toEqual(['acme1']);
  });
});

describe('Acd status per tenant', () => {
  it("reports each tenant's queue, seats and EWT separately", () => {
    const { acd, call, staff } = setup([
      { id: 'acme1', tenantId: 'acme-bank', skills: { support: 5 } },
      { id: 'zen1', tenantId: 'zenith-telecom', skills: { support: 9 } },
      { id: 'zen2', tenantId: 'zenith-telecom', skills: { support: 9 } },
    ]);
    staff('acme1', 'zen1', 'zen2');
    acd.offer(call('c1', 'support')); // acme1 takes it
    acd.offer(call('c2', 'support')); // acme-bank has no seat left: queued
    const support = acd.skillStatus().find((s) => s.skill === 'support')!;
    expect(support.tenants).toEqual([
      { tenantId: 'acme-bank', queued: 1, staffed: 1, idle: 0, expectedWaitMs: 360_000 },
      { tenantId: 'zenith-telecom', queued: 0, staffed: 2, idle: 2, expectedWaitMs: 0 },
    ]);
  });
});

describe('Acd.expectedWaitIfOffered', () => {
  it('is 0 while an agent of the tenant is idle, else the EWT of the place the call would take, changing nothing', () => {
    const { acd, call, staff } = setup([agent('a1', { support: 5 })]);
    staff('a1');
    const probe = { tenantId: 'acme-bank', skill: 'support', tier: STANDARD, arrivalMs: T0 };
    expect(acd.expectedWaitIfOffered(probe)).toBe(0);
    acd.offer(call('c1', 'support'));
    acd.offer(call('c2', 'support'));
    // one queued ahead, no idle agent: (2 - 0) × 180 s / 1
    expect(acd.expectedWaitIfOffered(probe)).toBe(360_000);
    // a VIP would go first
    expect(acd.expectedWaitIfOffered({ ...probe, tier: VIP })).toBe(180_000);
    expect(acd.queuedCalls('support').map((c) => c.callId)).toEqual(['c2']);
  });
});

describe('Acd queueing', () => {
  it('serves a VIP caller before regular callers who arrived earlier', () => {
    const { acd, call, staff, clock } = setup([agent('a1', { sales: 5 })]);
    staff('a1');
    acd.offer(call('busy', 'sales'));
    acd.answered('busy');
    acd.offer(call('early-1', 'sales'));
    clock.advance(1000);
    acd.offer(call('early-2', 'sales'));
    clock.advance(1000);
    const vip = acd.offer(call('vip', 'sales', VIP));
    expect(vip.kind === 'queued' && vip.position).toBe(1);
    acd.hangUp('busy');
    clock.advance(5_000);
    const fx = acd.tick();
    expect(fx.assignments.map((a) => a.callId)).toEqual(['vip']);
    expect(acd.queuedCalls('sales').map((c) => c.callId)).toEqual(['early-1', 'early-2']);
  });

  it('keeps a call that rang unanswered at its original place, and puts the agent not-ready (RONA)', () => {
    const { acd, call, staff, clock } = setup([
      agent('a1', { sales: 5 }),
      agent('a2', { sales: 4 }),
    ]);
    staff('a1');
    acd.offer(call('c1', 'sales'));
    clock.advance(1000);
    acd.offer(call('c2', 'sales'));
    const fx = acd.ringFailed('c1');
    expect(acd.agentState('a1')).toEqual({ name: 'not_ready', reason: 'rona' });
    expect(fx.assignments).toEqual([]);
    expect(acd.queuedCalls('sales').map((c) => c.callId)).toEqual(['c1', 'c2']);
    staff('a2');
    expect(acd.agentState('a2')).toEqual({ name: 'reserved', callId: 'c1' });
  });

  it('removes an abandoned call from the queue and reports how long the caller waited', () => {
    const { acd, call, clock } = setup([agent('a1', { sales: 5 })]);
    acd.offer(call('c1', 'sales'));
    clock.advance(12_000);
    expect(acd.abandon('c1').waitedMs).toBe(12_000);
    expect(acd.queuedCalls('sales')).toEqual([]);
    expect(() => acd.abandon('c1')).toThrow(AcdError);
  });

  it('frees the ringing agent when the caller hangs up before answer', () => {
    const { acd, call, staff } = setup([agent('a1', { sales: 5 })]);
    staff('a1');
    acd.offer(call('c1', 'sales'));
    acd.abandon('c1');
    expect(acd.agentState('a1')).toEqual({ name: 'ready' });
  });

  it('offers a long-waiting call to agents of its second-choice skill', () => {
    const { acd, call, staff, clock } = setup([agent('s1', { support: 8 })]);
    staff('s1');
    expect(acd.offer(call('c1', 'complaints')).kind).toBe('queued');
    expect(acd.nextDeadline()).toBe(T0 + 60_000);
    clock.advance(59_999);
    expect(acd.tick().assignments).toEqual([]);
    clock.advance(1);
    expect(acd.tick().assignments).toEqual([
      { callId: 'c1', agentId: 's1', skill: 'complaints', waitedMs: 60_000 },
    ]);
  });

  it('refuses a call for a skill it does not know and a call id twice', () => {
    const { acd, call } = setup([]);
    expect(() => acd.offer(call('c1', 'fraud'))).toThrow(/unknown skill fraud/);
    acd.offer(call('c2', 'sales'));
    expect(() => acd.offer(call('c2', 'sales'))).toThrow(/already in the ACD/);
  });
});

describe('Acd wrap-up and agent states', () => {
  it("puts the agent in wrap-up for the skill's time after hang-up, then ready and able to take the next call", () => {
    const { acd, call, staff, clock } = setup([agent('a1', { sales: 5 })]);
    staff('a1');
    acd.offer(call('c1', 'sales'));
    acd.answered('c1');
    acd.offer(call('c2', 'sales'));
    clock.advance(30_000);
    const hang = acd.hangUp('c1');
    expect(hang.talkMs).toBe(30_000);
    expect(acd.agentState('a1')).toEqual({
      name: 'wrap_up',
      callId: 'c1',
      until: clock.now() + 5_000,
    });
    clock.advance(4_999);
    expect(acd.tick().assignments).toEqual([]);
    clock.advance(1);
    const fx = acd.tick();
    expect(fx.agentChanges.map((c) => c.to.name)).toEqual(['ready', 'reserved']);
    expect(fx.assignments.map((a) => a.callId)).toEqual(['c2']);
  });

  it('applies a not-ready requested during a call once wrap-up ends, instead of taking another call', () => {
    const { acd, call, staff, clock } = setup([agent('a1', { sales: 5 })]);
    staff('a1');
    acd.offer(call('c1', 'sales'));
    acd.answered('c1');
    acd.notReady('a1', 'lunch');
    acd.offer(call('c2', 'sales'));
    acd.hangUp('c1');
    clock.advance(5_000);
    acd.tick();
    expect(acd.agentState('a1')).toEqual({ name: 'not_ready', reason: 'lunch' });
    expect(acd.queuedCalls('sales').map((c) => c.callId)).toEqual(['c2']);
  });

  it('rejects illegal transitions with a message naming agent, state and action', () => {
    const { acd, call, staff } = setup([agent('a1', { sales: 5 })]);
    expect(() => acd.ready('a1')).toThrow(
      new IllegalTransitionError('a1', 'logged_out', 'ready', 'log in first'),
    );
    staff('a1');
    acd.offer(call('c1', 'sales'));
    acd.answered('c1');
    expect(() => acd.logout('a1')).toThrow(
      'agent a1: cannot logout while on-call: the agent is handling a call',
    );
    expect(() => acd.login('a1')).toThrow(/cannot login while on-call: already logged in/);
    expect(() => acd.notReady('a1', 'Lunch Break!')).toThrow(/reason code/);
    expect(() => acd.ready('nobody')).toThrow('unknown agent nobody at this site');
  });

  it('reports each state change once, with the tenant of the agent', () => {
    const { acd } = setup([agent('a1', { sales: 5 })]);
    expect(acd.login('a1').agentChanges).toEqual([
      {
        agentId: 'a1',
        tenantId: 'acme-bank',
        from: { name: 'logged_out' },
        to: { name: 'not_ready', reason: 'login' },
      },
    ]);
    acd.ready('a1');
    expect(acd.ready('a1').agentChanges).toEqual([]);
  });
});

describe('expected wait', () => {
  it('is zero while idle agents outnumber the calls ahead', () => {
    expect(expectedWaitMs({ position: 2, staffed: 5, idle: 2, averageHandleMs: 100_000 })).toBe(0);
  });

  it('grows with position and shrinks with staffing: (position - idle) × AHT / staffed', () => {
    expect(expectedWaitMs({ position: 4, staffed: 5, idle: 0, averageHandleMs: 100_000 })).toBe(
      80_000,
    );
    expect(expectedWaitMs({ position: 4, staffed: 10, idle: 0, averageHandleMs: 100_000 })).toBe(
      40_000,
    );
    expect(expectedWaitMs({ position: 4, staffed: 0, idle: 0, averageHandleMs: 100_000 })).toBe(
      NO_AGENTS_EWT_MS,
    );
  });

  it('is recomputed for every queued call when staffing changes, and favours VIPs', () => {
    const { acd, call, staff, clock } = setup([
      agent('a1', { sales: 5 }),
      agent('a2', { sales: 5 }),
    ]);
    staff('a1');
    acd.offer(call('busy', 'sales'));
    acd.answered('busy');
    const c1 = acd.offer(call('c1', 'sales'));
    expect(c1.kind === 'queued' && c1.expectedWaitMs).toBe(120_000);
    clock.advance(10);
    acd.offer(call('v1', 'sales', VIP));
    expect(acd.expectedWaitOf('v1')).toBe(120_000);
    expect(acd.expectedWaitOf('c1')).toBe(240_000);
    acd.login('a2');
    acd.ready('a2'); // takes the VIP call
    expect(acd.expectedWaitOf('c1')).toBe(60_000);
  });

  it('learns the average handle time from finished calls', () => {
    const { acd, call, staff, clock } = setup([agent('a1', { sales: 5 })]);
    staff('a1');
    for (let i = 0; i < 200; i++) {
      acd.offer(call(`c${i}`, 'sales'));
      acd.answered(`c${i}`);
      clock.advance(25_000);
      acd.hangUp(`c${i}`);
      clock.advance(5_000);
      acd.tick();
    }
    acd.offer(call('busy', 'sales'));
    acd.answered('busy');
    acd.offer(call('next', 'sales'));
    // 25 s talk + 5 s wrap-up: the estimate has moved from the configured 120 s to about 30 s.
    expect(acd.expectedWaitOf('next')).toBeGreaterThan(29_000);
    expect(acd.expectedWaitOf('next')).toBeLessThan(31_000);
  });
});

describe('status', () => {
  it('reports per skill: queued, oldest wait, staffed, idle and EWT of a new call', () => {
    const { acd, call, staff, clock } = setup([
      agent('a1', { sales: 5, support: 3 }),
      agent('a2', { support: 9 }),
    ]);
    staff('a1');
    acd.login('a2');
    acd.offer(call('c1', 'sales'));
    acd.offer(call('c2', 'sales'));
    clock.advance(7_000);
    const sales = acd.skillStatus().find((s) => s.skill === 'sales');
    expect(sales).toEqual({
      skill: 'sales',
      queued: 1,
      oldestWaitMs: 7_000,
      staffed: 1,
      idle: 0,
      expectedWaitMs: 240_000,
      averageHandleMs: 120_000,
      tenants: [{ tenantId: 'acme-bank', queued: 1, staffed: 1, idle: 0, expectedWaitMs: 240_000 }],
    });
    const support = acd.skillStatus().find((s) => s.skill === 'support');
    expect(support).toMatchObject({ queued: 0, staffed: 1, idle: 0 });
  });
});

describe('Acd announced wait', () => {
  it("tells a queued caller the model's wait until calls here have shown how long they really wait", () => {
    const { acd, call, staff } = setup([agent('a1', { support: 5 })]);
    staff('a1');
    acd.offer(call('busy', 'support'));
    const r = acd.offer(call('c1', 'support'));
    expect(r.kind).toBe('queued');
    if (r.kind !== 'queued') return;
    expect(r.callsAhead).toBe(0);
    expect(r.announcedWaitMs).toBe(r.expectedWaitMs);
    expect(acd.announcementOf('c1')).toEqual({ position: 1, waitMs: r.expectedWaitMs });
  });

  it('announces shorter waits once callers ahead kept leaving, and routing keeps the model', () => {
    const { clock, acd, call, staff } = setup([agent('a1', { support: 5 })]);
    staff('a1');
    // Every call talks 180 s (+10 s wrap-up). Round after round a caller queues and hangs up,
    // and the caller behind them waits one handle time, against a model of two.
    for (let i = 0; i < 40; i++) {
      acd.offer(call(`talk-${i}`, 'support'));
      acd.answered(`talk-${i}`);
      acd.offer(call(`ahead-${i}`, 'support'));
      acd.offer(call(`wait-${i}`, 'support'));
      clock.advance(5_000);
      acd.abandon(`ahead-${i}`);
      clock.advance(175_000);
      acd.hangUp(`talk-${i}`);
      clock.advance(10_000);
      acd.tick();
      acd.answered(`wait-${i}`);
      clock.advance(180_000);
      acd.hangUp(`wait-${i}`);
      clock.advance(10_000);
      acd.tick();
    }
    acd.offer(call('busy', 'support'));
    acd.answered('busy');
    acd.offer(call('first', 'support'));
    const r = acd.offer(call('next', 'support'));
    if (r.kind !== 'queued') throw new Error('expected the call to queue');
    expect(r.callsAhead).toBe(1);
    expect(r.announcedWaitMs).toBeLessThan(r.expectedWaitMs * 0.7);
    expect(acd.expectedWaitOf('next')).toBe(r.expectedWaitMs);
    expect(acd.announcementOf('next')).toEqual({ position: 2, waitMs: r.announcedWaitMs });
  });
});

describe('Acd restore (a restarted site agent)', () => {
  it('takes up agents and calls where a snapshot left them, queued calls in their order, without effects', () => {
    const before = setup([agent('a1', { sales: 5 }), agent('a2', { sales: 5 })]);
    before.staff('a1');
    before.acd.offer(before.call('c1', 'sales'));
    before.acd.answered('c1');
    before.clock.advance(1_000);
    before.acd.offer(before.call('c2', 'sales'));
    before.acd.offer(before.call('c3', 'sales', VIP));
    before.acd.login('a2');
    before.acd.notReady('a2', 'break');
    const snapshot = JSON.parse(JSON.stringify(before.acd.snapshot())) as ReturnType<
      Acd['snapshot']
    >;

    const after = setup([agent('a1', { sales: 5 }), agent('a2', { sales: 5 })]);
    expect(after.acd.restore(snapshot)).toEqual([]);
    expect(after.acd.agentState('a1')).toEqual({ name: 'on_call', callId: 'c1' });
    expect(after.acd.agentState('a2')).toEqual({ name: 'not_ready', reason: 'break' });
    expect(after.acd.queuedCalls('sales').map((c) => c.callId)).toEqual(['c3', 'c2']);
    expect(after.acd.phaseOf('c1')).toBe('talking');
    // the talking call ends as any other: its agent goes to wrap-up
    expect(after.acd.hangUp('c1').effects.agentChanges[0]?.to.name).toBe('wrap_up');
  });

  it('leaves out what the site no longer has and frees an agent whose call was left out', () => {
    const before = setup([agent('a1', { sales: 5 }), agent('gone', { sales: 5 })]);
    before.staff('a1');
    before.acd.offer(before.call('c1', 'sales'));
    const snapshot = before.acd.snapshot();
    const after = setup([agent('a1', { sales: 5 })]);
    const problems = after.acd.restore({ agents: snapshot.agents, calls: [] });
    expect(problems).toEqual([
      'agent gone is no longer at this site',
      'agent a1 was reserved on call c1, which is gone: ready',
    ]);
    expect(after.acd.agentState('a1')).toEqual({ name: 'ready' });
  });
});
