// Agent states and the transitions an ACD allows between them. Pure: no clock, no I/O.

export type AgentStateName =
  'logged_out' | 'ready' | 'not_ready' | 'reserved' | 'on_call' | 'wrap_up';

export type AgentState =
  | { readonly name: 'logged_out' }
  | { readonly name: 'ready' }
  | { readonly name: 'not_ready'; readonly reason: string }
  /** Chosen for a call; the agent's phone is ringing. */
  | { readonly name: 'reserved'; readonly callId: string }
  | { readonly name: 'on_call'; readonly callId: string }
  /** After-call work until `until` (epoch ms). */
  | { readonly name: 'wrap_up'; readonly callId: string; readonly until: number };

/** What can happen to an agent, from the agent's own desk or from the call flow. */
export type AgentAction =
  | { readonly type: 'login' }
  | { readonly type: 'ready' }
  | { readonly type: 'not_ready'; readonly reason: string }
  | { readonly type: 'logout' }
  | { readonly type: 'reserve'; readonly callId: string }
  | { readonly type: 'answer'; readonly callId: string }
  /** The ringing phone was not answered or refused the call (RONA). */
  | { readonly type: 'ring_failed'; readonly callId: string }
  /** The caller hung up while the agent's phone was ringing. */
  | { readonly type: 'caller_gone'; readonly callId: string }
  | { readonly type: 'hang_up'; readonly callId: string; readonly wrapUpUntil: number }
  | { readonly type: 'wrap_up_done'; readonly callId: string };

/** A transition the state machine refuses; the message says from what, by what, and why. */
export class IllegalTransitionError extends Error {
  constructor(
    readonly agentId: string,
    readonly from: AgentStateName,
    readonly action: AgentAction['type'],
    detail: string,
  ) {
    super(
      `agent ${agentId}: cannot ${action.replace('_', '-')} while ${from.replace('_', '-')}: ${detail}`,
    );
    this.name = 'IllegalTransitionError';
  }
}

/** What a not-ready reason code looks like; the control API checks requests against it too. */
export const REASON_CODE_PATTERN = /^[a-z0-9_-]{1,32}$/;
export const REASON_CODE_RULE = '1-32 lowercase letters, digits, - or _';

/** The reason code an agent gets after not answering an offered call (ring-no-answer). */
export const RONA_REASON = 'rona';

/**
 * The state after `action` (`from` itself when nothing changes), or IllegalTransitionError. Promises: an agent is never on two calls,
 * never logs out with a call, and a call id must match the call the agent holds.
 */
export function transition(agentId: string, from: AgentState, action: AgentAction): AgentState {
  const refuse = (detail: string): never => {
    throw new IllegalTransitionError(agentId, from.name, action.type, detail);
  };
  const sameCall = (callId: string) => {
    if ('callId' in from && from.callId !== callId) {
      refuse(`the agent holds call ${from.callId}, not ${callId}`);
    }
  };
  switch (action.type) {
    case 'login':
      if (from.name !== 'logged_out') refuse('already logged in');
      return { name: 'not_ready', reason: 'login' };
    case 'ready':
      if (from.name === 'ready') return from; // no change
      if (from.name === 'not_ready') return { name: 'ready' };
      if (from.name === 'logged_out') refuse('log in first');
      return refuse('finish the call first; the agent becomes ready after wrap-up');
    case 'not_ready':
      if (!action.reason || !REASON_CODE_PATTERN.test(action.reason)) {
        refuse(`a reason code of ${REASON_CODE_RULE} is required`);
      }
      if (from.name === 'not_ready' && from.reason === action.reason) return from; // no change
      if (from.name === 'ready' || from.name === 'not_ready')
        return { name: 'not_ready', reason: action.reason };
      if (from.name === 'logged_out') refuse('log in first');
      return refuse('the agent is handling a call; request not-ready for after wrap-up instead');
    case 'logout':
      if (from.name === 'ready' || from.name === 'not_ready') return { name: 'logged_out' };
      if (from.name === 'logged_out') refuse('not logged in');
      return refuse('the agent is handling a call');
    case 'reserve':
      if (from.name !== 'ready') refuse('only a ready agent can be offered a call');
      return { name: 'reserved', callId: action.callId };
    case 'answer':
      if (from.name !== 'reserved') refuse('no call is ringing at this agent');
      sameCall(action.callId);
      return { name: 'on_call', callId: action.callId };
    case 'ring_failed':
      if (from.name !== 'reserved') refuse('no call is ringing at this agent');
      sameCall(action.callId);
      return { name: 'not_ready', reason: RONA_REASON };
    case 'caller_gone':
      if (from.name !== 'reserved') refuse('no call is ringing at this agent');
      sameCall(action.callId);
      return { name: 'ready' };
    case 'hang_up':
      if (from.name !== 'on_call') refuse('the agent is not on a call');
      sameCall(action.callId);
      return { name: 'wrap_up', callId: action.callId, until: action.wrapUpUntil };
    case 'wrap_up_done':
      if (from.name !== 'wrap_up') refuse('the agent is not in wrap-up');
      sameCall(action.callId);
      return { name: 'ready' };
  }
}
