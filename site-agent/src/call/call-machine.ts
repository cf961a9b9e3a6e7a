// A call's life at one site, as one pure state machine: `step(state, input, now)` gives the
// call's next state and the effects the adapters carry out, in order (site-agent/src/call-flow.ts
// carries them out against Kamailio, the ACD, the event outbox and the call's span). Nothing here
// does I/O or reads a clock; the routing simulator and the tests drive it with plain values.
//
// A call has legs, each with the standard SIP states (trying, early, confirmed, terminated):
// the caller's (the INVITE Kamailio holds suspended), the agent's (its relay to an agent's phone)
// and the peer's (its relay to another site). Every change of a leg's state is one `transition`
// effect, which tracing and the logs use. Which inputs a phase accepts is written once here:
// an input that does not apply to the phase (a late answer for a call already gone, a second
// CANCEL) changes nothing and produces no effect.
//
// Recording: the tenant's policy decides at admission whether the call is recorded (`record`);
// recording starts at the agent's answer and stops at the hang-up, at the site where the
// conversation happens (an overflowed call is recorded by the site that answers it, never by the
// origin). Pause and resume (PCI) apply to a call being recorded. The recorder (recording/
// recorder.ts) carries the effects out against rtpengine, whatever anchored the call's media.
// What the caller hears while queued is the queue experience (queue-media.ts), which this machine
// starts, pauses and ends with the call's phases; its plays and timers carry ids, and their results
// come back as inputs (media_result, timer, announcement) that a stale id leaves without effect.
//
// Transfer (docs/transfer.md): a talking call is blind-transferred by a `transfer` input: Kamailio
// REFERs the caller to a transfer URI and BYEs the agent, who goes to wrap-up; the call publishes
// CallTransferred (and CallEnded for the agent's handling) and leaves. The caller's new INVITE is
// a new call here whose context carries `transfer`: queued here (arrive), or relayed at once to
// the target site like an overflow (arriveToTransfer). Its service-level wait counts from the
// transfer (queueEntryMs); its events keep the caller's original arrival.

import { CallParty, ComplaintSeverity, type CallEvent } from '@ccfed/proto';
import type { Site, Topology } from '@ccfed/topology';
import { callbackReply } from '@ccfed/services/media/announcement';
import type { CallContext } from '../call-context.js';
import {
  progressReply,
  queuedReply,
  type KamailioCommand,
  type TransactionRef,
} from '../kamailio/messages.js';
import { overflowRelay } from '../overflow/sip-overflow.js';
import {
  agentRinging,
  announce,
  endMedia,
  enterQueue,
  mediaResult,
  farewell,
  mediaTimer,
  pauseMedia,
  say,
  queueMedia,
  resumeQueue,
  type MediaEffect,
  type MediaStep,
  type QueueMedia,
  type QueueMediaSettings,
} from './queue-media.js';

/** A leg's SIP state (RFC 3261 dialog states, plus trying before any reply). */
export type LegState = 'trying' | 'early' | 'confirmed' | 'terminated';
export type LegName = 'caller' | 'agent' | 'peer';

/** Where the call is in its life at this site. */
export type CallPhase =
  /** Waiting in the ACD's queue; the caller's INVITE is suspended. */
  | { readonly name: 'queued' }
  /**
   * Out of the ACD's queue since the site booked the caller's callback (which keeps their place):
   * they hear it confirmed, then the site ends the call. The INVITE is still suspended.
   */
  | { readonly name: 'callback_booked' }
  /** Relayed to an agent's phone, not yet answered. `cancelled`: the caller sent CANCEL meanwhile. */
  | { readonly name: 'ringing'; readonly agentId: string; readonly cancelled: boolean }
  /** Answered by the agent. */
  | {
      readonly name: 'talking';
      readonly agentId: string;
      readonly answeredMs: number;
      readonly waitedMs: number;
      /** The agent's side's SIP tag (a transfer's REFER and BYE name the dialog by it). */
      readonly agentTag: string;
    }
  /** Relayed to another site on the router's decision; that site answers or refuses it. */
  | { readonly name: 'overflowing'; readonly targetSiteId: string; readonly decisionId: string }
  /**
   * Hung up; the agent does the call's after-call work. `recorded`: what the agent submitted
   * (the WrapUpDone event carries it); absent while nothing was, and when the time ran out.
   */
  | {
      readonly name: 'wrap_up';
      readonly agentId: string;
      readonly sinceMs: number;
      readonly recorded?: WrapUpRecord;
    }
  /** Gone from this site. */
  | { readonly name: 'done' };

/** What an agent records of a call at wrap-up (AgentControl.CompleteWrapUp, checked there). */
export interface WrapUpRecord {
  /** One of the topology's disposition codes. */
  readonly disposition: string;
  readonly resolvedFirstContact: boolean;
  /** ComplaintSeverity: 1 none, 2 minor, 3 major, 4 critical. */
  readonly complaintSeverity: ComplaintSeverity;
  readonly note: string;
}

/**
 * Where the call's recording stands: `off` (the policy does not record it), `planned` (it will
 * start at the agent's answer), then recording, paused (by whom), stopped.
 */
