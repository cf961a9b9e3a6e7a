// One outbound attempt's life (a callback or a campaign call), as one pure state machine:
// `step(state, input, nowMs)` gives the attempt's next state and the effects the SIP adapter
// (sip-dialer.ts) carries out, in order. Nothing here does I/O or reads a clock.
//
// Third-party call control (RFC 3725) between two legs the dialer places through the site's
// Kamailio: the agent's and the customer's. Agent-first (flow I): the agent is rung with no offer;
// once it answers, the customer is rung with the agent's offer, and the customer's answer goes
// back to the agent in the ACK (the adapter's pass-through session description does that part).
// Customer-first: the customer is rung first (with a placeholder offer, so rtpengine can speak to
// them on their own); once they answer the reserved agent is rung, and if it answers within the
// connect deadline (2 s: a connected customer gets an agent or a message) the customer is
// re-INVITEd with the agent's offer (bridge); else the customer hears the recorded message naming
// the caller and is hung up: the attempt is abandoned.
//
// Customer-first with no agent reserved (predictive lines beyond the idle agents): once the
// customer answers, the machine asks the site for an idle agent (`seek_agent`), and again every
// `agentAtAnswer.retryMs` while none is free, until the same connect deadline; the agent found is
// rung as a reserved one would be. The customer who never answers never costs an agent.
//
// Once connected, a new offer from either leg (the agent's hold and resume) is relayed to the
// other by re-INVITE; one that comes before is refused.
//
// Timers are effects with ids; a timer whose id is not the one the state waits for is stale and
// changes nothing, as does any input a phase does not expect (a late reply after the outcome).
// Every leg change is one `transition` effect ("old → new"), which logs and traces use.

import type { DialOrder, DialOutcome } from './port.js';

/** A leg's SIP state (RFC 3261 dialog states, plus idle before its INVITE). */
export type LegState = 'idle' | 'trying' | 'early' | 'confirmed' | 'terminated';
export type LegName = 'agent' | 'customer';
export type TimerId =
  'agent_ring' | 'customer_ring' | 'connect_deadline' | 'message_guard' | 'seek_retry';

export interface OutboundSettings {
  readonly order: DialOrder;
  /** How long the customer's phone may ring (the request's ringTimeoutMs). */
  readonly customerRingMs: number;
  /** How long the reserved agent's phone may ring (agent-first). */
  readonly agentRingMs: number;
  /** Customer-first: how soon after the customer answers an agent must be with them. */
  readonly connectDeadlineMs: number;
  /** The longest the recorded message may take before the customer is hung up anyway. */
  readonly messageGuardMs: number;
  /**
   * Customer-first only: no agent is reserved; one is sought when the customer answers, again
   * every `retryMs` while none is free, until the connect deadline.
   */
  readonly agentAtAnswer?: { readonly retryMs: number };
}

export type Phase =
  | 'ringing_agent'
  | 'ringing_customer'
  /** Customer-first: the customer answered; the agent is being rung. */
  | 'awaiting_agent'
  /** Customer-first with no agent reserved: the customer answered; an idle agent is sought. */
  | 'seeking_agent'
  /** Customer-first: the agent answered; the customer is being re-INVITEd with its offer. */
  | 'bridging'
  /** The customer hears the recorded message before being hung up. */
  | 'message'
  | 'connected'
  | 'done';

export interface OutboundState {
  readonly settings: OutboundSettings;
  readonly phase: Phase;
  readonly agent: LegState;
  readonly customer: LegState;
  readonly customerAnsweredMs?: number;
  /** The outcome, once decided (the attempt's promise resolves with it). */
  readonly outcome?: DialOutcome;
}

export type OutboundInput =
  | { readonly kind: 'start' }
  | { readonly kind: 'provisional'; readonly leg: LegName }
  | { readonly kind: 'answered'; readonly leg: LegName }
  /** The leg's INVITE got a final failure (`code` its status, 0 for none: transport, timeout). */
  | { readonly kind: 'failed'; readonly leg: LegName; readonly code: number }
  /** A confirmed leg ended (BYE from it or lost). */
  | { readonly kind: 'hung_up'; readonly leg: LegName }
  | { readonly kind: 'timer'; readonly id: TimerId }
  /** Customer-first: the customer's re-INVITE with the agent's offer was answered (or not). */
  | { readonly kind: 'bridged'; readonly ok: boolean }
  /** The recorded message finished playing, or could not play. */
  | { readonly kind: 'message_done' }
  /** The site's answer to `seek_agent`: an agent was taken for this attempt, or none is free. */
  | { readonly kind: 'agent_sought'; readonly found: boolean }
  /** A leg sent a new offer in its dialog (hold, resume, a session refresh). */
  | { readonly kind: 'reoffer'; readonly from: LegName }
  /** The requester gave up (shutdown, campaign stopped). */
  | { readonly kind: 'abort' };

