// The site's call flow: the adapter between Kamailio (evapi events in, routing commands out), the
// ACD (pure core) and the event publisher. Every Kamailio event becomes one call on the ACD; the
// ACD's effects become SIP commands (relay to an agent's phone) and Kafka events. The agents' desk
// (agent-desk.ts) changes agent states on the same ACD and hands its effects here (carryOut).
//
// Kamailio keeps each waiting INVITE suspended; this file remembers its transaction (tindex,
// tlabel) to relay it once an agent frees up. Calls are never left waiting on this process:
// while the evapi link is down Kamailio answers pending and new INVITEs with the site's fallback.

import type { Clock } from '@ccfed/common';
import { CallParty, type AgentEvent, type CallEvent } from '@ccfed/proto';
import { skillById, type Site, type Topology } from '@ccfed/topology';
import type { Span } from '@opentelemetry/api';
import type { Logger } from 'pino';
import { AcdError, type Acd, type Effects } from './acd/acd.js';
import type { DayStats } from './acd/day-stats.js';
import { callContext, type CallContext } from './call-context.js';
import { callerHash } from './caller-hash.js';
import { admission } from './admission.js';
import type { DirectoryIdentity } from './customer-directory.js';
import { inboundContext, inviteSource } from './inbound-context.js';
import { ReplayWindow } from './sip-context-signature.js';
import type { AgentRoster } from './agent-desk.js';
import type { EventStamper } from './events/event-meta.js';
import { agentEventOf } from './events/agent-event.js';
import { queuedReply, type KamailioCommand, type KamailioEvent } from './kamailio/messages.js';
import { overflowAcceptance, overflowRelay } from './overflow/sip-overflow.js';
import type { WaitingCall } from './overflow/trigger.js';
import { CallTracing, type CallOutcome } from './telemetry.js';

/** Where the call flow's events go (the Kafka publisher, through its disk outbox). */
export interface CallFlowPublisher {
  callEvent(event: CallEvent): Promise<void>;
  agentEvent(event: AgentEvent): Promise<void>;
}

export interface CallFlowDeps {
  readonly clock: Clock;
  readonly topology: Topology;
  readonly site: Site;
  readonly acd: Acd;
  /** The phones agents logged in at. */
  readonly roster: AgentRoster;
  readonly dayStats: DayStats;
  readonly stamper: EventStamper;
  readonly publisher: CallFlowPublisher;
  /** Sends a command to Kamailio; false when the evapi link is down. */
  readonly sendToKamailio: (command: KamailioCommand) => boolean;
  readonly log: Logger;
  /** Called after anything that changes the site snapshot (queue or staffing). */
  readonly onChange?: () => void;
  /** Whether an operator has drained the site: overflowed calls are then refused with 503. */
  readonly drained?: () => boolean;
  /** Skill → overflow threshold in force (routing policy); default: the topology's. */
  readonly overflowThresholdMs?: () => ReadonlyMap<string, number>;
  /** Key of the caller hash (CCFED_CALLER_HASH_KEY); without one, no caller hash is recorded. */
  readonly callerHashKey?: string;
  /**
   * The federation keys (CCFED_FEDERATION_KEY first, then the previous one during a rotation):
   * the first signs this site's overflow context, any verifies another site's.
   */
  readonly federationKeys: readonly Buffer[];
  /** Who callers are by their number's hash (the customer directory); needs callerHashKey. */
  readonly directory?: {
    lookup(tenantId: string, callerHash: string): DirectoryIdentity | undefined;
  };
  /** Tenant → sites the routing policy in force keeps its calls out of; default none. */
  readonly tenantExclusions?: () => ReadonlyMap<string, ReadonlySet<string>>;
  /** Each call's span; on the global OpenTelemetry API by default. */
  readonly tracing?: CallTracing;
}

/** What every event of a call names it by, besides its id: its context and its caller. */
interface CallIdentity {
  readonly context: CallContext;
  /** Keyed hash of the caller's number ('' without a hash key): never the number itself. */
  readonly callerHash: string;
}