export type CallRecording =
  | { readonly state: 'off' }
  | { readonly state: 'planned' }
  | { readonly state: 'recording' }
  | { readonly state: 'paused'; readonly by: string }
  | { readonly state: 'stopped' };

/** How a call left this site, for its span and the calls counter. */
export type CallOutcome =
  | 'answered'
  | 'abandoned'
  | 'overflowed'
  | 'transferred'
  | 'refused'
  | 'site_agent_stopped'
  /** The caller chose a callback: a virtual entry keeps their place (docs/callbacks.md). */
  | 'callback';

export interface CallState {
  readonly callId: string;
  readonly context: CallContext;
  /** Keyed hash of the caller's number ('' without a hash key): never the number itself. */
  readonly callerHash: string;
  readonly dialedNumber: string;
  /** The caller's From tag: rtpengine's name for the caller, whom prompts are played to. */
  readonly fromTag: string;
  readonly cseq: number;
  /**
   * The caller's phone said it takes REFER (its INVITE's Allow): only then may the call be
   * blind-transferred, since Kamailio's dialog module ends the caller's dialog whatever the
   * REFER's answer (docs/transfer.md).
   */
  readonly acceptsRefer: boolean;
  /** The suspended INVITE's transaction; renewed when Kamailio suspends it again. */
  readonly transaction: Required<TransactionRef>;
  readonly phase: CallPhase;
  readonly legs: Readonly<Partial<Record<LegName, LegState>>>;
  /** Offered to another site once already (refused): a call moves at most once. */
  readonly overflowTried: boolean;
  /** The skill's service-level thresholds, which the answered and abandoned events carry. */
  readonly serviceLevel: { readonly thresholdMs: number; readonly shortAbandonMs: number };
  readonly recording: CallRecording;
  /** What the caller hears while queued here. */
  readonly media: QueueMedia;
  /**
   * The skill offers callbacks once the announced wait reaches offerAfterMs (topology
   * skills[].callback); `offered` once the caller has heard "press 1". Absent: never offered.
   */
  readonly callback?: { readonly offerAfterMs: number; readonly offered: boolean };
  /**
   * A call another site sent here (overflow, or a transfer): how often this site tells that
   * site it still has the call while the call queues here (`100 Queued`, sip-overflow.ts's
   * peerSilenceMs). Absent for a call that arrived here first.
   */
  readonly peerProgressMs?: number;
}

/** Everything that can happen to a call, from Kamailio, the ACD, the router or the site. */
export type CallInput =
  /** The ACD queued the call (on arrival, or back after a failed ring or overflow). */
  | { readonly type: 'queued'; readonly position: number; readonly expectedWaitMs: number }
  /**
   * The ACD chose an agent; ring their phone at `uri`. `relayed`: Kamailio already did (a
   * restarted site agent found the call ringing that agent, site-state.ts).
   */
  | {
      readonly type: 'assigned';
      readonly agentId: string;
      readonly uri: string;
      readonly relayed?: boolean;
    }
  /** The caller sent CANCEL. */
  | { readonly type: 'cancel' }
  /** Kamailio's queue timeout: it answered the INVITE with the fallback. */
  | { readonly type: 'queue_timeout' }
  /**
   * The relayed branch failed (agent's phone, or the peer site refused). With `requeued`, Kamailio
   * suspended the INVITE again under a new transaction; without, the caller got the failure.
   */
  | {
      readonly type: 'branch_failed';
      readonly code: number;
      readonly requeued?: { readonly tindex: number; readonly tlabel: number };
    }
  /** The dialog is confirmed; `agentTag` is the answering side's tag. */
  | { readonly type: 'answered'; readonly agentTag?: string }
  /**
   * Blind-transfer the talking call to `skill` at `targetSiteId`: the caller is REFERred to
   * `referTo` (a transfer URI carrying the token that restores the call's context); `by` names
   * who asked.
   */
  | {
      readonly type: 'transfer';
      readonly targetSiteId: string;
      readonly skill: string;
      readonly referTo: string;
      readonly by: string;
    }
  /** The dialog ended: `by` is Kamailio's word (caller, callee, timeout). */
  | { readonly type: 'ended'; readonly by: string }
  /** The dialog failed without an answer. */
  | { readonly type: 'failed'; readonly code?: number }
  /** Kamailio could not carry out a relay (the transaction had ended). */
  | { readonly type: 'relay_failed' }
  /** The call asks the router for a better site. */
  | {
      readonly type: 'overflow_requested';
      readonly expectedWaitMs: number;
      readonly thresholdMs: number;
    }
  /**
   * The router says: move the call to `target`, over the link the topology sets between the two
   * sites, its context signed with `signingKey` (the federation key in force).
   */
  | {
      readonly type: 'move_out';
      readonly target: Site;
      readonly decisionId: string;
      readonly topology: Topology;
      readonly signingKey: Buffer;
    }
  /** The evapi link dropped: Kamailio sent every suspended INVITE to the fallback. */
  | { readonly type: 'link_lost' }
  /** The agent's after-call work for this call is over. */
  | { readonly type: 'wrap_up_done' }
  /** The agent submitted its wrap-up (the ACD then ends it: wrap_up_done follows). */
  | { readonly type: 'wrap_up_recorded'; readonly agentId: string; readonly record: WrapUpRecord }
  /** The site agent stops; the call stays with Kamailio. */
  | { readonly type: 'stop' }
  /** A restarted site agent took the call up from its site state (site-state.ts). */
  | { readonly type: 'resumed' }
  /** Pause the call's recording (a card number is read out); `by` names who asked. */
  | { readonly type: 'pause_recording'; readonly by: string }
  | { readonly type: 'resume_recording'; readonly by: string }
  /** Kamailio carried out (ok) or could not carry out a media action; `durationMs` of a play. */
  | {
      readonly type: 'media_result';
      readonly id: string;
      readonly ok: boolean;
      readonly durationMs: number;
      readonly reason?: string;
    }
  /** A timer this machine started has fired. */
  | { readonly type: 'timer'; readonly id: string }
  /** The ACD's answer to an announcement request: where the call stands (none: not queued). */
  | { readonly type: 'announcement'; readonly position?: number; readonly waitMs?: number }
  /**
   * The site took a callback for this queued call (the caller pressed 1, or the API asked): its
   * entry holds the caller's place, the caller's call ends.
   */
  | { readonly type: 'callback_taken' }
  /** The site refused the callback the caller asked for (one is pending; a bad number). */
  | { readonly type: 'callback_refused'; readonly reason: string }
  /** rtpengine saw a party of the call press a key (RFC 4733); `sourceTag` names the party. */
  | {
      readonly type: 'dtmf';
      readonly digit: string;
      readonly sourceTag: string;
      readonly durationMs: number;
    };