export type OutboundEffect =
  | {
      readonly kind: 'transition';
      readonly leg: LegName;
      readonly from: LegState;
      readonly to: LegState;
    }
  /** INVITE the agent with no offer (agent-first, and customer-first once the customer answered). */
  | { readonly kind: 'invite_agent' }
  /** INVITE the customer: with the agent's offer (agent-first) or a placeholder (customer-first). */
  | { readonly kind: 'invite_customer'; readonly offer: 'agent' | 'placeholder' }
  /** Re-INVITE the customer with the agent's offer; its answer completes the agent's ACK. */
  | { readonly kind: 'bridge' }
  /** CANCEL a leg still ringing, or BYE a confirmed one (the adapter knows which applies). */
  | { readonly kind: 'release'; readonly leg: LegName }
  | { readonly kind: 'play_message' }
  /**
   * Ask the site for an idle agent of the attempt's tenant and skill now (its answer comes back
   * as `agent_sought`). Always a step's last effect.
   */
  | { readonly kind: 'seek_agent' }
  | { readonly kind: 'start_timer'; readonly id: TimerId; readonly ms: number }
  | { readonly kind: 'cancel_timer'; readonly id: TimerId }
  | { readonly kind: 'outcome'; readonly outcome: DialOutcome }
  /** The connected call ended: one leg hung up and the other is released. */
  | { readonly kind: 'ended'; readonly by: LegName }
  /** Offer the other leg what `from` offered (re-INVITE); its answer answers `from`. */
  | { readonly kind: 'relay_offer'; readonly from: LegName; readonly to: LegName }
  /** Refuse `leg`'s new offer (488): the call goes on as it was. */
  | { readonly kind: 'refuse_offer'; readonly leg: LegName };

export interface OutboundStep {
  readonly state: OutboundState;
  readonly effects: readonly OutboundEffect[];
}

/** A new attempt, before its `start` input. */
export function initialOutbound(settings: OutboundSettings): OutboundState {
  if (settings.agentAtAnswer && settings.order !== 'customer_first')
    throw new RangeError('an agent taken at answer needs customer-first dialing');
  if (settings.agentAtAnswer && !(settings.agentAtAnswer.retryMs > 0))
    throw new RangeError('agentAtAnswer.retryMs must be positive');
  return {
    settings,
    phase: settings.order === 'agent_first' ? 'ringing_agent' : 'ringing_customer',
    agent: 'idle',
    customer: 'idle',
  };
}

/** Busy is 486 and 600; no answer is 408, 480 and 487 (the dialer's own CANCEL); others fail. */
export function customerFailure(code: number): DialOutcome {
  if (code === 486 || code === 600) return { kind: 'busy' };
  if (code === 408 || code === 480 || code === 487) return { kind: 'no_answer' };
  return { kind: 'failed', reason: code === 0 ? 'customer leg lost' : `customer leg ${code}` };
}

