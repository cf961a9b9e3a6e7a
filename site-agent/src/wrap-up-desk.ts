// The contract of an agent's wrap-up between the control API (grpc/wrap-up-rpc.ts) and the call
// flow, which knows which call each agent is wrapping up.
import type { WrapUpRecord } from './call/call-machine.js';

/** A wrap-up the call's state does not allow: the agent is not wrapping that call up (now). */
export class WrapUpError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WrapUpError';
  }
}

/** Ends an agent's wrap-up of `callId` with what it recorded; throws WrapUpError otherwise. */
export interface WrapUpDesk {
  completeWrapUp(agentId: string, callId: string, record: WrapUpRecord): void;
}