interface LiveCall extends CallIdentity {
  /** The call's span at this site, ended when the call leaves it. */
  readonly span: Span;
  readonly dialedNumber: string;
  readonly cseq: number;
  /** The suspended INVITE's transaction; renewed when Kamailio suspends it again after RONA. */
  tindex: number;
  tlabel: number;
  /** When Kamailio received the INVITE, by its clock. */
  readonly tsS: number;
  readonly tsU: number;
  /** While ringing or talking: the agent, and when it was chosen. */
  agentId?: string;
  /** Wait until the agent answered (for CallAnswered and service level). */
  waitedMs?: number;
  /** The caller sent CANCEL while the agent's phone was ringing. */
  cancelled?: boolean;
  /** Relayed to another site by the router's decision, awaiting that site's answer. */
  overflow?: { readonly targetSiteId: string; readonly decisionId: string };
  /** Offered to another site once already (refused): a call moves at most once. */
  overflowTried?: boolean;
}

const ENDED_BY: Record<string, CallParty> = {
  caller: CallParty.CALL_PARTY_CALLER,
  callee: CallParty.CALL_PARTY_AGENT,
  timeout: CallParty.CALL_PARTY_SYSTEM,
};

export class CallFlow {
  private readonly calls = new Map<string, LiveCall>();
  /** Calls whose agent is in wrap-up: for the WrapUpDone event. */
  private readonly wrapUps = new Map<string, CallIdentity & { sinceMs: number }>();
  private timer: NodeJS.Timeout | undefined;
  private timerAt: number | undefined;
  private readonly tracing: CallTracing;
  /** Overflow signatures accepted lately: each is accepted once. */
  private readonly replay = new ReplayWindow();

  constructor(private readonly deps: CallFlowDeps) {
    this.tracing = deps.tracing ?? new CallTracing(deps.site.id);
  }

  /** Calls this site is handling (queued, ringing or talking). */
  get activeCalls(): number {
    return this.calls.size;
  }

  // ---- Kamailio events ------------------------------------------------------------------------

  /** Handles one event from Kamailio. Never throws: a surprise is logged, the site keeps going. */
  handle(event: KamailioEvent): void {
    try {
      this.dispatch(event);
    } catch (err) {
      this.deps.log.error(
        { event: 'call_flow_error', kamailioEvent: event.event, err },
        'could not handle a Kamailio event',
      );
    }
    this.deps.onChange?.();
    this.schedule();
  }

  /**
   * The evapi link dropped: Kamailio has answered every suspended INVITE with the fallback, so
   * queued calls are gone from this site. Ringing and talking calls go on at the SIP level and
   * their dialog events arrive once the link is back.
   */
  linkLost(): void {
    let released = 0;
    for (const [callId, call] of this.calls) {
      if (call.agentId !== undefined || call.overflow) continue;
      this.release(callId, call, false);
      released++;
    }
    if (released > 0)
      this.deps.log.warn(
        { event: 'queued_calls_released', count: released },
        'evapi link lost: Kamailio sent the queued calls to the fallback',
      );
    this.deps.onChange?.();
  }

  private dispatch(event: KamailioEvent): void {
    switch (event.event) {
      case 'invite':
        return this.onInvite(event);
      case 'invite_unusable':
        this.deps.log.warn(
          { event: 'invite_unusable', reason: event.reason },
          'refusing an INVITE whose event cannot be read',
        );
        return this.reply(event, 400, 'Bad Request');
      case 'cancel':
        return this.onCallerGone(event.callid, true);
      case 'queue_timeout':
        return this.onCallerGone(event.callid, false);
      case 'agent_failed':
        return this.onAgentFailed(event);
      case 'answered':
        return this.onAnswered(event.callid);
      case 'ended':
        return this.onEnded(event.callid, event.by);
      case 'failed':
        return this.onFailed(event.callid, event.code);
      case 'cmd_failed':
        return this.onCommandFailed(event.action, event.callid);
      case 'routed':
        this.deps.log.debug(
          { event: 'call_routed', callId: event.callid, decisionUs: event.decisionUs },
          'Kamailio carried out a decision',
        );
        return;
      case 'pong':
        return;
    }
  }