/** What the adapters do for a call, in order. */
export type CallEffect =
  | {
      readonly type: 'transition';
      readonly leg: LegName;
      readonly from: LegState | 'none';
      readonly to: LegState;
    }
  /** A command to Kamailio about the call's suspended INVITE. */
  | { readonly type: 'kamailio'; readonly command: KamailioCommand }
  /** A call event to publish (the adapter adds the call's id, context and meta). */
  | { readonly type: 'publish'; readonly kind: NonNullable<CallEvent['kind']> }
  /**
   * Ask the ACD: offer the call (it answers with queued or an assignment), and the rest. The
   * ACD's own effects (agents' changes, other calls' assignments) are carried out after the
   * step's, in the order it gives them.
   */
  | {
      readonly type: 'acd';
      readonly op: 'offer' | 'answered' | 'ring_failed' | 'abandon' | 'hang_up' | 'withdraw';
    }
  /** The caller asked for a callback: the site takes it (callback_taken) or refuses it. */
  | { readonly type: 'callback'; readonly op: 'request' }
  /** Media actions on the call's rtpengine session, timers, the ACD's announcement. */
  | MediaEffect
  /** The site's service level today. */
  | { readonly type: 'day_stats'; readonly op: 'offered' | 'abandoned' }
  | { readonly type: 'day_stats'; readonly op: 'answered'; readonly waitedMs: number }
  | {
      readonly type: 'log';
      readonly level: 'info' | 'warn';
      readonly event: string;
      readonly message: string;
      readonly fields?: Readonly<Record<string, unknown>>;
    }
  /** The call has left this site: end its span with `outcome`. */
  | { readonly type: 'leave'; readonly outcome: CallOutcome }
  /** The call's recording: start it (the agent answered), pause, resume, stop. */
  | { readonly type: 'recording'; readonly op: 'start'; readonly agentId: string }
  | { readonly type: 'recording'; readonly op: 'pause' | 'resume'; readonly by: string }
  | {
      readonly type: 'recording';
      readonly op: 'stop';
      readonly reason: 'hang_up' | 'site_agent_stopped';
    };

export interface Step {
  readonly state: CallState;
  readonly effects: readonly CallEffect[];
}

const ENDED_BY: Record<string, CallParty> = {
  caller: CallParty.CALL_PARTY_CALLER,
  callee: CallParty.CALL_PARTY_AGENT,
  timeout: CallParty.CALL_PARTY_SYSTEM,
  // Kamailio hung up this site's side: the other site of the call stopped answering keepalives
  peer_silent: CallParty.CALL_PARTY_PEER_SITE_LOST,
};

/** A call admitted at this site, before the ACD has seen it. */
export function newCall(input: {
  readonly callId: string;
  readonly context: CallContext;
  readonly callerHash: string;
  readonly dialedNumber: string;
  readonly fromTag: string;
  readonly cseq: number;
  readonly transaction: Required<TransactionRef>;
  readonly serviceLevel: CallState['serviceLevel'];
  /** Whether the tenant's recording policy records this call (recordingDecision); default no. */
  readonly record?: boolean;
  readonly media: QueueMediaSettings;
  /** Whether the caller's phone takes REFER; default no. */
  readonly acceptsRefer?: boolean;
  /** Offer a callback once the announced wait reaches this (the skill's offerAfterSeconds). */
  readonly callbackOfferAfterMs?: number;
  /** A call from another site: refresh it there this often while it queues here. */
  readonly peerProgressMs?: number;
}): CallState {
  const { record, media, acceptsRefer, callbackOfferAfterMs, ...call } = input;
  return {
    ...call,
    ...(callbackOfferAfterMs === undefined
      ? {}
      : { callback: { offerAfterMs: callbackOfferAfterMs, offered: false } }),
    acceptsRefer: acceptsRefer ?? false,
    phase: { name: 'queued' },
    legs: {},
    overflowTried: false,
    recording: { state: record ? 'planned' : 'off' },
    media: queueMedia(media),
  };
}

