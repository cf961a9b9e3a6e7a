import { AgentState as AgentStateEnum, type AgentEvent, type EventMeta } from '@ccfed/proto';
import type { AgentChange } from '../acd/acd.js';
import type { AgentState } from '../acd/agent-state.js';

const STATE_ENUM: Record<AgentState['name'], AgentStateEnum> = {
  logged_out: AgentStateEnum.AGENT_STATE_LOGGED_OUT,
  ready: AgentStateEnum.AGENT_STATE_READY,
  not_ready: AgentStateEnum.AGENT_STATE_NOT_READY,
  reserved: AgentStateEnum.AGENT_STATE_RESERVED,
  on_call: AgentStateEnum.AGENT_STATE_ON_CALL,
  wrap_up: AgentStateEnum.AGENT_STATE_WRAP_UP,
};

/** The protobuf enum of an ACD agent state. */
export function agentStateEnum(state: AgentState): AgentStateEnum {
  return STATE_ENUM[state.name];
}

/**
 * The AgentEvent of one ACD state change: the call it concerns, the reason of a not-ready, and
 * since when the agent was in the state it leaves (epoch ms; 0 = unknown, e.g. at login).
 */
export function agentEventOf(change: AgentChange, meta: EventMeta, fromSinceMs = 0): AgentEvent {
  const callId =
    'callId' in change.to ? change.to.callId : 'callId' in change.from ? change.from.callId : '';
  return {
    meta,
    agentId: change.agentId,
    fromState: agentStateEnum(change.from),
    toState: agentStateEnum(change.to),
    reasonCode: change.to.name === 'not_ready' ? change.to.reason : '',
    fromReasonCode: change.from.name === 'not_ready' ? change.from.reason : '',
    callId,
    fromStateSince:
      fromSinceMs > 0 && change.from.name !== 'logged_out' ? new Date(fromSinceMs) : undefined,
  };
}