/** The attempt's next state and its effects, in the order the adapter must carry them out. */
export function stepOutbound(
  state: OutboundState,
  input: OutboundInput,
  nowMs: number,
): OutboundStep {
  const b = new Builder(state);
  const s = state.settings;
  const { phase } = state;
  if (phase === 'done') return b.done();

  switch (input.kind) {
    case 'start':
      if (state.agent !== 'idle' || state.customer !== 'idle') return b.done();
      if (phase === 'ringing_agent') {
        b.leg('agent', 'trying').emit({ kind: 'invite_agent' });
        b.emit({ kind: 'start_timer', id: 'agent_ring', ms: s.agentRingMs });
      } else {
        b.leg('customer', 'trying').emit({ kind: 'invite_customer', offer: 'placeholder' });
        b.emit({ kind: 'start_timer', id: 'customer_ring', ms: s.customerRingMs });
      }
      return b.done();

    case 'provisional':
      if (state[input.leg] === 'trying') b.leg(input.leg, 'early');
      return b.done();

    case 'answered':
      return answered(b, state, input.leg, nowMs);

    case 'failed':
      return failed(b, state, input.leg, input.code);

    case 'hung_up':
      return hungUp(b, state, input.leg);

    case 'timer':
      return timer(b, state, input.id);

    case 'bridged':
      if (phase !== 'bridging') return b.done();
      if (input.ok)
        return b.finish(
          { kind: 'connected', answeredAtMs: state.customerAnsweredMs! },
          'connected',
        );
      return b
        .release('agent')
        .release('customer')
        .finish({ kind: 'failed', reason: 'bridge refused' });

    case 'agent_sought':
      if (phase !== 'seeking_agent') return b.done();
      if (!input.found)
        return b
          .emit({ kind: 'start_timer', id: 'seek_retry', ms: s.agentAtAnswer!.retryMs })
          .done();
      b.leg('agent', 'trying').emit({ kind: 'invite_agent' });
      return b.to('awaiting_agent');

    case 'message_done':
      if (phase !== 'message') return b.done();
      b.emit({ kind: 'cancel_timer', id: 'message_guard' }).release('customer');
      return b.finish({ kind: 'abandoned', answeredAtMs: state.customerAnsweredMs! });

    case 'reoffer': {
      // Once connected, a leg's new offer (hold, resume) goes to the other leg (the legs are one
      // call); before, nothing may change what the bridge is being built on.
      const to: LegName = input.from === 'agent' ? 'customer' : 'agent';
      if (phase === 'connected' && state[input.from] === 'confirmed' && state[to] === 'confirmed')
        return b.emit({ kind: 'relay_offer', from: input.from, to }).done();
      return b.emit({ kind: 'refuse_offer', leg: input.from }).done();
    }

    case 'abort':
      if (phase === 'connected') return b.done();
      b.cancelAllTimers().release('agent').release('customer');
      return b.finish({ kind: 'failed', reason: 'aborted' });
  }
}

function answered(b: Builder, state: OutboundState, leg: LegName, nowMs: number): OutboundStep {
  const s = state.settings;
  if (state[leg] !== 'trying' && state[leg] !== 'early') return b.done();
  b.leg(leg, 'confirmed');
  if (leg === 'agent' && state.phase === 'ringing_agent') {
    b.emit({ kind: 'cancel_timer', id: 'agent_ring' });
    b.leg('customer', 'trying').emit({ kind: 'invite_customer', offer: 'agent' });
    b.emit({ kind: 'start_timer', id: 'customer_ring', ms: s.customerRingMs });
    return b.to('ringing_customer');
  }
  if (leg === 'customer' && state.phase === 'ringing_customer') {
    b.emit({ kind: 'cancel_timer', id: 'customer_ring' });
    if (s.order === 'agent_first')
      return b.finish({ kind: 'connected', answeredAtMs: nowMs }, 'connected');
    b.set({ customerAnsweredMs: nowMs });
    if (s.agentAtAnswer) {
      b.emit({ kind: 'start_timer', id: 'connect_deadline', ms: s.connectDeadlineMs });
      return b.emit({ kind: 'seek_agent' }).to('seeking_agent');
    }
    b.leg('agent', 'trying').emit({ kind: 'invite_agent' });
    b.emit({ kind: 'start_timer', id: 'connect_deadline', ms: s.connectDeadlineMs });
    return b.to('awaiting_agent');
  }
  if (leg === 'agent' && state.phase === 'awaiting_agent') {
    b.emit({ kind: 'cancel_timer', id: 'connect_deadline' }).emit({ kind: 'bridge' });
    return b.to('bridging');
  }
  // an answer the phase no longer wants (the agent after the deadline): release it
  return b.release(leg).done();
}

function failed(b: Builder, state: OutboundState, leg: LegName, code: number): OutboundStep {
  if (state[leg] !== 'trying' && state[leg] !== 'early') return b.done();
  b.leg(leg, 'terminated');
  if (leg === 'agent' && state.phase === 'ringing_agent') {
    b.emit({ kind: 'cancel_timer', id: 'agent_ring' });
    return b.finish({ kind: 'agent_no_answer' });
  }
  if (leg === 'customer' && state.phase === 'ringing_customer') {
    b.emit({ kind: 'cancel_timer', id: 'customer_ring' }).release('agent');
    return b.finish(customerFailure(code));
  }
  if (leg === 'agent' && state.phase === 'awaiting_agent') {
    // no agent now: the customer hears the message at once rather than waiting out the deadline
    b.emit({ kind: 'cancel_timer', id: 'connect_deadline' });
    return startMessage(b, state);
  }
  return b.done();
}