/**
 * The first step of an admitted call: caller leg trying, offered (and overflowed-in when another
 * site sent it), then offered to the ACD.
 */
export function arrive(state: CallState): Step {
  const { context } = state;
  const fx = new Effects(state);
  fx.leg('caller', 'trying');
  fx.push({ type: 'day_stats', op: 'offered' });
  fx.push({
    type: 'publish',
    kind: {
      $case: 'offered',
      value: {
        dialedNumber: state.dialedNumber,
        skill: context.skill,
        tier: context.tier,
        customerId: context.customerId,
        callerHash: state.callerHash,
        arrivalTime: new Date(context.arrivalMs),
        requestedSkill: context.requestedSkill,
        overflowOriginSiteId: context.originSite,
        overflowDecisionId: context.originSite ? context.decisionId : '',
      },
    },
  });
  if (context.transfer)
    fx.push({
      type: 'publish',
      kind: {
        $case: 'transferredIn',
        value: {
          fromCallId: context.transfer.fromCallId,
          fromSiteId: context.transfer.fromSiteId,
          transferredAt: new Date(context.transfer.atMs),
        },
      },
    });
  // A transferred call may come from another site, but not by overflow.
  else if (context.originSite)
    fx.push({
      type: 'publish',
      kind: {
        $case: 'overflowedIn',
        value: {
          originSiteId: context.originSite,
          originalArrivalTime: new Date(context.arrivalMs),
          hopCount: context.hops,
          decisionId: context.decisionId,
        },
      },
    });
  fx.push({ type: 'acd', op: 'offer' });
  return fx.done();
}

/**
 * The first step of a transferred call's new INVITE at the site that transferred it, when the
 * target is another site: relayed there at once like an overflow (context in signed X-CC-*
 * headers), never offered to this site's ACD. It publishes nothing here: the transfer is the
 * original call's CallTransferred, and the target books the call. The 182 first gives the caller
 * early media from this site's rtpengine, which the target's queue then replaces (PEER_REPLY).
 */
export function arriveToTransfer(
  state: CallState,
  input: {
    readonly target: Site;
    readonly topology: Topology;
    readonly siteId: string;
    readonly signingKey: Buffer;
    readonly nowMs: number;
  },
): Step {
  const fx = new Effects(state);
  fx.leg('caller', 'trying');
  fx.push({
    type: 'kamailio',
    command: queuedReply({ callid: state.callId, cseq: state.cseq, ...state.transaction }),
  });
  fx.leg('caller', 'early');
  fx.set({ phase: { name: 'overflowing', targetSiteId: input.target.id, decisionId: TRANSFER } });
  fx.push({
    type: 'kamailio',
    command: overflowRelay({
      callId: state.callId,
      transaction: state.transaction,
      dialedNumber: state.dialedNumber,
      context: state.context,
      topology: input.topology,
      originSiteId: input.siteId,
      target: input.target,
      decisionId: TRANSFER,
      signingKey: input.signingKey,
      nowMs: input.nowMs,
    }),
  });
  fx.leg('peer', 'trying');
  fx.push({
    type: 'log',
    level: 'info',
    event: 'transfer_relayed',
    message: 'transferred call relayed to its target site',
    fields: { target: input.target.id, fromCallId: state.context.transfer?.fromCallId },
  });
  return fx.done();
}

/** The timer of a call from another site that refreshes it there (CallState.peerProgressMs). */
export const PEER_PROGRESS_TIMER = 'peer-progress';

/**
 * A call from another site, on its refresh timer: while it queues here (its INVITE suspended),
 * `100 Queued` tells the origin this site still has it, which restarts the origin's timer on the
 * branch; then the next refresh. Ringing an agent, the INVITE is relayed and cannot be replied
 * to: the refreshes stop, and start again when the call queues again (an agent rings for less
 * than the origin's limit). A call answered or gone stops refreshing.
 */
function peerProgress(state: CallState, fx: Effects): Step {
  const { phase, peerProgressMs } = state;
  if (peerProgressMs === undefined) return fx.done();
  if (phase.name !== 'queued') return fx.done();
  fx.push({
    type: 'kamailio',
    command: progressReply({ callid: state.callId, cseq: state.cseq, ...state.transaction }),
  });
  fx.push({ type: 'start_timer', id: PEER_PROGRESS_TIMER, afterMs: peerProgressMs });
  return fx.done();
}

/** The decision id a transfer's relay carries (no router decided it). */
const TRANSFER = 'transfer';

/**
 * When the call's wait for service-level counts from: its transfer for a transferred call (the
 * new queue's service level), else its first arrival in the federation.
 */
