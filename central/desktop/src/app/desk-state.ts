// What the agent's desk shows, as one pure reduction of what happened: the events the API pushes
// on the agent's stream (the offer with the customer's story, the agent's state, the call's
// answer and end) and what the softphone reports. The React components only render this state;
// every rule about what is on screen when lives here, where a unit test reaches it.

import type { OfferPush } from '@ccfed/api/desktop/desktop-feed';

/**
 * A call offered to this agent with the customer's story, as the API pushes it (the API's own
 * type: nothing of the server is bundled).
 */
export type Offer = OfferPush;

export type AgentStateName =
  'logged_out' | 'ready' | 'not_ready' | 'reserved' | 'on_call' | 'wrap_up';

/** The agent's state as its stream says it (the `state` event). */
export interface AgentStatus {
  readonly state: AgentStateName;
  readonly reasonCode: string | null;
  readonly callId: string | null;
  /** When the agent entered the state (ISO 8601). */
  readonly since: string;
}

/** The softphone's side of the current call. */
export type PhoneCall =
  | { readonly phase: 'ringing'; readonly callId: string }
  | {
      readonly phase: 'talking';
      readonly callId: string;
      readonly held: boolean;
      readonly muted: boolean;
    };

export interface DeskState {
  readonly registered: boolean;
  readonly status: AgentStatus;
  /** The call on screen: its story stays up through talk and wrap-up, until the next offer. */
  readonly offer: Offer | null;
  readonly phone: PhoneCall | null;
  /** The call whose wrap-up the agent still owes (set when the agent enters wrap-up). */
  readonly wrapUp: { readonly callId: string; readonly sinceMs: number } | null;
  /** The last thing that went wrong, for the banner; cleared by the next successful action. */
  readonly problem: string | null;
}

export type DeskEvent =
  | { readonly type: 'offer'; readonly offer: Offer }
  | { readonly type: 'state'; readonly status: AgentStatus }
  | { readonly type: 'registered'; readonly registered: boolean }
  | { readonly type: 'ringing'; readonly callId: string }
  | { readonly type: 'answered'; readonly callId: string }
  | { readonly type: 'held'; readonly held: boolean }
  | { readonly type: 'muted'; readonly muted: boolean }
  | { readonly type: 'hung_up'; readonly callId: string }
  | { readonly type: 'wrapped_up'; readonly callId: string }
  | { readonly type: 'problem'; readonly message: string | null };

export const INITIAL_DESK: DeskState = {
  registered: false,
  status: { state: 'logged_out', reasonCode: null, callId: null, since: '' },
  offer: null,
  phone: null,
  wrapUp: null,
  problem: null,
};

export function deskReducer(desk: DeskState, e: DeskEvent): DeskState {
  switch (e.type) {
    case 'offer':
      return { ...desk, offer: e.offer };
    case 'state': {
      const entersWrapUp = e.status.state === 'wrap_up' && e.status.callId !== null;
      return {
        ...desk,
        status: e.status,
        wrapUp: entersWrapUp
          ? { callId: e.status.callId!, sinceMs: Date.parse(e.status.since) }
          : e.status.state === 'wrap_up'
            ? desk.wrapUp
            : null,
        // The site ended the call (the caller hung up): the phone's call is over too.
        phone: e.status.state === 'wrap_up' || e.status.state === 'ready' ? null : desk.phone,
      };
    }
    case 'registered':
      return { ...desk, registered: e.registered };
    case 'ringing':
      return { ...desk, phone: { phase: 'ringing', callId: e.callId } };
    case 'answered':
      return {
        ...desk,
        phone: { phase: 'talking', callId: e.callId, held: false, muted: false },
        problem: null,
      };
    case 'held':
      return desk.phone?.phase === 'talking'
        ? { ...desk, phone: { ...desk.phone, held: e.held } }
        : desk;
    case 'muted':
      return desk.phone?.phase === 'talking'
        ? { ...desk, phone: { ...desk.phone, muted: e.muted } }
        : desk;
    case 'hung_up':
      return desk.phone?.callId === e.callId ? { ...desk, phone: null } : desk;
    case 'wrapped_up':
      return desk.wrapUp?.callId === e.callId ? { ...desk, wrapUp: null, problem: null } : desk;
    case 'problem':
      return { ...desk, problem: e.message };
  }
}

/** "m:ss" (or "h:mm:ss") of a duration, for time in state and the wrap-up timer. */
export function clock(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}