  private onInvite(ev: Extract<KamailioEvent, { event: 'invite' }>): void {
    const { log } = this.deps;
    const now = this.deps.clock.now();
    // First, so that a replayed overflow is refused as such even while its original call is here.
    const inbound = inboundContext({
      source: inviteSource(ev.trust, ev.peer),
      callId: ev.callid,
      dialedNumber: ev.ruriUser,
      cc: ev.cc,
      keys: this.deps.federationKeys,
      replay: this.replay,
      nowMs: now,
    });
    if (!inbound.ok) return this.refuseContext(ev, inbound.code, inbound.reason);
    if (this.calls.has(ev.callid)) {
      // Same Call-ID twice is a loop or a broken client; the first call keeps its place.
      this.reply(ev, 482, 'Loop Detected');
      return;
    }
    const hash = this.deps.callerHashKey ? callerHash(this.deps.callerHashKey, ev.fromUser) : '';
    const result = callContext({
      topology: this.deps.topology,
      siteId: this.deps.site.id,
      dialedNumber: ev.ruriUser,
      headers: inbound.headers,
      nowMs: now,
      identify: (tenantId) => (hash ? this.deps.directory?.lookup(tenantId, hash) : undefined),
    });
    if (!result.ok) {
      log.info(
        { event: 'call_refused', callId: ev.callid, number: ev.ruriUser, code: result.sipCode },
        result.reason,
      );
      this.reply(ev, result.sipCode, result.reason);
      return;
    }
    for (const problem of [...inbound.ignored, ...result.context.problems])
      log.warn({ event: 'call_context_problem', callId: ev.callid }, problem);
    // From here on the call carries its own span's trace context (a child of the origin's, when
    // overflowed in): in its events, its router requests and its overflow INVITE.
    const { span, traceparent } = this.tracing.start(ev.callid, result.context);
    const context: CallContext = { ...result.context, traceparent };
    if (context.originSite && this.deps.drained?.()) {
      this.deps.log.info(
        { event: 'overflow_refused', callId: ev.callid, originSite: context.originSite },
        'refusing an overflowed call: this site is drained',
      );
      this.reply(ev, 503, 'Site Drained');
      this.tracing.end(span, context.skill, 'refused');
      return;
    }
    const admitted = admission({
      siteId: this.deps.site.id,
      tenantId: context.tenantId,
      tenantExclusions: this.deps.tenantExclusions?.() ?? new Map(),
      queued: this.deps.acd.queuedCalls(context.skill).length,
      queueLimit: skillById(this.deps.topology, context.skill)!.queueLimit,
      overflowedIn: context.originSite !== '',
    });
    if (!admitted.admit) {
      log.info(
        {
          event: 'call_not_admitted',
          callId: ev.callid,
          rule: admitted.rule,
          skill: context.skill,
        },
        `refusing a call: ${admitted.reason}`,
      );
      this.reply(ev, admitted.code, admitted.reason, admitted.retryAfterSeconds);
      this.tracing.end(span, context.skill, 'refused');
      return;
    }
    if (context.originSite && !this.canServeOverflow(ev.callid, context)) {
      this.reply(ev, 486, 'Cannot Serve In Time');
      this.tracing.end(span, context.skill, 'refused');
      return;
    }

    const call: LiveCall = {
      context,
      callerHash: hash,
      span,
      dialedNumber: ev.ruriUser,
      cseq: ev.cseq,
      tindex: ev.tindex,
      tlabel: ev.tlabel,
      tsS: ev.tsS,
      tsU: ev.tsU,
    };
    this.calls.set(ev.callid, call);
    this.deps.dayStats.offered(context.skill);
    this.publishCall(ev.callid, call, {
      $case: 'offered',
      value: {
        dialedNumber: ev.ruriUser,
        skill: context.skill,
        tier: context.tier,
        customerId: context.customerId,
        callerHash: call.callerHash,
        arrivalTime: new Date(context.arrivalMs),
        requestedSkill: context.requestedSkill,
      },
    });

    if (context.originSite)
      this.publishCall(ev.callid, call, {
        $case: 'overflowedIn',
        value: {
          originSiteId: context.originSite,
          originalArrivalTime: new Date(context.arrivalMs),
          hopCount: context.hops,
          decisionId: context.decisionId,
        },
      });
    this.enterAcd(ev.callid, call);
  }

