import { describe, expect, it } from 'vitest';
import {
  customerFailure,
  initialOutbound,
  stepOutbound,
  type OutboundEffect,
  type OutboundInput,
  type OutboundSettings,
  type OutboundState,
} from './outbound-machine.js';

const AGENT_FIRST: OutboundSettings = {
  order: 'agent_first',
  customerRingMs: 25_000,
  agentRingMs: 15_000,
  connectDeadlineMs: 2_000,
  messageGuardMs: 20_000,
};
const CUSTOMER_FIRST: OutboundSettings = { ...AGENT_FIRST, order: 'customer_first' };

/** Feeds `inputs` (each at its time) and returns the last state and every effect but transitions. */
function run(
  settings: OutboundSettings,
  inputs: readonly (readonly [number, OutboundInput])[],
): { state: OutboundState; effects: OutboundEffect[]; transitions: string[] } {
  let state = initialOutbound(settings);
  const effects: OutboundEffect[] = [];
  const transitions: string[] = [];
  for (const [at, input] of inputs) {
    const step = stepOutbound(state, input, at);
    state = step.state;
    for (const e of step.effects) {
      if (e.kind === 'transition') transitions.push(`${e.leg} ${e.from}→${e.to}`);
      else effects.push(e);
    }
  }
  return { state, effects, transitions };
}

const start = [0, { kind: 'start' }] as const;

