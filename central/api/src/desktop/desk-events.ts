// What each agent's desktop is told, from the federation's events: its own state changes, the
// calls offered to it (with who is calling and, for an overflowed call, from where and why) and
// their answer and end. Pure: the Kafka feed (desktop-feed.ts) applies decoded events and carries
// out what comes back; the clock is the events' own. A call's context is learned from its call
// events (every event carries customer, tier and arrival) and kept until its wrap-up is done;
// an agent reserved for a call whose events have not arrived yet waits for them.
import {
  AgentState,
  CustomerTier,
  type AgentEvent,
  type CallEvent,
  type routing,
} from '@ccfed/proto';

/** What the site said about a call, enough for its screen pop. */
export interface CallContextLive {
  readonly callId: string;
  readonly tenantId: string;
  /** The site that offered the call to its ACD (where it will be answered). */
  readonly siteId: string;
  readonly skill: string;
  readonly tier: string;
  /** Empty when the caller is not known (no directory entry, no IVR id). */
  readonly customerId: string;
  /** When the caller first reached the federation (ms). */
  readonly arrivalMs: number;
  readonly overflow?: {
    readonly originSiteId: string;
    readonly decisionId: string;
  };
}

/** The router's word on a decision, from the route-decisions topic. */
export interface DecisionNote {
  readonly reason: string;
  readonly targetSiteId: string;
  readonly originExpectedWaitMs: number;
}

/** A call offered to an agent: everything the pop needs but the stored story. */
export interface Offer {
  readonly siteId: string;
  readonly agentId: string;
  readonly call: CallContextLive;
  /** When the site reserved the agent (the agent event's time, ms). */
  readonly reservedAtMs: number;
}

export type DeskPush =
  | { readonly kind: 'offer'; readonly offer: Offer }
  | {
      readonly kind: 'state';
      readonly siteId: string;
      readonly agentId: string;
      readonly data: {
        readonly state: string;
        readonly reasonCode: string | null;
        readonly callId: string | null;
        readonly since: string;
      };
    }
  | {
      readonly kind: 'call';
      readonly siteId: string;
      readonly agentId: string;
      readonly data: {
        readonly callId: string;
        readonly event: 'answered' | 'ended' | 'wrap_up_done';
        readonly at: string;
        readonly talkMs?: number;
        readonly waitMs?: number;
        readonly disposition?: string;
      };
    };

const STATE_NAMES: Partial<Record<AgentState, string>> = {
  [AgentState.AGENT_STATE_LOGGED_OUT]: 'logged_out',
  [AgentState.AGENT_STATE_READY]: 'ready',
  [AgentState.AGENT_STATE_NOT_READY]: 'not_ready',
  [AgentState.AGENT_STATE_RESERVED]: 'reserved',
  [AgentState.AGENT_STATE_ON_CALL]: 'on_call',
  [AgentState.AGENT_STATE_WRAP_UP]: 'wrap_up',
};

/** 'gold', 'vip', …; 'unknown' for an unset tier. */
export function tierName(tier: CustomerTier): string {
  const name = CustomerTier[tier];
  return name && tier !== CustomerTier.CUSTOMER_TIER_UNSPECIFIED
    ? name.replace(/^CUSTOMER_TIER_/, '').toLowerCase()
    : 'unknown';
}

/** How many calls' contexts are kept at most: a bound, not a working size. */
const MAX_CALLS = 50_000;
const MAX_DECISIONS = 50_000;
/** A reservation whose call events have not come within this long is dropped. */
const PENDING_MS = 5_000;

export class DeskEvents {
  private readonly calls = new Map<string, CallContextLive>();
  private readonly decisions = new Map<string, DecisionNote>();
  /** Reservations waiting for their call's first event, by call id. */
  private readonly pending = new Map<string, { siteId: string; agentId: string; atMs: number }>();
  /** Each agent's last state push, for a stream that opens later. */
  private readonly states = new Map<string, Extract<DeskPush, { kind: 'state' }>>();
  /** The call each agent is reserved for or handling, for a stream that opens meanwhile. */
  private readonly offers = new Map<string, Offer>();

  /** An agent event: its state push, and the offer when it reserves the agent for a call. */
  applyAgentEvent(event: AgentEvent): DeskPush[] {
    const siteId = event.meta?.siteId;
    const at = event.meta?.eventTime?.getTime();
    const state = STATE_NAMES[event.toState];
    if (!siteId || !event.agentId || at === undefined || !state) return [];
    const push: DeskPush = {
      kind: 'state',
      siteId,
      agentId: event.agentId,
      data: {
        state,
        reasonCode: event.reasonCode || null,
        callId: event.callId || null,
        since: new Date(at).toISOString(),
      },
    };
    const key = `${siteId}/${event.agentId}`;
    this.states.set(key, push);
    // Reserved, on the call, wrapping it up: the offer still stands; any other state ends it.
    if (!['reserved', 'on_call', 'wrap_up'].includes(state)) this.offers.delete(key);
    const out: DeskPush[] = [push];
    if (event.toState === AgentState.AGENT_STATE_RESERVED && event.callId) {
      const call = this.calls.get(event.callId);
      // Only the reserving site's own offer will do: an overflowed call's origin sent events
      // first, and Beijing's reservation may be read before Beijing's CallOffered.
      if (call && call.siteId === siteId) {
        const offer = { siteId, agentId: event.agentId, call, reservedAtMs: at };
        this.offers.set(key, offer);
        out.push({ kind: 'offer', offer });
      } else {
        this.pending.set(event.callId, { siteId, agentId: event.agentId, atMs: at });
        this.expirePending(at);
      }
    }
    return out;
  }