  /**
   * A peer's INVITE whose context does not verify: refused, never queued, and recorded as a
   * context_rejected call event for operators (docs/security.md, "SIP").
   */
  private refuseContext(
    ev: Extract<KamailioEvent, { event: 'invite' }>,
    code: number,
    reason: string,
  ): void {
    const { topology, log, clock } = this.deps;
    log.warn(
      { event: 'sip_context_rejected', callId: ev.callid, peerSite: ev.peer, reason },
      'refusing a peer site’s INVITE: its context does not verify',
    );
    this.reply(ev, code, 'Forbidden');
    const tenantId =
      topology.sites.flatMap((s) => s.numbers).find((n) => n.number === ev.ruriUser)?.tenant ??
      topology.federation.name;
    const event: CallEvent = {
      meta: this.deps.stamper.stamp(tenantId),
      callId: ev.callid,
      skill: '',
      tier: 0,
      customerId: '',
      callerHash: '',
      arrivalTime: new Date(clock.now()),
      kind: { $case: 'contextRejected', value: { peerSiteId: ev.peer, sipCode: code, reason } },
    };
    this.deps.publisher
      .callEvent(event)
      .catch((err: unknown) =>
        log.error(
          { event: 'call_event_lost', callId: ev.callid, kind: 'contextRejected', err },
          'could not record a call event',
        ),
      );
  }

  /** Offers a call to the ACD at its original arrival time: to an agent now, or queued. */
  private enterAcd(callId: string, call: LiveCall): void {
    const { context } = call;
    const offer = this.deps.acd.offer({
      callId,
      tenantId: context.tenantId,
      skill: context.skill,
      tier: context.tier,
      arrivalMs: context.arrivalMs,
    });
    if (offer.kind === 'queued') {
      this.queued(callId, call, offer.position, offer.expectedWaitMs);
    }
    this.apply(offer.effects);
  }

  /** Whether this site takes a call another site sent it (see overflowAcceptance). */
  private canServeOverflow(callId: string, context: CallContext): boolean {
    const expectedWaitMs = this.deps.acd.expectedWaitIfOffered(context);
    const thresholdMs = this.deps.overflowThresholdMs?.();
    const { accept, limitMs } = overflowAcceptance({
      topology: this.deps.topology,
      context,
      expectedWaitMs,
      ...(thresholdMs && { thresholdMs }),
    });
    if (!accept)
      this.deps.log.info(
        {
          event: 'overflow_refused',
          callId,
          originSite: context.originSite,
          expectedWaitMs,
          limitMs,
        },
        'refusing an overflowed call this site cannot serve in time',
      );
    return accept;
  }

  // ---- overflow to other sites ----------------------------------------------------------------

  /** Calls waiting in this site's queue, as the overflow trigger sees them. */
  waitingCalls(): (WaitingCall & {
    readonly tenantId: string;
    readonly tier: number;
    readonly waitedMs: number;
    readonly traceparent: string;
  })[] {
    const now = this.deps.clock.now();
    const waiting = [];
    for (const [callId, call] of this.calls) {
      if (call.agentId !== undefined || call.overflow) continue;
      const expectedWaitMs = this.deps.acd.expectedWaitOf(callId);
      if (expectedWaitMs === undefined) continue;
      waiting.push({
        callId,
        skill: call.context.skill,
        tenantId: call.context.tenantId,
        tier: call.context.tier,
        expectedWaitMs,
        waitedMs: now - call.context.arrivalMs,
        hops: call.context.hops + (call.overflowTried ? 1 : 0),
        traceparent: call.context.traceparent,
      });
    }
    return waiting;
  }

  /** The call asks the router for a better site. */
  overflowRequested(callId: string, expectedWaitMs: number, thresholdMs: number): void {
    const call = this.calls.get(callId);
    if (!call) return;
    this.publishCall(callId, call, {
      $case: 'overflowRequested',
      value: {
        waitedMs: this.deps.clock.now() - call.context.arrivalMs,
        expectedWaitMs,
        thresholdMs,
      },
    });
  }