describe('outbound attempt, agent first', () => {
  it('rings the agent, then the customer with the agent’s offer, and connects at the customer’s answer', () => {
    const { state, effects, transitions } = run(AGENT_FIRST, [
      start,
      [100, { kind: 'provisional', leg: 'agent' }],
      [900, { kind: 'answered', leg: 'agent' }],
      [1_000, { kind: 'provisional', leg: 'customer' }],
      [4_000, { kind: 'answered', leg: 'customer' }],
    ]);
    expect(effects).toEqual([
      { kind: 'invite_agent' },
      { kind: 'start_timer', id: 'agent_ring', ms: 15_000 },
      { kind: 'cancel_timer', id: 'agent_ring' },
      { kind: 'invite_customer', offer: 'agent' },
      { kind: 'start_timer', id: 'customer_ring', ms: 25_000 },
      { kind: 'cancel_timer', id: 'customer_ring' },
      { kind: 'outcome', outcome: { kind: 'connected', answeredAtMs: 4_000 } },
    ]);
    expect(transitions).toEqual([
      'agent idle→trying',
      'agent trying→early',
      'agent early→confirmed',
      'customer idle→trying',
      'customer trying→early',
      'customer early→confirmed',
    ]);
    expect(state.phase).toBe('connected');
  });

  it.each([
    [486, { kind: 'busy' }],
    [600, { kind: 'busy' }],
    [480, { kind: 'no_answer' }],
    [404, { kind: 'failed', reason: 'customer leg 404' }],
  ] as const)('a customer answering %i releases the waiting agent: %j', (code, outcome) => {
    const { effects } = run(AGENT_FIRST, [
      start,
      [900, { kind: 'answered', leg: 'agent' }],
      [1_500, { kind: 'failed', leg: 'customer', code }],
    ]);
    expect(effects.slice(-3)).toEqual([
      { kind: 'cancel_timer', id: 'customer_ring' },
      { kind: 'release', leg: 'agent' },
      { kind: 'outcome', outcome },
    ]);
  });

  it('counts a customer who rings out the ring timeout as no answer, and cancels both legs', () => {
    const { effects, state } = run(AGENT_FIRST, [
      start,
      [900, { kind: 'answered', leg: 'agent' }],
      [25_900, { kind: 'timer', id: 'customer_ring' }],
      // the 487 to the dialer's CANCEL changes nothing any more
      [25_950, { kind: 'failed', leg: 'customer', code: 487 }],
    ]);
    expect(effects.slice(-3)).toEqual([
      { kind: 'release', leg: 'customer' },
      { kind: 'release', leg: 'agent' },
      { kind: 'outcome', outcome: { kind: 'no_answer' } },
    ]);
    expect(state).toMatchObject({ phase: 'done', agent: 'terminated', customer: 'terminated' });
  });

  it('never calls the customer when the reserved agent does not answer', () => {
    const rejected = run(AGENT_FIRST, [start, [500, { kind: 'failed', leg: 'agent', code: 486 }]]);
    const rangOut = run(AGENT_FIRST, [start, [15_000, { kind: 'timer', id: 'agent_ring' }]]);
    for (const { effects } of [rejected, rangOut]) {
      expect(effects.some((e) => e.kind === 'invite_customer')).toBe(false);
      expect(effects.at(-1)).toEqual({ kind: 'outcome', outcome: { kind: 'agent_no_answer' } });
    }
    expect(rangOut.effects).toContainEqual({ kind: 'release', leg: 'agent' });
  });

  it('ignores a stale timer: the agent’s ring timer firing after the agent answered', () => {
    const { effects, state } = run(AGENT_FIRST, [
      start,
      [900, { kind: 'answered', leg: 'agent' }],
      [15_000, { kind: 'timer', id: 'agent_ring' }],
    ]);
    expect(effects.at(-1)).toEqual({ kind: 'start_timer', id: 'customer_ring', ms: 25_000 });
    expect(state.phase).toBe('ringing_customer');
  });

  it('pairs the legs once connected: either one hanging up releases the other', () => {
    const { effects, state } = run(AGENT_FIRST, [
      start,
      [900, { kind: 'answered', leg: 'agent' }],
      [4_000, { kind: 'answered', leg: 'customer' }],
      [60_000, { kind: 'hung_up', leg: 'customer' }],
      [60_010, { kind: 'hung_up', leg: 'agent' }],
    ]);
    expect(effects.slice(-2)).toEqual([
      { kind: 'release', leg: 'agent' },
      { kind: 'ended', by: 'customer' },
    ]);
    expect(state.phase).toBe('done');
  });

  it('relays a new offer (hold) from either leg once connected, and refuses one before', () => {
    const connected = run(AGENT_FIRST, [
      start,
      [900, { kind: 'answered', leg: 'agent' }],
      [4_000, { kind: 'answered', leg: 'customer' }],
      [9_000, { kind: 'reoffer', from: 'agent' }],
      [19_000, { kind: 'reoffer', from: 'customer' }],
    ]);
    expect(connected.effects.slice(-2)).toEqual([
      { kind: 'relay_offer', from: 'agent', to: 'customer' },
      { kind: 'relay_offer', from: 'customer', to: 'agent' },
    ]);
    const early = run(CUSTOMER_FIRST, [
      start,
      [3_000, { kind: 'answered', leg: 'customer' }],
      [3_100, { kind: 'reoffer', from: 'customer' }],
    ]);
    expect(early.effects.at(-1)).toEqual({ kind: 'refuse_offer', leg: 'customer' });
    expect(early.state.phase).toBe('awaiting_agent');
  });

  it('an abort releases what is up and fails the attempt; a connected call is not aborted', () => {
    const ringing = run(AGENT_FIRST, [
      start,
      [900, { kind: 'answered', leg: 'agent' }],
      [1_000, { kind: 'abort' }],
    ]);
    expect(ringing.effects.slice(-4)).toEqual([
      { kind: 'cancel_timer', id: 'customer_ring' },
      { kind: 'release', leg: 'agent' },
      { kind: 'release', leg: 'customer' },
      { kind: 'outcome', outcome: { kind: 'failed', reason: 'aborted' } },
    ]);
    const connected = run(AGENT_FIRST, [
      start,
      [900, { kind: 'answered', leg: 'agent' }],
      [4_000, { kind: 'answered', leg: 'customer' }],
      [5_000, { kind: 'abort' }],
    ]);
    expect(connected.state.phase).toBe('connected');
    expect(connected.effects.at(-1)!.kind).toBe('outcome');
  });
});