export function queueEntryMs(context: CallState['context']): number {
  return context.transfer?.atMs ?? context.arrivalMs;
}

/** The call's next state and effects for one input at `nowMs`; see the header for the rules. */
export function step(state: CallState, input: CallInput, nowMs: number, siteId: string): Step {
  const fx = new Effects(state);
  const { phase } = state;
  switch (input.type) {
    case 'queued': {
      if (phase.name !== 'queued') return fx.done();
      fx.push({
        type: 'kamailio',
        command: queuedReply({ callid: state.callId, cseq: state.cseq, ...state.transaction }),
      });
      fx.leg('caller', 'early');
      fx.push({
        type: 'publish',
        kind: {
          $case: 'queued',
          value: {
            skill: state.context.skill,
            position: input.position,
            expectedWaitMs: input.expectedWaitMs,
          },
        },
      });
      // Early media from the moment the call is queued (again).
      fx.media((m) => enterQueue(m, nowMs));
      if (state.peerProgressMs !== undefined)
        fx.push({ type: 'start_timer', id: PEER_PROGRESS_TIMER, afterMs: state.peerProgressMs });
      return fx.done();
    }
    case 'assigned': {
      if (phase.name !== 'queued') return fx.done();
      fx.set({ phase: { name: 'ringing', agentId: input.agentId, cancelled: false } });
      if (!input.relayed)
        fx.push({
          type: 'kamailio',
          command: {
            action: 'relay',
            ...state.transaction,
            callid: state.callId,
            agent: input.agentId,
            uri: input.uri,
          },
        });
      fx.leg('agent', 'trying');
      fx.media(agentRinging);
      fx.push({
        type: 'log',
        level: 'info',
        event: 'call_assigned',
        message: 'ringing agent',
        fields: { agentId: input.agentId, waitedMs: nowMs - state.context.arrivalMs },
      });
      return fx.done();
    }
    case 'cancel':
    case 'queue_timeout': {
      const byCaller = input.type === 'cancel';
      if (phase.name === 'overflowing') {
        // At the target site now, which records the abandon.
        fx.leg('peer', 'terminated');
        return fx.leave('overflowed');
      }
      // Their callback is booked: hanging up during the confirmation gives nothing up.
      if (phase.name === 'callback_booked') return endForCallback(fx, nowMs, { reply: false });
      if (phase.name === 'ringing') {
        // The agent's 200 may cross the CANCEL: Kamailio's dialog events settle it, answered (the
        // call goes on) or failed (the caller is gone).
        fx.set({ phase: { ...phase, cancelled: true } });
        return fx.done();
      }
      if (phase.name !== 'queued') return fx.done();
      return release(fx, nowMs, byCaller);
    }
    case 'branch_failed': {
      if (phase.name === 'overflowing') {
        fx.leg('peer', 'terminated');
        fx.set({ overflowTried: true });
        fx.push({
          type: 'publish',
          kind: {
            $case: 'overflowRejected',
            value: {
              targetSiteId: phase.targetSiteId,
              sipCode: input.code,
              reason: `SIP ${input.code} from ${phase.targetSiteId}`,
            },
          },
        });
        if (!input.requeued) return release(fx, nowMs, false);
        fx.set({
          phase: { name: 'queued' },
          transaction: { ...state.transaction, ...input.requeued },
        });
        fx.push({ type: 'acd', op: 'offer' });
        return fx.done();
      }
      if (phase.name !== 'ringing') return fx.done();
      fx.leg('agent', 'terminated');
      fx.push({
        type: 'log',
        level: 'warn',
        event: 'agent_no_answer',
        message: 'agent phone did not take the call: agent set not-ready, call back in queue',
        fields: { agentId: phase.agentId, code: input.code },
      });
      fx.set({ phase: { name: 'queued' } });
      if (!input.requeued) {
        // Kamailio could not suspend the INVITE again: the caller got the failure.
        fx.push({ type: 'acd', op: 'ring_failed' });
        return release(fx, nowMs, false);
      }
      fx.set({ transaction: { ...state.transaction, ...input.requeued } });
      fx.push({ type: 'acd', op: 'ring_failed' });
      return fx.done();
    }
    case 'answered': {
      if (phase.name === 'overflowing') {
        // Answered at the target site, which records it; this site is only on the signalling path.
        fx.leg('peer', 'confirmed');
        return fx.leave('overflowed');
      }
      if (phase.name !== 'ringing') return fx.done();
      const waitedMs = nowMs - queueEntryMs(state.context);
      fx.set({
        phase: {
          name: 'talking',
          agentId: phase.agentId,
          answeredMs: nowMs,
          waitedMs,
          agentTag: input.agentTag ?? '',
        },
      });
      fx.leg('agent', 'confirmed');
      fx.leg('caller', 'confirmed');
      if (state.recording.state === 'planned') {
        fx.set({ recording: { state: 'recording' } });
        fx.push({ type: 'recording', op: 'start', agentId: phase.agentId });
      }
      // Kamailio stopped it with the agent's 200 already; no prompt may follow.
      fx.media((m) => endMedia(m, { stop: true }));
      fx.push({ type: 'acd', op: 'answered' });
      fx.push({ type: 'day_stats', op: 'answered', waitedMs });
      fx.push({
        type: 'publish',
        kind: {
          $case: 'answered',
          value: {
            agentId: phase.agentId,
            skill: state.context.skill,
            waitMs: waitedMs,
            serviceLevelThresholdMs: state.serviceLevel.thresholdMs,
          },
        },
      });
      return fx.done();
    }
    case 'ended': {
      if (phase.name !== 'talking') return fx.done();
      fx.leg('agent', 'terminated');
      fx.leg('caller', 'terminated');
      fx.stopRecording('hang_up');
      fx.set({ phase: { name: 'wrap_up', agentId: phase.agentId, sinceMs: nowMs } });
      fx.push({ type: 'leave', outcome: 'answered' });
      fx.push({
        type: 'publish',
        kind: {
          $case: 'ended',
          value: {
            agentId: phase.agentId,
            talkMs: nowMs - phase.answeredMs,
            holdMs: 0,
            endedBy: ENDED_BY[input.by] ?? CallParty.CALL_PARTY_SYSTEM,
          },
        },
      });
      fx.push({ type: 'acd', op: 'hang_up' });
      if (input.by === 'peer_silent')
        fx.push({
          type: 'log',
          level: 'warn',
          event: 'call_peer_site_lost',
          message: 'call ended by Kamailio: the other site stopped answering its keepalives',
          fields: { agentId: phase.agentId, originSite: state.context.originSite },
        });
      return fx.done();
    }
    case 'wrap_up_recorded': {
      // Only the agent wrapping this call up, once: a second submission would rewrite history.
      if (phase.name !== 'wrap_up' || phase.agentId !== input.agentId || phase.recorded)
        return fx.done();
      fx.set({ phase: { ...phase, recorded: input.record } });
      return fx.done();
    }
    case 'transfer': {
      if (phase.name !== 'talking' || !state.acceptsRefer) return fx.done();
      fx.push({
        type: 'kamailio',
        command: {
          action: 'transfer',
          callid: state.callId,
          fromTag: state.fromTag,
          toTag: phase.agentTag,
          uri: input.referTo,
        },
      });
      fx.leg('agent', 'terminated');
      fx.leg('caller', 'terminated');
      // The caller's new INVITE is another call, recorded where its agent answers.
      fx.stopRecording('hang_up');
      fx.set({ phase: { name: 'wrap_up', agentId: phase.agentId, sinceMs: nowMs } });
      fx.push({ type: 'leave', outcome: 'transferred' });
      fx.push({
        type: 'publish',
        kind: {
          $case: 'transferred',
          value: {
            fromAgentId: phase.agentId,
            to: `${input.skill}@${input.targetSiteId}`,
            blind: true,
            targetSiteId: input.targetSiteId,
            targetSkill: input.skill,
            by: input.by,
          },
        },
      });
      // The agent's handling ends here (talk time, handled count); wrap-up follows.
      fx.push({
        type: 'publish',
        kind: {
          $case: 'ended',
          value: {
            agentId: phase.agentId,
            talkMs: nowMs - phase.answeredMs,
            holdMs: 0,
            endedBy: CallParty.CALL_PARTY_AGENT,
          },
        },
      });
      fx.push({ type: 'acd', op: 'hang_up' });
      fx.push({
        type: 'log',
        level: 'info',
        event: 'call_transferred',
        message: 'call blind-transferred: caller referred, agent to wrap-up',
        fields: {
          agentId: phase.agentId,
          targetSiteId: input.targetSiteId,
          skill: input.skill,
          by: input.by,
        },
      });
      return fx.done();
    }
    case 'wrap_up_done': {
      if (phase.name !== 'wrap_up') return fx.done();
      fx.set({ phase: { name: 'done' } });
      const r = phase.recorded;
      fx.push({
        type: 'publish',
        kind: {
          $case: 'wrapUpDone',
          value: {
            agentId: phase.agentId,
            wrapUpMs: nowMs - phase.sinceMs,
            // Time ran out before the agent submitted: an empty disposition, as before.
            disposition: r?.disposition ?? '',
            recordedByAgent: r !== undefined,
            resolvedFirstContact: r?.resolvedFirstContact ?? false,
            complaintSeverity:
              r?.complaintSeverity ?? ComplaintSeverity.COMPLAINT_SEVERITY_UNSPECIFIED,
            note: r?.note ?? '',
          },
        },
      });
      return fx.done();
    }
    case 'failed': {
      // Usually already handled (cancel, queue timeout, a failed branch); a ringing call still on
      // record here lost its INVITE some other way.
      if (phase.name === 'overflowing') {
        fx.leg('peer', 'terminated');
        return fx.leave('overflowed');
      }
      if (phase.name !== 'queued' && phase.name !== 'ringing') return fx.done();
      fx.push({
        type: 'log',
        level: 'warn',
        event: 'call_failed',
        message: 'call failed before answer',
        fields: {
          ...(phase.name === 'ringing' ? { agentId: phase.agentId } : {}),
          code: input.code,
        },
      });
      if (phase.name === 'ringing') fx.leg('agent', 'terminated');
      return release(fx, nowMs, phase.name === 'ringing' && phase.cancelled);
    }
    case 'relay_failed': {
      if (phase.name === 'overflowing') {
        fx.leg('peer', 'terminated');
        return fx.leave('overflowed');
      }
      if (phase.name !== 'queued' && phase.name !== 'ringing') return fx.done();
      if (phase.name === 'ringing') fx.leg('agent', 'terminated');
      return release(fx, nowMs, phase.name === 'ringing' && phase.cancelled);
    }
    case 'overflow_requested': {
      if (phase.name !== 'queued') return fx.done();
      fx.push({
        type: 'publish',
        kind: {
          $case: 'overflowRequested',
          value: {
            waitedMs: nowMs - state.context.arrivalMs,
            expectedWaitMs: input.expectedWaitMs,
            thresholdMs: input.thresholdMs,
          },
        },
      });
      return fx.done();
    }
    case 'move_out': {
      if (phase.name !== 'queued') return fx.done();
      const { target, decisionId } = input;
      fx.set({ phase: { name: 'overflowing', targetSiteId: target.id, decisionId } });
      fx.push({ type: 'acd', op: 'withdraw' });
      // What plays goes on until the target's own early media replaces it (ccfed.cfg PEER_REPLY).
      fx.media(pauseMedia);
      fx.push({
        type: 'kamailio',
        command: overflowRelay({
          callId: state.callId,
          transaction: state.transaction,
          dialedNumber: state.dialedNumber,
          context: state.context,
          topology: input.topology,
          originSiteId: siteId,
          target,
          decisionId,
          signingKey: input.signingKey,
          nowMs,
        }),
      });
      fx.leg('peer', 'trying');
      fx.push({
        type: 'publish',
        kind: { $case: 'overflowedOut', value: { targetSiteId: target.id, decisionId } },
      });
      fx.push({
        type: 'log',
        level: 'info',
        event: 'call_overflowed_out',
        message: 'call moved to another site',
        fields: { target: target.id, decisionId },
      });
      return fx.done();
    }
    case 'link_lost': {
      // Kamailio answers a suspended INVITE itself once the link is gone; a booked callback stays.
      if (phase.name === 'callback_booked') return endForCallback(fx, nowMs, { reply: false });
      // Ringing and talking calls go on at the SIP level; their dialog events arrive later.
      if (phase.name !== 'queued') return fx.done();
      return release(fx, nowMs, false);
    }
    case 'resumed': {
      // What the caller hears goes on; its timers died with the previous process, the refresh
      // of a call from another site's among them.
      if (phase.name === 'queued') fx.media((m) => resumeQueue(m, nowMs));
      if (phase.name === 'queued' && state.peerProgressMs !== undefined)
        fx.push({ type: 'start_timer', id: PEER_PROGRESS_TIMER, afterMs: state.peerProgressMs });
      return fx.done();
    }
    case 'stop': {
      if (phase.name === 'done' || phase.name === 'wrap_up') return fx.done();
      // The confirmation is cut short, not the callback.
      if (phase.name === 'callback_booked') return endForCallback(fx, nowMs, { reply: true });
      // What was recorded so far is kept: the call goes on without this process.
      fx.stopRecording('site_agent_stopped');
      return fx.leave('site_agent_stopped');
    }
    case 'pause_recording': {
      if (phase.name !== 'talking' || state.recording.state !== 'recording') return fx.done();
      fx.set({ recording: { state: 'paused', by: input.by } });
      fx.push({ type: 'recording', op: 'pause', by: input.by });
      return fx.done();
    }
    case 'resume_recording': {
      if (phase.name !== 'talking' || state.recording.state !== 'paused') return fx.done();
      fx.set({ recording: { state: 'recording' } });
      fx.push({ type: 'recording', op: 'resume', by: input.by });
      return fx.done();
    }

    case 'media_result':
      fx.media((m) => mediaResult(m, input));
      return phase.name === 'callback_booked' ? afterFarewell(fx, nowMs) : fx.done();
    case 'timer':
      if (input.id === PEER_PROGRESS_TIMER) return peerProgress(state, fx);
      fx.media((m) => mediaTimer(m, input.id, nowMs));
      return phase.name === 'callback_booked' ? afterFarewell(fx, nowMs) : fx.done();
    case 'announcement': {
      // The offer comes with the announcement that first tells a wait at or past the threshold.
      const { callback } = state;
      const offer =
        callback !== undefined &&
        !callback.offered &&
        phase.name === 'queued' &&
        state.media.asking &&
        input.position !== undefined &&
        input.waitMs !== undefined &&
        input.waitMs >= callback.offerAfterMs;
      if (offer) fx.set({ callback: { ...callback, offered: true } });
      fx.media((m) => announce(m, { ...input, offerCallback: offer }));
      return fx.done();
    }
    case 'callback_taken': {
      // The callback holds the caller's place from here; the caller hears it confirmed first.
      if (phase.name !== 'queued') return fx.done();
      fx.set({ phase: { name: 'callback_booked' } });
      fx.media((m) => farewell(m, callbackReply(m.settings.language, true)));
      return afterFarewell(fx, nowMs);
    }
    case 'callback_refused':
      // Told only to a caller who pressed 1 (the API's refusals answer the API).
      if (phase.name === 'queued')
        fx.media((m) => say(m, callbackReply(m.settings.language, false)));
      fx.push({
        type: 'log',
        level: 'info',
        event: 'callback_refused',
        message: 'the caller asked for a callback and it was refused; the call stays queued',
        fields: { reason: input.reason },
      });
      return fx.done();
    case 'dtmf': {
      // The caller's keys while waiting (e.g. "press 1 for a callback"); an agent's, or keys once
      // answered, are the conversation's.
      if (phase.name !== 'queued' && phase.name !== 'ringing') return fx.done();
      if (input.sourceTag !== state.fromTag) return fx.done();
      const waitedMs = nowMs - state.context.arrivalMs;
      fx.push({
        type: 'publish',
        kind: {
          $case: 'digitPressed',
          value: { digit: input.digit, durationMs: input.durationMs, waitedMs },
        },
      });
      fx.push({
        type: 'log',
        level: 'info',
        event: 'digit_pressed',
        message: 'the waiting caller pressed a key',
        fields: { digit: input.digit, waitedMs },
      });
      if (input.digit === '1' && phase.name === 'queued' && state.callback?.offered)
        fx.push({ type: 'callback', op: 'request' });
      return fx.done();
    }
  }
}