  /**
   * The router says: move the call to `target`. Done only if the call still waits here (it may
   * have been answered or abandoned while the router thought); returns whether it moved.
   */
  moveOut(
    callId: string,
    target: { readonly siteId: string; readonly decisionId: string },
  ): boolean {
    const call = this.calls.get(callId);
    const site = this.deps.topology.sites.find((s) => s.id === target.siteId);
    if (!call || !site || call.agentId !== undefined || call.overflow) return false;
    if (this.deps.acd.expectedWaitOf(callId) === undefined) return false;
    const { context } = call;
    this.deps.acd.withdraw(callId);
    call.overflow = { targetSiteId: site.id, decisionId: target.decisionId };
    const sent = this.deps.sendToKamailio(
      overflowRelay({
        callId,
        transaction: { tindex: call.tindex, tlabel: call.tlabel, tsS: call.tsS, tsU: call.tsU },
        dialedNumber: call.dialedNumber,
        context,
        topology: this.deps.topology,
        originSiteId: this.deps.site.id,
        target: site,
        decisionId: target.decisionId,
        signingKey: this.deps.federationKeys[0]!,
        nowMs: this.deps.clock.now(),
      }),
    );
    this.publishCall(callId, call, {
      $case: 'overflowedOut',
      value: { targetSiteId: site.id, decisionId: target.decisionId },
    });
    this.deps.log.info(
      {
        event: 'call_overflowed_out',
        callId,
        target: site.id,
        decisionId: target.decisionId,
        sent,
      },
      'call moved to another site',
    );
    this.deps.onChange?.();
    return true;
  }

  /** The target site refused the call (or did not answer): it takes its old place here. */
  private overflowRefused(
    callId: string,
    call: LiveCall,
    ev: Extract<KamailioEvent, { event: 'agent_failed' }>,
  ): void {
    const target = call.overflow!.targetSiteId;
    delete call.overflow;
    call.overflowTried = true;
    this.publishCall(callId, call, {
      $case: 'overflowRejected',
      value: { targetSiteId: target, sipCode: ev.code, reason: `SIP ${ev.code} from ${target}` },
    });
    if (!ev.requeued) {
      this.release(callId, call, false);
      return;
    }
    call.tindex = ev.tindex;
    call.tlabel = ev.tlabel;
    this.enterAcd(callId, call);
  }

  /** CANCEL from the caller, or Kamailio's queue timeout (the fallback took the call). */
  private onCallerGone(callId: string, byCaller: boolean): void {
    const call = this.calls.get(callId);
    if (!call) return; // already released or never ours
    if (call.waitedMs !== undefined) return; // answered: the dialog events end it
    if (call.overflow) {
      // At the target site now, which records the abandon.
      this.forget(callId, call, 'overflowed');
      return;
    }
    if (call.agentId !== undefined) {
      // Ringing: the agent's 200 may cross the CANCEL. Kamailio's dialog events settle it, either
      // answered (the call goes on) or failed (the caller is gone).
      call.cancelled = true;
      return;
    }
    this.release(callId, call, byCaller);
  }

  private onAgentFailed(ev: Extract<KamailioEvent, { event: 'agent_failed' }>): void {
    const call = this.calls.get(ev.callid);
    if (call?.overflow) return this.overflowRefused(ev.callid, call, ev);
    if (!call || call.agentId === undefined || call.waitedMs !== undefined) return;
    this.deps.log.warn(
      { event: 'agent_no_answer', callId: ev.callid, agentId: call.agentId, code: ev.code },
      'agent phone did not take the call: agent set not-ready, call back in queue',
    );
    delete call.agentId;
    const fx = this.deps.acd.ringFailed(ev.callid);
    if (!ev.requeued) {
      // Kamailio could not suspend the INVITE again: the caller got the failure.
      this.release(ev.callid, call, false);
      this.apply(fx);
      return;
    }
    call.tindex = ev.tindex;
    call.tlabel = ev.tlabel;
    this.apply(fx);
    const ewtMs = this.deps.acd.expectedWaitOf(ev.callid);
    if (ewtMs !== undefined) this.queued(ev.callid, call, undefined, ewtMs);
  }