describe('outbound attempt, customer first', () => {
  it('rings the customer first, then the agent, and bridges them when the agent answers in time', () => {
    const { effects, state } = run(CUSTOMER_FIRST, [
      start,
      [3_000, { kind: 'answered', leg: 'customer' }],
      [4_200, { kind: 'answered', leg: 'agent' }],
      [4_300, { kind: 'bridged', ok: true }],
    ]);
    expect(effects).toEqual([
      { kind: 'invite_customer', offer: 'placeholder' },
      { kind: 'start_timer', id: 'customer_ring', ms: 25_000 },
      { kind: 'cancel_timer', id: 'customer_ring' },
      { kind: 'invite_agent' },
      { kind: 'start_timer', id: 'connect_deadline', ms: 2_000 },
      { kind: 'cancel_timer', id: 'connect_deadline' },
      { kind: 'bridge' },
      { kind: 'outcome', outcome: { kind: 'connected', answeredAtMs: 3_000 } },
    ]);
    expect(state.phase).toBe('connected');
  });

  it('plays the message when no agent answers within 2 s, then hangs up: abandoned', () => {
    const { effects, state } = run(CUSTOMER_FIRST, [
      start,
      [3_000, { kind: 'answered', leg: 'customer' }],
      [5_000, { kind: 'timer', id: 'connect_deadline' }],
      // the agent answering after the deadline is released, not bridged
      [5_100, { kind: 'answered', leg: 'agent' }],
      [9_000, { kind: 'message_done' }],
    ]);
    expect(effects.slice(-6)).toEqual([
      { kind: 'release', leg: 'agent' },
      { kind: 'play_message' },
      { kind: 'start_timer', id: 'message_guard', ms: 20_000 },
      { kind: 'cancel_timer', id: 'message_guard' },
      { kind: 'release', leg: 'customer' },
      { kind: 'outcome', outcome: { kind: 'abandoned', answeredAtMs: 3_000 } },
    ]);
    expect(state.phase).toBe('done');
  });

  it('plays the message at once when the agent refuses, and hangs up if the message hangs', () => {
    const { effects } = run(CUSTOMER_FIRST, [
      start,
      [3_000, { kind: 'answered', leg: 'customer' }],
      [3_400, { kind: 'failed', leg: 'agent', code: 486 }],
      [23_400, { kind: 'timer', id: 'message_guard' }],
    ]);
    expect(effects.slice(-5)).toEqual([
      { kind: 'cancel_timer', id: 'connect_deadline' },
      { kind: 'play_message' },
      { kind: 'start_timer', id: 'message_guard', ms: 20_000 },
      { kind: 'release', leg: 'customer' },
      { kind: 'outcome', outcome: { kind: 'abandoned', answeredAtMs: 3_000 } },
    ]);
  });

  it('counts a customer who hangs up while the agent rings as abandoned, and cancels the agent', () => {
    const { effects } = run(CUSTOMER_FIRST, [
      start,
      [3_000, { kind: 'answered', leg: 'customer' }],
      [3_500, { kind: 'hung_up', leg: 'customer' }],
    ]);
    expect(effects.slice(-3)).toEqual([
      { kind: 'cancel_timer', id: 'connect_deadline' },
      { kind: 'release', leg: 'agent' },
      { kind: 'outcome', outcome: { kind: 'abandoned', answeredAtMs: 3_000 } },
    ]);
  });

  it('a customer who does not answer never costs an agent ring', () => {
    const { effects } = run(CUSTOMER_FIRST, [
      start,
      [25_000, { kind: 'timer', id: 'customer_ring' }],
    ]);
    expect(effects.some((e) => e.kind === 'invite_agent')).toBe(false);
    expect(effects.at(-1)).toEqual({ kind: 'outcome', outcome: { kind: 'no_answer' } });
  });
});