function hungUp(b: Builder, state: OutboundState, leg: LegName): OutboundStep {
  if (state[leg] !== 'confirmed') return b.done();
  b.leg(leg, 'terminated');
  const other: LegName = leg === 'agent' ? 'customer' : 'agent';
  switch (state.phase) {
    case 'connected':
      return b.release(other).emit({ kind: 'ended', by: leg }).to('done');
    case 'ringing_customer':
      // the agent gave up while the customer rang (agent-first)
      b.emit({ kind: 'cancel_timer', id: 'customer_ring' }).release('customer');
      return b.finish({ kind: 'failed', reason: 'agent hung up' });
    case 'awaiting_agent':
    case 'seeking_agent':
    case 'bridging':
    case 'message':
      if (leg === 'customer') {
        b.cancelAllTimers().release('agent');
        return b.finish({ kind: 'abandoned', answeredAtMs: state.customerAnsweredMs! });
      }
      // the agent left before the bridge completed
      if (state.phase === 'bridging') {
        b.release('customer');
        return b.finish({ kind: 'failed', reason: 'agent hung up' });
      }
      return b.done();
    default:
      return b.done();
  }
}

function timer(b: Builder, state: OutboundState, id: TimerId): OutboundStep {
  if (!TIMERS_OF_PHASE[state.phase]?.includes(id)) return b.done();
  switch (id) {
    case 'agent_ring':
      b.release('agent');
      return b.finish({ kind: 'agent_no_answer' });
    case 'customer_ring':
      b.release('customer').release('agent');
      return b.finish({ kind: 'no_answer' });
    case 'connect_deadline':
      // no agent was found in time (the retry stops), or the one found did not answer in time
      if (state.phase === 'seeking_agent') b.emit({ kind: 'cancel_timer', id: 'seek_retry' });
      b.release('agent');
      return startMessage(b, state);
    case 'seek_retry':
      return b.emit({ kind: 'seek_agent' }).done();
    case 'message_guard':
      b.release('customer');
      return b.finish({ kind: 'abandoned', answeredAtMs: state.customerAnsweredMs! });
  }
}

function startMessage(b: Builder, state: OutboundState): OutboundStep {
  b.emit({ kind: 'play_message' });
  b.emit({ kind: 'start_timer', id: 'message_guard', ms: state.settings.messageGuardMs });
  return b.to('message');
}

/** The timers a phase may have running; any other firing is stale. */
const TIMERS_OF_PHASE: Partial<Record<Phase, readonly TimerId[]>> = {
  ringing_agent: ['agent_ring'],
  ringing_customer: ['customer_ring'],
  awaiting_agent: ['connect_deadline'],
  seeking_agent: ['connect_deadline', 'seek_retry'],
  message: ['message_guard'],
};

/** Accumulates one step's state changes and effects in order. */
class Builder {
  private state: OutboundState;
  private readonly effects: OutboundEffect[] = [];

  constructor(state: OutboundState) {
    this.state = state;
  }

  emit(effect: OutboundEffect): this {
    this.effects.push(effect);
    return this;
  }

  set(patch: Partial<OutboundState>): this {
    this.state = { ...this.state, ...patch };
    return this;
  }

  leg(leg: LegName, to: LegState): this {
    const from = this.state[leg];
    if (from === to) return this;
    this.emit({ kind: 'transition', leg, from, to });
    return this.set({ [leg]: to } as Partial<OutboundState>);
  }

  /** Ends a leg that is ringing (CANCEL) or up (BYE); a leg not placed or already gone is left. */
  release(leg: LegName): this {
    const st = this.state[leg];
    if (st === 'idle' || st === 'terminated') return this;
    this.emit({ kind: 'release', leg });
    return this.leg(leg, 'terminated');
  }

  cancelAllTimers(): this {
    for (const id of TIMERS_OF_PHASE[this.state.phase] ?? [])
      this.emit({ kind: 'cancel_timer', id });
    return this;
  }

  to(phase: Phase): OutboundStep {
    this.set({ phase });
    return this.done();
  }

  finish(outcome: DialOutcome, phase: Phase = 'done'): OutboundStep {
    this.set({ outcome });
    this.emit({ kind: 'outcome', outcome });
    return this.to(phase);
  }

  done(): OutboundStep {
    return { state: this.state, effects: this.effects };
  }
}