  private onAnswered(callId: string): void {
    const call = this.calls.get(callId);
    if (call?.overflow) {
      // Answered at the target site, which records it; this site is only on the signalling path.
      this.forget(callId, call, 'overflowed');
      return;
    }
    if (!call || call.agentId === undefined || call.waitedMs !== undefined) return;
    const { acd, dayStats, clock } = this.deps;
    const waitedMs = clock.now() - call.context.arrivalMs;
    call.waitedMs = waitedMs;
    const fx = acd.answered(callId);
    const { thresholdMs } = this.serviceLevelOf(call.context.skill);
    dayStats.answered(call.context.skill, waitedMs, thresholdMs);
    this.publishCall(callId, call, {
      $case: 'answered',
      value: {
        agentId: call.agentId,
        skill: call.context.skill,
        waitMs: waitedMs,
        serviceLevelThresholdMs: thresholdMs,
      },
    });
    this.apply(fx);
  }

  private onEnded(callId: string, by: string): void {
    const call = this.calls.get(callId);
    if (!call || call.agentId === undefined || call.waitedMs === undefined) return;
    this.forget(callId, call, 'answered');
    this.wrapUps.set(callId, {
      context: call.context,
      callerHash: call.callerHash,
      sinceMs: this.deps.clock.now(),
    });
    const { talkMs, effects } = this.deps.acd.hangUp(callId);
    this.publishCall(callId, call, {
      $case: 'ended',
      value: {
        agentId: call.agentId,
        talkMs,
        holdMs: 0,
        endedBy: ENDED_BY[by] ?? CallParty.CALL_PARTY_SYSTEM,
      },
    });
    this.apply(effects);
  }

  /**
   * The dialog failed without an answer. Usually already handled (cancel, queue timeout, agent
   * failure); a ringing call still on record here lost its INVITE some other way.
   */
  private onFailed(callId: string, code: number | undefined): void {
    const call = this.calls.get(callId);
    if (call?.overflow) {
      this.forget(callId, call, 'overflowed');
      return;
    }
    if (!call || call.waitedMs !== undefined) return;
    this.deps.log.warn(
      { event: 'call_failed', callId, agentId: call.agentId, code },
      'call failed before answer',
    );
    this.release(callId, call, call.cancelled === true);
  }

  private onCommandFailed(action: string, callId: string | undefined): void {
    this.deps.log.warn(
      { event: 'kamailio_command_failed', action, callId },
      'Kamailio could not carry out a command (the transaction had ended)',
    );
    if (action !== 'relay' || !callId) return;
    const call = this.calls.get(callId);
    if (call?.overflow) this.forget(callId, call, 'overflowed');
    else if (call && call.waitedMs === undefined)
      this.release(callId, call, call.cancelled === true);
  }