describe('outbound attempt, customer first with the agent taken at answer', () => {
  const AT_ANSWER: OutboundSettings = { ...CUSTOMER_FIRST, agentAtAnswer: { retryMs: 100 } };

  it('seeks an agent when the customer answers, again while none is free, and bridges the one found within 2 s', () => {
    const { effects, state, transitions } = run(AT_ANSWER, [
      start,
      [3_000, { kind: 'answered', leg: 'customer' }],
      [3_000, { kind: 'agent_sought', found: false }],
      [3_100, { kind: 'timer', id: 'seek_retry' }],
      [3_100, { kind: 'agent_sought', found: true }],
      [3_900, { kind: 'answered', leg: 'agent' }],
      [4_000, { kind: 'bridged', ok: true }],
    ]);
    expect(effects).toEqual([
      { kind: 'invite_customer', offer: 'placeholder' },
      { kind: 'start_timer', id: 'customer_ring', ms: 25_000 },
      { kind: 'cancel_timer', id: 'customer_ring' },
      { kind: 'start_timer', id: 'connect_deadline', ms: 2_000 },
      { kind: 'seek_agent' },
      { kind: 'start_timer', id: 'seek_retry', ms: 100 },
      { kind: 'seek_agent' },
      { kind: 'invite_agent' },
      { kind: 'cancel_timer', id: 'connect_deadline' },
      { kind: 'bridge' },
      { kind: 'outcome', outcome: { kind: 'connected', answeredAtMs: 3_000 } },
    ]);
    expect(transitions).toEqual([
      'customer idle→trying',
      'customer trying→confirmed',
      'agent idle→trying',
      'agent trying→confirmed',
    ]);
    expect(state.phase).toBe('connected');
  });

  it('plays the message when no agent is free within 2 s of the answer: abandoned, no agent rung', () => {
    const { effects, state } = run(AT_ANSWER, [
      start,
      [3_000, { kind: 'answered', leg: 'customer' }],
      [3_000, { kind: 'agent_sought', found: false }],
      [3_100, { kind: 'timer', id: 'seek_retry' }],
      [3_100, { kind: 'agent_sought', found: false }],
      [5_000, { kind: 'timer', id: 'connect_deadline' }],
      // the retry timer the deadline cancelled, firing late, seeks nothing
      [5_000, { kind: 'timer', id: 'seek_retry' }],
      [8_000, { kind: 'message_done' }],
    ]);
    expect(effects.slice(3)).toEqual([
      { kind: 'start_timer', id: 'connect_deadline', ms: 2_000 },
      { kind: 'seek_agent' },
      { kind: 'start_timer', id: 'seek_retry', ms: 100 },
      { kind: 'seek_agent' },
      { kind: 'start_timer', id: 'seek_retry', ms: 100 },
      { kind: 'cancel_timer', id: 'seek_retry' },
      { kind: 'play_message' },
      { kind: 'start_timer', id: 'message_guard', ms: 20_000 },
      { kind: 'cancel_timer', id: 'message_guard' },
      { kind: 'release', leg: 'customer' },
      { kind: 'outcome', outcome: { kind: 'abandoned', answeredAtMs: 3_000 } },
    ]);
    expect(effects.some((e) => e.kind === 'invite_agent')).toBe(false);
    expect(state.agent).toBe('idle');
  });

  it('plays the message when the agent found does not answer by the deadline', () => {
    const { effects } = run(AT_ANSWER, [
      start,
      [3_000, { kind: 'answered', leg: 'customer' }],
      [3_000, { kind: 'agent_sought', found: true }],
      [5_000, { kind: 'timer', id: 'connect_deadline' }],
    ]);
    expect(effects.slice(-4)).toEqual([
      { kind: 'invite_agent' },
      { kind: 'release', leg: 'agent' },
      { kind: 'play_message' },
      { kind: 'start_timer', id: 'message_guard', ms: 20_000 },
    ]);
  });

  it('a customer who hangs up while an agent is sought is abandoned; a late answer to the seek changes nothing', () => {
    const { effects, state } = run(AT_ANSWER, [
      start,
      [3_000, { kind: 'answered', leg: 'customer' }],
      [3_000, { kind: 'agent_sought', found: false }],
      [3_050, { kind: 'hung_up', leg: 'customer' }],
      [3_100, { kind: 'agent_sought', found: true }],
    ]);
    expect(effects.slice(-3)).toEqual([
      { kind: 'cancel_timer', id: 'connect_deadline' },
      { kind: 'cancel_timer', id: 'seek_retry' },
      { kind: 'outcome', outcome: { kind: 'abandoned', answeredAtMs: 3_000 } },
    ]);
    expect(state.agent).toBe('idle');
  });

  it('a customer who does not answer is no answer with no agent ever sought or rung', () => {
    const { effects, transitions } = run(AT_ANSWER, [
      start,
      [500, { kind: 'provisional', leg: 'customer' }],
      [25_000, { kind: 'timer', id: 'customer_ring' }],
    ]);
    expect(effects).toEqual([
      { kind: 'invite_customer', offer: 'placeholder' },
      { kind: 'start_timer', id: 'customer_ring', ms: 25_000 },
      { kind: 'release', leg: 'customer' },
      { kind: 'outcome', outcome: { kind: 'no_answer' } },
    ]);
    expect(transitions.some((t) => t.startsWith('agent'))).toBe(false);
  });

  it('refuses an agent taken at answer for agent-first dialing', () => {
    expect(() => initialOutbound({ ...AT_ANSWER, order: 'agent_first' })).toThrow(RangeError);
  });
});

describe('customerFailure', () => {
  it('maps SIP final responses to outcomes', () => {
    expect(customerFailure(486)).toEqual({ kind: 'busy' });
    expect(customerFailure(408)).toEqual({ kind: 'no_answer' });
    expect(customerFailure(0)).toEqual({ kind: 'failed', reason: 'customer leg lost' });
  });
});