  /** A call event: learns the call's context; answer, end and wrap-up go to its agent. */
  applyCallEvent(event: CallEvent): DeskPush[] {
    const siteId = event.meta?.siteId;
    const at = event.meta?.eventTime?.getTime();
    const kind = event.kind;
    if (!siteId || !event.callId || at === undefined || !kind) return [];
    const out: DeskPush[] = [];
    const known = this.calls.get(event.callId);
    if (kind.$case === 'offered' || !known) {
      // The offering site's context wins: an overflowed call's origin sent events before its
      // target offered the call to its own ACD, and the target is where it is answered.
      const offered = kind.$case === 'offered' ? kind.value : undefined;
      this.remember({
        callId: event.callId,
        tenantId: event.meta?.tenantId ?? '',
        siteId,
        skill: event.skill || offered?.skill || '',
        tier: tierName(event.tier || offered?.tier || CustomerTier.CUSTOMER_TIER_UNSPECIFIED),
        customerId: event.customerId || offered?.customerId || '',
        arrivalMs: (event.arrivalTime ?? offered?.arrivalTime ?? event.meta!.eventTime!).getTime(),
        ...(offered?.overflowOriginSiteId && {
          overflow: {
            originSiteId: offered.overflowOriginSiteId,
            decisionId: offered.overflowDecisionId,
          },
        }),
      });
    } else if (kind.$case === 'overflowedIn' && known.siteId === siteId) {
      this.remember({
        ...known,
        overflow: { originSiteId: kind.value.originSiteId, decisionId: kind.value.decisionId },
      });
    }
    const waiting = this.pending.get(event.callId);
    const call = this.calls.get(event.callId);
    if (waiting && call && call.siteId === waiting.siteId) {
      this.pending.delete(event.callId);
      const offer = {
        siteId: waiting.siteId,
        agentId: waiting.agentId,
        call,
        reservedAtMs: waiting.atMs,
      };
      this.offers.set(`${offer.siteId}/${offer.agentId}`, offer);
      out.push({ kind: 'offer', offer });
    }
    const iso = new Date(at).toISOString();
    switch (kind.$case) {
      case 'answered':
        out.push({
          kind: 'call',
          siteId,
          agentId: kind.value.agentId,
          data: { callId: event.callId, event: 'answered', at: iso, waitMs: kind.value.waitMs },
        });
        break;
      case 'ended':
        out.push({
          kind: 'call',
          siteId,
          agentId: kind.value.agentId,
          data: { callId: event.callId, event: 'ended', at: iso, talkMs: kind.value.talkMs },
        });
        break;
      case 'wrapUpDone':
        out.push({
          kind: 'call',
          siteId,
          agentId: kind.value.agentId,
          data: {
            callId: event.callId,
            event: 'wrap_up_done',
            at: iso,
            disposition: kind.value.disposition,
          },
        });
        this.calls.delete(event.callId);
        break;
      case 'abandoned':
        this.calls.delete(event.callId);
        break;
      default:
        break;
    }
    return out;
  }

  /** Remembers the router's reason for a decision, for the pop of the call it moved. */
  applyDecision(decision: routing.RouteDecision): void {
    const id = decision.response?.decisionId;
    if (!id) return;
    this.decisions.set(id, {
      reason: decision.response?.reason ?? '',
      targetSiteId: decision.response?.targetSiteId ?? '',
      originExpectedWaitMs: decision.request?.originExpectedWaitMs ?? 0,
    });
    if (this.decisions.size > MAX_DECISIONS)
      this.decisions.delete(this.decisions.keys().next().value!);
  }

  decisionOf(decisionId: string): DecisionNote | undefined {
    return this.decisions.get(decisionId);
  }

  /** The offer the agent is reserved for or handling (until it is ready again), if any. */
  offerOf(siteId: string, agentId: string): Offer | undefined {
    return this.offers.get(`${siteId}/${agentId}`);
  }

  /** The agent's last known state push, if any. */
  stateOf(siteId: string, agentId: string): Extract<DeskPush, { kind: 'state' }> | undefined {
    return this.states.get(`${siteId}/${agentId}`);
  }

  private remember(call: CallContextLive): void {
    this.calls.delete(call.callId);
    this.calls.set(call.callId, call);
    if (this.calls.size > MAX_CALLS) this.calls.delete(this.calls.keys().next().value!);
  }

  private expirePending(nowMs: number): void {
    for (const [callId, p] of this.pending)
      if (nowMs - p.atMs > PENDING_MS) this.pending.delete(callId);
  }
}