  /** Stops the wrap-up timer; calls in progress stay with Kamailio (their spans end here). */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const call of this.calls.values())
      this.tracing.end(call.span, call.context.skill, 'site_agent_stopped');
  }

  /** The call leaves this site: no longer tracked, its span ended. */
  private forget(callId: string, call: LiveCall, outcome: CallOutcome): void {
    this.calls.delete(callId);
    this.tracing.end(call.span, call.context.skill, outcome);
  }

  /**
   * Carries out effects caused from outside the call flow (an agent's desk): events, ringing
   * agents, snapshot and timers.
   */
  carryOut(fx: Effects): void {
    this.apply(fx);
    this.deps.onChange?.();
    this.schedule();
  }

  // ---- effects ------------------------------------------------------------------------------

  /** Carries out the ACD's effects: agent events first (reserved), then ring the agents. */
  private apply(fx: Effects): void {
    const now = this.deps.clock.now();
    for (const change of fx.agentChanges) {
      const sinceMs = this.deps.roster.sinceOf(change.agentId);
      this.deps.roster.changed(change.agentId, now);
      this.publishAgent(agentEventOf(change, this.deps.stamper.stamp(change.tenantId), sinceMs));
      if (change.from.name === 'wrap_up' && change.to.name !== 'wrap_up') {
        const wrap = this.wrapUps.get(change.from.callId);
        this.wrapUps.delete(change.from.callId);
        if (wrap)
          this.publishCall(change.from.callId, wrap, {
            $case: 'wrapUpDone',
            value: { agentId: change.agentId, wrapUpMs: now - wrap.sinceMs, disposition: '' },
          });
      }
    }
    for (const a of fx.assignments) {
      const call = this.calls.get(a.callId);
      if (!call) continue;
      call.agentId = a.agentId;
      const uri = this.deps.roster.contactOf(a.agentId);
      const sent = this.deps.sendToKamailio({
        action: 'relay',
        tindex: call.tindex,
        tlabel: call.tlabel,
        tsS: call.tsS,
        tsU: call.tsU,
        callid: a.callId,
        agent: a.agentId,
        uri,
      });
      this.deps.log.info(
        {
          event: 'call_assigned',
          callId: a.callId,
          agentId: a.agentId,
          waitedMs: a.waitedMs,
          sent,
        },
        'ringing agent',
      );
    }
  }

  private queued(callId: string, call: LiveCall, position: number | undefined, ewtMs: number) {
    this.deps.sendToKamailio(queuedReply({ callid: callId, ...call }));
    const pos =
      position ??
      this.deps.acd.queuedCalls(call.context.skill).findIndex((c) => c.callId === callId) + 1;
    this.publishCall(callId, call, {
      $case: 'queued',
      value: { skill: call.context.skill, position: pos, expectedWaitMs: ewtMs },
    });
  }

  /** The call leaves this site unanswered: caller hung up, or Kamailio's fallback took it. */
  private release(callId: string, call: LiveCall, byCaller: boolean): void {
    this.forget(callId, call, 'abandoned');
    let waitedMs = this.deps.clock.now() - call.context.arrivalMs;
    try {
      const r = this.deps.acd.abandon(callId);
      waitedMs = r.waitedMs;
      this.apply(r.effects);
    } catch (err) {
      if (!(err instanceof AcdError)) throw err;
    }
    this.deps.dayStats.abandoned(call.context.skill);
    const { thresholdMs, shortAbandonMs } = this.serviceLevelOf(call.context.skill);
    this.publishCall(callId, call, {
      $case: 'abandoned',
      value: {
        skill: call.context.skill,
        waitMs: waitedMs,
        byCaller,
        serviceLevelThresholdMs: thresholdMs,
        shortAbandonMs,
      },
    });
  }

  /** The skill's service-level thresholds, which the answered and abandoned events carry. */
  private serviceLevelOf(skillId: string): { thresholdMs: number; shortAbandonMs: number } {
    const skill = skillById(this.deps.topology, skillId)!;
    return {
      thresholdMs: skill.serviceLevel.thresholdSeconds * 1000,
      shortAbandonMs: skill.shortAbandonSeconds * 1000,
    };
  }

  private reply(
    ev: { tindex: number; tlabel: number },
    code: number,
    reason: string,
    retryAfter?: number,
  ): void {
    this.deps.sendToKamailio({
      action: 'reply',
      tindex: ev.tindex,
      tlabel: ev.tlabel,
      code,
      reason,
      ...(retryAfter === undefined ? {} : { retryAfter }),
    });
  }

  /** Runs the ACD's timers (wrap-up ends, second-choice skills) at its next deadline. */
  private schedule(): void {
    const next = this.deps.acd.nextDeadline();
    if (next === undefined || next === this.timerAt) return;
    clearTimeout(this.timer);
    this.timerAt = next;
    this.timer = setTimeout(
      () => {
        this.timerAt = undefined;
        this.timer = undefined;
        this.apply(this.deps.acd.tick());
        this.deps.onChange?.();
        this.schedule();
      },
      Math.max(0, next - this.deps.clock.now()),
    );
  }

  // ---- publishing ---------------------------------------------------------------------------

  private publishCall(callId: string, call: CallIdentity, kind: CallEvent['kind']): void {
    const { context } = call;
    const event: CallEvent = {
      meta: this.deps.stamper.stamp(context.tenantId, context.traceparent),
      callId,
      skill: context.skill,
      tier: context.tier,
      customerId: context.customerId,
      callerHash: call.callerHash,
      arrivalTime: new Date(context.arrivalMs),
      kind,
    };
    this.deps.publisher
      .callEvent(event)
      .catch((err: unknown) =>
        this.deps.log.error(
          { event: 'call_event_lost', callId, kind: kind?.$case, err },
          'could not record a call event',
        ),
      );
  }

  private publishAgent(event: AgentEvent): void {
    this.deps.publisher
      .agentEvent(event)
      .catch((err: unknown) =>
        this.deps.log.error(
          { event: 'agent_event_lost', agentId: event.agentId, err },
          'could not record an agent event',
        ),
      );
  }
}