/** The booked callback's confirmation has played out (or could not play): the call ends now. */
function afterFarewell(fx: Effects, nowMs: number): Step {
  if (fx.state.media.farewell !== 'played') return fx.done();
  return endForCallback(fx, nowMs, { reply: true });
}

/**
 * The caller who chose a callback leaves: their INVITE is answered 480 (unless they hung up, or
 * Kamailio answered it), and the callback keeps their place.
 */
function endForCallback(fx: Effects, nowMs: number, opts: { readonly reply: boolean }): Step {
  const { state } = fx;
  if (opts.reply)
    fx.push({
      type: 'kamailio',
      command: { action: 'reply', ...state.transaction, code: 480, reason: 'Callback Requested' },
    });
  fx.leg('caller', 'terminated');
  fx.push({
    type: 'log',
    level: 'info',
    event: 'call_ended_for_callback',
    message: 'the caller chose a callback: their place is kept, the call ends',
    fields: {
      waitedMs: nowMs - state.context.arrivalMs,
      confirmed: state.media.farewell === 'played',
    },
  });
  return fx.leave('callback');
}

/**
 * The call leaves this site unanswered: the caller hung up, or Kamailio's fallback took it. The
 * ACD lets go of it wherever it is (a call already withdrawn for overflow is not there).
 */
function release(fx: Effects, nowMs: number, byCaller: boolean): Step {
  const { state } = fx;
  fx.leg('caller', 'terminated');
  const ended = fx.leave('abandoned');
  fx.push({ type: 'acd', op: 'abandon' });
  fx.push({ type: 'day_stats', op: 'abandoned' });
  fx.push({
    type: 'publish',
    kind: {
      $case: 'abandoned',
      value: {
        skill: state.context.skill,
        waitMs: nowMs - queueEntryMs(state.context),
        byCaller,
        serviceLevelThresholdMs: state.serviceLevel.thresholdMs,
        shortAbandonMs: state.serviceLevel.shortAbandonMs,
      },
    },
  });
  return { state: ended.state, effects: fx.list };
}

/** Builds one step: the state as it changes, and the effects in order. */
class Effects {
  readonly list: CallEffect[] = [];

  constructor(public state: CallState) {}

  push(effect: CallEffect): void {
    this.list.push(effect);
  }

  set(change: Partial<CallState>): void {
    this.state = { ...this.state, ...change };
  }

  /** Moves a leg to `to` (a new leg starts from none), recording the transition. */
  leg(leg: LegName, to: LegState): void {
    const from = this.state.legs[leg];
    if (from === to) return;
    // A terminated agent or peer leg that starts again is a new branch.
    this.set({ legs: { ...this.state.legs, [leg]: to } });
    this.push({ type: 'transition', leg, from: from ?? 'none', to });
  }

  /** Stops the call's recording if it is being recorded (or paused). */
  stopRecording(reason: 'hang_up' | 'site_agent_stopped'): void {
    const { state } = this.state.recording;
    if (state !== 'recording' && state !== 'paused') return;
    this.set({ recording: { state: 'stopped' } });
    this.push({ type: 'recording', op: 'stop', reason });
  }

  /** Steps the queue experience; its effects go in here, in order. */
  media(step: (media: QueueMedia) => MediaStep): void {
    const next = step(this.state.media);
    if (next.media !== this.state.media) this.set({ media: next.media });
    this.list.push(...next.effects);
  }

  /** The call leaves this site with `outcome`. */
  leave(outcome: CallOutcome): Step {
    // Its media session is gone (or the site agent stops): no timer of it may fire.
    this.media((m) => endMedia(m, { stop: false }));
    this.set({ phase: { name: 'done' } });
    this.push({ type: 'leave', outcome });
    return { state: this.state, effects: this.list };
  }

  done(): Step {
    return { state: this.state, effects: this.list };
  }
}
