// The site's call flow: the adapter that runs each call's state machine (call/call-machine.ts)
// against the outside. Kamailio's evapi events, the router's answers and the ACD's assignments
// become inputs of one call's machine; its effects become SIP commands, ACD requests, Kafka events
// and the call's span. Admission (who may call, in which context) happens here, before a call's
// machine starts. The agents' desk (agent-desk.ts) changes agent states on the same ACD and hands
// its effects here (carryOut).
//
// Kamailio keeps each waiting INVITE suspended; the call's state remembers its transaction
// (tindex, tlabel) to relay it once an agent frees up. When the evapi link drops (this process
// restarted, or the link broke) Kamailio keeps the suspended INVITEs for its restart grace; on
// every (re)connection the flow asks it what it holds (resync) and reconciles its calls with the
// answer (docs/operations.md, "Site agent restart"). Past the grace Kamailio answers pending and
// new INVITEs with the site's fallback, so no caller waits on this process for long.
//
// Media: the machine's plays and stops go to Kamailio as evapi commands (it drives the site's
// rtpengine), its timers run here, and Kamailio's media results, the timers' firings, the ACD's
// announcements and rtpengine's DTMF digits come back as inputs of the call's machine.
//
// Transfer (docs/transfer.md): transfer() checks the target, keeps the call's context under a
// token (transfer/transfer.ts) and steps the talking call, whose effect has Kamailio REFER the
// caller to this site's transfer URI; the caller's new INVITE, carrying the token, is admitted
// with that context, queued here or relayed to the target site.

import { randomBytes } from 'node:crypto';
import type { Clock } from '@ccfed/common';
import type { AgentEvent, CallEvent } from '@ccfed/proto';
import type { DtmfEvent } from '@ccfed/services/rtpengine/ng-protocol';
import {
  languageOfNumber,
  peerProgressIntervalMs,
  recordingDecision,
  skillById,
  type Site,
  type Topology,
} from '@ccfed/topology';
import type { Span } from '@opentelemetry/api';
import type { Logger } from 'pino';
import { AcdError, type Acd, type Effects } from './acd/acd.js';
import type { DayStats } from './acd/day-stats.js';
import { IllegalTransitionError } from './acd/agent-state.js';
import { WrapUpError, type WrapUpDesk } from './wrap-up-desk.js';
import { callContext, type CallContext } from './call-context.js';
import { callerHash } from './caller-hash.js';
import { admission } from './admission.js';
import type { DirectoryIdentity } from './customer-directory.js';
import { inboundContext, inviteSource } from './inbound-context.js';
import { ReplayWindow } from './sip-context-signature.js';
import type { AgentRoster } from './agent-desk.js';
import type { EventStamper } from './events/event-meta.js';
import { agentEventOf } from './events/agent-event.js';
import type { KamailioCommand, KamailioEvent } from './kamailio/messages.js';
import { overflowAcceptance } from './overflow/sip-overflow.js';
import type { WaitingCall } from './overflow/trigger.js';
import type { CallRecorder } from './recording/recorder.js';
import type { TalkingCall } from './monitor/monitor-book.js';
import {
  RecordingControlError,
  type RecordingDesk,
  type RecordingView,
} from './recording/recording-control.js';
import { CallTracing } from './telemetry.js';
import {
  PendingTransfers,
  referTo,
  TransferError,
  transferredContext,
  transferTarget,
  type TransferGrant,
} from './transfer/transfer.js';
import {
  arrive,
  arriveToTransfer,
  newCall,
  step,
  type CallEffect,
  type CallInput,
  type CallState,
  type Step,
  type WrapUpRecord,
} from './call/call-machine.js';
import type { MediaAction, Prompt, QueueMediaSettings } from './call/queue-media.js';
import type { CallbackDesk, PendingCallback, TakeRefusal } from './callback/callback-desk.js';

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
  /**
   * Carries out the recording of the calls the tenants' policies record (recording/recorder.ts);
   * without one, no call is recorded whatever the policy says.
   */
  readonly recorder?: CallRecorder;
  /**
   * The files queued callers hear (media/prompt-files.ts). Without it nothing is played: the
   * signalling alone, as some unit tests want it.
   */
  readonly prompts?: { fileOf(prompt: Prompt): Promise<string> };
  /**
   * The site's callbacks (callback/callback-desk.ts): queued callers of skills that offer them
   * hear "press 1", and the ACD's assignments of callbacks go there. Without it, none is offered.
   */
  readonly callbacks?: CallbackDesk;
}

export class CallFlow implements RecordingDesk, WrapUpDesk {
  /** Calls this site is handling: queued, ringing, talking, or relayed to another site. */
  private readonly calls = new Map<string, LiveCall>();
  /** Calls whose agent is in wrap-up: for the WrapUpDone event. */
  private readonly wrapUps = new Map<string, LiveCall>();
  private timer: NodeJS.Timeout | undefined;
  private timerAt: number | undefined;
  private readonly tracing: CallTracing;
  /** Overflow signatures accepted lately: each is accepted once. */
  private readonly replay = new ReplayWindow();
  /** The calls' machine timers, by call id and timer id. */
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** Calls transferred from here whose callers have not come back with their tokens yet. */
  private readonly transfers = new PendingTransfers();
  /** While a resync is under way: the calls Kamailio reported (held, ringing or talking) so far. */
  private resyncing: Set<string> | undefined;
  /** While a resync is under way: the events Kamailio kept while no site agent listened. */
  private missed: KamailioEvent[] = [];
  /** Calls taken up from the previous run's state whose queue media has not resumed yet. */
  private readonly restored = new Set<string>();

  constructor(private readonly deps: CallFlowDeps) {
    this.tracing = deps.tracing ?? new CallTracing(deps.site.id);
    deps.callbacks?.attach((fx) => this.carryOut(fx));
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
   * The evapi link dropped. Kamailio keeps the suspended INVITEs for its restart grace and the
   * events of the calls that end meanwhile; the resync on reconnection says which calls are still
   * there. Until then every call stays as it is.
   */
  linkLost(): void {
    this.resyncing = undefined;
    this.deps.log.warn(
      { event: 'evapi_link_lost', calls: this.calls.size },
      'evapi link lost: calls wait for the resync when it is back',
    );
  }

  /**
   * The evapi link is up (again): asks Kamailio for what it holds. Its answer (held INVITEs,
   * INVITEs ringing agents, confirmed dialogs, missed events, then resync_done) reconciles this
   * site's calls.
   */
  linkUp(): void {
    this.resyncing = new Set();
    this.missed = [];
    this.deps.sendToKamailio({ action: 'resync' });
  }

  /** Every call this flow holds, with what a restart needs to take it up again (site-state.ts). */
  snapshot(): RestoredCall[] {
    return [...this.calls.values(), ...this.wrapUps.values()].map((c) => ({
      state: c.state,
      callerNumber: c.callerNumber,
    }));
  }

  /**
   * Takes up the calls of this site agent's previous run as they were (restore the ACD first);
   * the resync then tells which of them Kamailio still holds, and their queue media resumes.
   */
  restore(calls: readonly RestoredCall[]): void {
    for (const { state, callerNumber } of calls) {
      if (state.phase.name === 'done') continue;
      const call: LiveCall = {
        state,
        span: this.tracing.start(state.callId, state.context).span,
        callerNumber,
      };
      (state.phase.name === 'wrap_up' ? this.wrapUps : this.calls).set(state.callId, call);
      this.restored.add(state.callId);
    }
    this.schedule();
  }

  /** `replay`: a missed event, applied at resync_done. */
  private dispatch(event: KamailioEvent, replay = false): void {
    // Kept by Kamailio in no particular order (a hash table): applied at resync_done, in the order
    // they happen in.
    if (!replay && 'missed' in event && event.missed === true && this.resyncing) {
      this.missed.push(event);
      return;
    }
    switch (event.event) {
      case 'invite':
        return event.resync ? this.onHeld(event) : this.onInvite(event);
      case 'ringing':
        return this.onRinging(event);
      case 'talking':
        return this.onTalking(event);
      case 'resync_done':
        return this.reconcile(event);
      case 'invite_unusable':
        this.deps.log.warn(
          { event: 'invite_unusable', reason: event.reason },
          'refusing an INVITE whose event cannot be read',
        );
        return this.reply(event, 400, 'Bad Request');
      case 'cancel':
        return void this.feed(event.callid, { type: 'cancel' });
      case 'queue_timeout':
        return void this.feed(event.callid, { type: 'queue_timeout' });
      case 'agent_failed':
        return void this.feed(event.callid, {
          type: 'branch_failed',
          code: event.code,
          ...(event.requeued ? { requeued: { tindex: event.tindex, tlabel: event.tlabel } } : {}),
        });
      case 'answered':
        return void this.feed(event.callid, {
          type: 'answered',
          ...(event.toTag ? { agentTag: event.toTag } : {}),
        });
      case 'ended':
        return void this.feed(event.callid, { type: 'ended', by: event.by });
      case 'failed':
        return void this.feed(event.callid, {
          type: 'failed',
          ...(event.code !== undefined ? { code: event.code } : {}),
        });
      case 'cmd_failed':
        this.deps.log.warn(
          { event: 'kamailio_command_failed', action: event.action, callId: event.callid },
          'Kamailio could not carry out a command (the transaction had ended)',
        );
        if (event.action === 'relay' && event.callid)
          this.feed(event.callid, { type: 'relay_failed' });
        // The dialog was gone (the caller hung up as the agent transferred): the call's end is
        // already on its way from Kamailio; the agent is in wrap-up either way.
        if (event.action === 'transfer')
          this.deps.log.warn(
            { event: 'transfer_not_carried_out', callId: event.callid },
            'Kamailio could not refer the caller: the dialog had ended',
          );
        return;
      case 'media':
        return void this.feed(event.callid, {
          type: 'media_result',
          id: event.id,
          ok: event.ok === 1,
          durationMs: event.durationMs,
          ...(event.reason ? { reason: event.reason } : {}),
        });
      case 'routed':
        this.deps.log.debug(
          { event: 'call_routed', callId: event.callid, decisionUs: event.decisionUs },
          'Kamailio carried out a decision',
        );
        return;
      case 'transferring':
        this.deps.log.info(
          { event: 'transfer_referred', callId: event.callid },
          'Kamailio referred the caller to the transfer URI and released the agent',
        );
        return;
      case 'pong':
        return;
    }
  }

  /**
   * Resync: an INVITE Kamailio still holds suspended. A call of ours keeps its place (under the
   * transaction it is suspended as now); one ringing an agent here, or offered to another site,
   * failed while no site agent listened, and Kamailio suspended it again; one unknown here arrived
   * meanwhile, and is a new call from when Kamailio received it.
   */
  private onHeld(ev: Extract<KamailioEvent, { event: 'invite' }>): void {
    this.resyncing?.add(ev.callid);
    const call = this.calls.get(ev.callid);
    if (!call) return this.onInvite(ev, ev.tsS * 1000 + Math.floor(ev.tsU / 1000));
    const requeued = { tindex: ev.tindex, tlabel: ev.tlabel };
    if (call.state.phase.name === 'ringing' || call.state.phase.name === 'overflowing') {
      // (Kamailio's agent_failed event, with the failure's code, went to no one)
      this.feed(ev.callid, { type: 'branch_failed', code: 408, requeued });
      return;
    }
    call.state = { ...call.state, transaction: { ...call.state.transaction, ...requeued } };
    if (this.restored.delete(ev.callid)) this.feed(ev.callid, { type: 'resumed' });
  }

  /**
   * Resync: an INVITE Kamailio relayed to an agent, not answered yet. A call the site state still
   * had queued (relayed after its last write) is ringing that agent: the agent is reserved for it
   * and no one else gets it.
   */
  private onRinging(ev: Extract<KamailioEvent, { event: 'ringing' }>): void {
    this.resyncing?.add(ev.callid);
    const call = this.calls.get(ev.callid);
    if (call?.state.phase.name !== 'queued') return;
    let fx: Effects;
    try {
      fx = this.deps.acd.adoptRinging(ev.callid, ev.agent);
    } catch (err) {
      // The agent is on another call in the site state, or not this site's: the call stays out of
      // the queue, its phone's answer or failure settles it.
      this.deps.log.warn(
        {
          event: 'resync_ringing_not_adopted',
          callId: ev.callid,
          agent: ev.agent,
          err: String(err),
        },
        'Kamailio rings an agent the site state cannot reserve for this call',
      );
      this.deps.acd.withdraw(ev.callid);
      return;
    }
    this.feed(ev.callid, { type: 'assigned', agentId: ev.agent, uri: '', relayed: true });
    this.apply(fx);
  }

  /**
   * Resync: a confirmed dialog. A call ringing here was answered while no site agent listened;
   * a talking one goes on.
   */
  private onTalking(ev: Extract<KamailioEvent, { event: 'talking' }>): void {
    this.resyncing?.add(ev.callid);
    const call = this.calls.get(ev.callid);
    if (!call) {
      this.deps.log.warn(
        { event: 'resync_unknown_dialog', callId: ev.callid, agent: ev.agent },
        'Kamailio holds a dialog this site agent does not know',
      );
      return;
    }
    if (call.state.phase.name === 'ringing')
      this.feed(ev.callid, { type: 'answered', ...(ev.toTag ? { agentTag: ev.toTag } : {}) });
  }

  /**
   * Resync done: what Kamailio no longer holds is over. A queued call it does not hold got the
   * fallback (the grace ran out); a talking call without its dialog ended unheard. Then waiting
   * calls go to ready agents.
   */
  private reconcile(ev: Extract<KamailioEvent, { event: 'resync_done' }>): void {
    const seen = this.resyncing ?? new Set<string>();
    this.resyncing = undefined;
    this.restored.clear();
    // A CANCEL or queue timeout comes before the dialog's failure it causes.
    const order = ['cancel', 'queue_timeout', 'failed', 'ended'];
    const missed = this.missed.sort((a, b) => order.indexOf(a.event) - order.indexOf(b.event));
    this.missed = [];
    for (const event of missed) this.dispatch(event, true);
    let released = 0;
    let ended = 0;
    for (const call of [...this.calls.values()]) {
      const { callId, phase } = call.state;
      if (seen.has(callId)) continue;
      if (phase.name === 'queued' && this.feed(callId, { type: 'link_lost' })) released += 1;
      if (phase.name === 'talking' && this.feed(callId, { type: 'ended', by: 'unknown' }))
        ended += 1;
    }
    this.deps.log.info(
      {
        event: 'resync_done',
        held: ev.held,
        ringing: ev.ringing,
        talking: ev.talking,
        missed: ev.missed,
        released,
        ended,
        calls: this.calls.size,
      },
      'reconciled the calls with what Kamailio holds',
    );
    this.apply(this.deps.acd.tick());
  }

  /** `arrivedMs`: when Kamailio received the INVITE, for one replayed on resync. */
  private onInvite(ev: Extract<KamailioEvent, { event: 'invite' }>, arrivedMs?: number): void {
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
    const grant = this.transferGrantOf(ev, now);
    const hash = grant
      ? grant.callerHash
      : this.deps.callerHashKey
        ? callerHash(this.deps.callerHashKey, ev.fromUser)
        : '';
    const result = grant
      ? { ok: true as const, context: transferredContext(grant, this.deps.site.id) }
      : callContext({
          topology: this.deps.topology,
          siteId: this.deps.site.id,
          dialedNumber: ev.ruriUser,
          headers: inbound.headers,
          nowMs: Math.min(arrivedMs ?? now, now),
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
    // A transfer is an agent's choice of site: the target takes it whatever its queue.
    if (context.originSite && !context.transfer && !this.canServeOverflow(ev.callid, context)) {
      this.reply(ev, 486, 'Cannot Serve In Time');
      this.tracing.end(span, context.skill, 'refused');
      return;
    }

    const tenant = this.deps.topology.tenants.find((t) => t.id === context.tenantId);
    const offerAfterS = this.deps.callbacks
      ? skillById(this.deps.topology, context.skill)?.callback?.offerAfterSeconds
      : undefined;
    const state = newCall({
      callId: ev.callid,
      context,
      callerHash: hash,
      dialedNumber: ev.ruriUser,
      fromTag: ev.fromTag,
      cseq: ev.cseq,
      acceptsRefer: ev.refer === true,
      transaction: { tindex: ev.tindex, tlabel: ev.tlabel, tsS: ev.tsS, tsU: ev.tsU },
      serviceLevel: this.serviceLevelOf(context.skill),
      record:
        this.deps.recorder !== undefined &&
        tenant !== undefined &&
        recordingDecision(tenant, context.skill, ev.callid).record,
      media: this.mediaSettingsOf(context.skill, ev.ruriUser),
      ...(offerAfterS === undefined ? {} : { callbackOfferAfterMs: offerAfterS * 1000 }),
      // An INVITE from another site's Kamailio: that site times the branch out unless told.
      ...(ev.trust === 'peer'
        ? { peerProgressMs: peerProgressIntervalMs(this.deps.topology) }
        : {}),
    });
    const call: LiveCall = { state, span, callerNumber: ev.fromUser };
    this.calls.set(ev.callid, call);
    const target =
      grant && grant.targetSiteId !== this.deps.site.id
        ? this.deps.topology.sites.find((s) => s.id === grant.targetSiteId)
        : undefined;
    this.carry(
      call,
      target
        ? arriveToTransfer(state, {
            target,
            topology: this.deps.topology,
            siteId: this.deps.site.id,
            signingKey: this.deps.federationKeys[0]!,
            nowMs: now,
          })
        : arrive(state),
    );
  }

  /**
   * The transfer an INVITE's token claims (its Request-URI's ccxfer), if it verifies. A token that
   * does not is logged and ignored: the INVITE is a new call to the number it dialed.
   */
  private transferGrantOf(
    ev: Extract<KamailioEvent, { event: 'invite' }>,
    nowMs: number,
  ): TransferGrant | undefined {
    if (!ev.xfer) return undefined;
    const claimed = this.transfers.claim(this.deps.federationKeys, ev.xfer, nowMs);
    if (claimed.ok) return claimed.grant;
    this.deps.log.warn(
      { event: 'transfer_token_refused', callId: ev.callid, reason: claimed.reason },
      'an INVITE with a transfer token that does not hold: served as a new call',
    );
    return undefined;
  }

  // ---- transfer -------------------------------------------------------------------------------

  /**
   * Blind-transfers the call `callId` that `agentId` is talking on to `skill` at `siteId` (empty:
   * this site); `by` names who asked. Throws TransferError: invalid_target (unknown skill or site,
   * a site without the skill), not_transferable (not this agent's call, or not talking).
   */
  transfer(req: {
    readonly agentId: string;
    readonly callId: string;
    readonly skill: string;
    readonly siteId: string;
    readonly by: string;
  }): { readonly callId: string; readonly targetSiteId: string; readonly skill: string } {
    const target = transferTarget(this.deps.topology, { ...req, fromSiteId: this.deps.site.id });
    const call = this.calls.get(req.callId);
    const phase = call?.state.phase;
    if (!call || phase?.name !== 'talking' || phase.agentId !== req.agentId)
      throw new TransferError(
        `agent ${req.agentId} is not talking on call ${req.callId.slice(0, 64)}`,
        'not_transferable',
      );
    if (!call.state.acceptsRefer)
      throw new TransferError(
        `call ${req.callId.slice(0, 64)}: the caller's phone does not take REFER (its INVITE's Allow); the call stays with the agent`,
        'not_transferable',
      );
    if (!phase.agentTag)
      throw new TransferError(
        `call ${req.callId.slice(0, 64)}: Kamailio did not name the agent's dialog side`,
        'not_transferable',
      );
    const now = this.deps.clock.now();
    const { state } = call;
    const token = this.transfers.add(
      this.deps.federationKeys[0]!,
      {
        callId: state.callId,
        arrivalMs: state.context.arrivalMs,
        transferredAtMs: now,
        targetSiteId: target.id,
        skill: req.skill,
        fromAgentId: req.agentId,
        context: state.context,
        callerHash: state.callerHash,
      },
      randomBytes(16).toString('base64url'),
    );
    this.safely('transfer', () =>
      this.feed(req.callId, {
        type: 'transfer',
        targetSiteId: target.id,
        skill: req.skill,
        referTo: referTo(this.deps.site, state.dialedNumber, token),
        by: req.by,
      }),
    );
    return { callId: req.callId, targetSiteId: target.id, skill: req.skill };
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
    for (const [callId, { state }] of this.calls) {
      if (state.phase.name !== 'queued') continue;
      const expectedWaitMs = this.deps.acd.expectedWaitOf(callId);
      if (expectedWaitMs === undefined) continue;
      const { context } = state;
      waiting.push({
        callId,
        skill: context.skill,
        tenantId: context.tenantId,
        tier: context.tier,
        expectedWaitMs,
        waitedMs: now - context.arrivalMs,
        hops: context.hops + (state.overflowTried ? 1 : 0),
        traceparent: context.traceparent,
      });
    }
    return waiting;
  }

  /** The call asks the router for a better site. */
  overflowRequested(callId: string, expectedWaitMs: number, thresholdMs: number): void {
    this.feed(callId, { type: 'overflow_requested', expectedWaitMs, thresholdMs });
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
    if (!call || !site || this.deps.acd.expectedWaitOf(callId) === undefined) return false;
    const moved = this.feed(callId, {
      type: 'move_out',
      target: site,
      decisionId: target.decisionId,
      topology: this.deps.topology,
      signingKey: this.deps.federationKeys[0]!,
    });
    if (moved) this.deps.onChange?.();
    return moved;
  }

  // ---- recording control (PCI pause) ------------------------------------------------------------

  /**
   * Pauses (or resumes) the recording of the call `agentId` is talking on; `by` names who asked.
   * Pausing a paused recording (resuming a running one) changes nothing and answers its state.
   * Throws RecordingControlError when the agent is on no call, or the call is not recorded.
   */
  recordingControl(agentId: string, op: 'pause' | 'resume', by: string): RecordingView {
    const call = [...this.calls.values()].find(
      (c) => c.state.phase.name === 'talking' && c.state.phase.agentId === agentId,
    );
    if (!call)
      throw new RecordingControlError(`agent ${agentId} is not talking on a call`, 'not_on_call');
    const { callId } = call.state;
    if (call.state.recording.state !== 'recording' && call.state.recording.state !== 'paused')
      throw new RecordingControlError(
        `call ${callId} of agent ${agentId} is not being recorded`,
        'not_recorded',
      );
    this.feed(callId, { type: op === 'pause' ? 'pause_recording' : 'resume_recording', by });
    return {
      callId,
      recordingId: this.deps.recorder?.recordingIdOf(callId) ?? '',
      state: call.state.recording.state === 'paused' ? 'paused' : 'recording',
    };
  }

  // ---- wrap-up -----------------------------------------------------------------------------------

  /**
   * The agent submitted the wrap-up of `callId`: the call keeps what it recorded for its
   * WrapUpDone event, and the ACD ends the agent's wrap-up now instead of at the skill's time.
   * Throws WrapUpError when the agent is not wrapping up that call (the time may have run out).
   */
  completeWrapUp(agentId: string, callId: string, record: WrapUpRecord): void {
    const call = this.wrapUps.get(callId);
    const phase = call?.state.phase;
    if (!call || phase?.name !== 'wrap_up' || phase.agentId !== agentId)
      throw new WrapUpError(
        `agent ${agentId} is not wrapping up call ${callId.slice(0, 64)} (its wrap-up may have ended)`,
      );
    this.feed(callId, { type: 'wrap_up_recorded', agentId, record });
    let fx;
    try {
      fx = this.deps.acd.endWrapUp(agentId, callId);
    } catch (err) {
      if (err instanceof IllegalTransitionError) throw new WrapUpError(err.message);
      throw err;
    }
    this.carryOut(fx);
  }

  // ---- silent monitoring ---------------------------------------------------------------------------

  /** The call `callId` while an agent of this site talks on it: what monitoring needs of it. */
  talkingCall(callId: string): TalkingCall | undefined {
    const state = this.calls.get(callId)?.state;
    if (state?.phase.name !== 'talking') return undefined;
    return {
      callId,
      callerTag: state.fromTag,
      agentId: state.phase.agentId,
      tenantId: state.context.tenantId,
    };
  }

  /** A key a party of a call pressed, as rtpengine reported it. */
  dtmf(event: DtmfEvent): void {
    this.safely('dtmf', () =>
      this.feed(event.callId, {
        type: 'dtmf',
        digit: event.digit,
        sourceTag: event.sourceTag,
        durationMs: event.durationMs,
      }),
    );
  }

  /**
   * A callback for the queued call `callId` (asked through the API by `requestedBy`): the caller
   * keeps their place as a callback and their call ends. Only a call of `tenantIds`.
   */
  requestCallback(
    callId: string,
    requestedBy: string,
    tenantIds: ReadonlySet<string> | 'all',
  ): { ok: PendingCallback } | { refused: TakeRefusal } {
    const call = this.calls.get(callId);
    if (
      !call ||
      call.state.phase.name !== 'queued' ||
      (tenantIds !== 'all' && !tenantIds.has(call.state.context.tenantId))
    )
      return { refused: { kind: 'not_queued' } };
    let result: { ok: PendingCallback } | { refused: TakeRefusal } = {
      refused: { kind: 'not_queued' },
    };
    this.safely('callback', () => {
      result = this.takeCallback(call, 'api', requestedBy);
    });
    return result;
  }

  /** Takes a callback for a queued call; when taken, the call's machine ends the call. */
  private takeCallback(
    call: LiveCall,
    origin: 'dtmf' | 'api',
    requestedBy: string,
  ): { ok: PendingCallback } | { refused: TakeRefusal } {
    const desk = this.deps.callbacks;
    const { state } = call;
    if (!desk) return { refused: { kind: 'not_offered', skill: state.context.skill } };
    if (state.phase.name !== 'queued' || this.deps.acd.expectedWaitOf(state.callId) === undefined)
      return { refused: { kind: 'not_queued' } };
    const r = desk.take({
      tenantId: state.context.tenantId,
      skill: state.context.skill,
      number: call.callerNumber,
      callerHash: state.callerHash,
      customerId: state.context.customerId,
      traceparent: state.context.traceparent,
      tier: state.context.tier,
      arrivalMs: state.context.arrivalMs,
      originCallId: state.callId,
      scheduled: false,
      origin,
      requestedBy,
    });
    if ('ok' in r) this.feed(state.callId, { type: 'callback_taken' });
    return r;
  }

  /** Stops the wrap-up timer; calls in progress stay with Kamailio (their spans end here). */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const callId of [...this.calls.keys()]) this.feed(callId, { type: 'stop' });
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
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

  // ---- the call machine's effects -------------------------------------------------------------

  /** Steps the call with `input`; false when there is no such call or the input did not apply. */
  private feed(callId: string, input: CallInput): boolean {
    const call = this.calls.get(callId) ?? this.wrapUps.get(callId);
    if (!call) return false;
    const next = step(call.state, input, this.deps.clock.now(), this.deps.site.id);
    // A step may change only the state (a CANCEL while ringing marks the call, nothing else).
    const changed = next.state !== call.state;
    this.carry(call, next);
    return changed;
  }

  /**
   * Carries out one step of a call, in order. The ACD's own effects are gathered and carried out
   * after the step's (another call's assignment may step that call in turn).
   */
  private carry(call: LiveCall, next: Step): void {
    const { callId } = next.state;
    call.state = next.state;
    const acdEffects: Effects[] = [];
    for (const effect of next.effects) {
      switch (effect.type) {
        case 'transition':
          call.span.addEvent('leg', { leg: effect.leg, from: effect.from, to: effect.to });
          break;
        case 'kamailio':
          this.deps.sendToKamailio(effect.command);
          break;
        case 'publish':
          this.publishCall(callId, call.state, effect.kind);
          break;
        case 'day_stats':
          if (effect.op === 'answered')
            this.deps.dayStats.answered(
              call.state.context.skill,
              effect.waitedMs,
              call.state.serviceLevel.thresholdMs,
            );
          else if (effect.op === 'offered') this.deps.dayStats.offered(call.state.context.skill);
          else this.deps.dayStats.abandoned(call.state.context.skill);
          break;
        case 'log':
          this.deps.log[effect.level](
            { event: effect.event, callId, ...effect.fields },
            effect.message,
          );
          break;
        case 'leave':
          this.calls.delete(callId);
          if (effect.outcome === 'callback') this.deps.callbacks?.callerLeft(callId);
          this.tracing.end(call.span, call.state.context.skill, effect.outcome);
          if (call.state.phase.name === 'wrap_up') this.wrapUps.set(callId, call);
          break;
        case 'acd':
          if (effect.op === 'announcement') this.announcement(callId);
          else this.acdOp(call, effect.op, acdEffects);
          break;
        case 'media':
          this.media(call, effect.action);
          break;
        case 'start_timer':
          this.startTimer(callId, effect.id, effect.afterMs);
          break;
        case 'cancel_timer':
          clearTimeout(this.timers.get(`${callId} ${effect.id}`));
          this.timers.delete(`${callId} ${effect.id}`);
          break;
        case 'recording':
          this.recordingOp(call, effect);
          break;
        case 'callback': {
          const r = this.takeCallback(call, 'dtmf', '');
          if ('refused' in r)
            this.feed(callId, { type: 'callback_refused', reason: r.refused.kind });
          break;
        }
      }
    }
    if (call.state.phase.name === 'done') this.wrapUps.delete(callId);
    for (const fx of acdEffects) this.apply(fx);
  }

  /** Where a queued call stands, for its announcement. */
  private announcement(callId: string): void {
    const standing = this.deps.acd.announcementOf(callId);
    this.feed(callId, {
      type: 'announcement',
      ...(standing ? { position: standing.position, waitMs: standing.waitMs } : {}),
    });
  }

  /**
   * A play or stop for Kamailio to carry out on the call's rtpengine session. A play waits for
   * its file (an announcement is assembled first) and is sent only if it is still what the call
   * should hear: the call may have been answered or moved meanwhile.
   */
  private media(call: LiveCall, action: MediaAction): void {
    const { callId, fromTag } = call.state;
    if (action.op === 'stop') {
      this.deps.sendToKamailio({ action: 'stop', id: action.id, callid: callId, fromTag });
      return;
    }
    const { prompts } = this.deps;
    if (!prompts) return;
    prompts.fileOf(action.prompt).then(
      (file) => {
        const now = this.calls.get(callId);
        if (now?.state.media.current?.id !== action.id) return;
        if (
          !this.deps.sendToKamailio({
            action: 'play',
            id: action.id,
            callid: callId,
            fromTag,
            file,
          })
        )
          this.mediaFailed(callId, action.id, 'evapi link down');
      },
      (err: unknown) => this.mediaFailed(callId, action.id, (err as Error).message),
    );
  }

  private mediaFailed(callId: string, id: string, reason: string): void {
    this.safely('media_result', () =>
      this.feed(callId, { type: 'media_result', id, ok: false, durationMs: -1, reason }),
    );
  }

  private startTimer(callId: string, id: string, afterMs: number): void {
    const key = `${callId} ${id}`;
    clearTimeout(this.timers.get(key));
    this.timers.set(
      key,
      setTimeout(() => {
        this.timers.delete(key);
        this.safely('timer', () => this.feed(callId, { type: 'timer', id }));
      }, afterMs),
    );
  }

  /** Runs an input that did not come from Kamailio the way handle() runs Kamailio's. */
  private safely(what: string, run: () => void): void {
    try {
      run();
    } catch (err) {
      this.deps.log.error(
        { event: 'call_flow_error', input: what, err },
        'could not handle an input',
      );
    }
    this.deps.onChange?.();
    this.schedule();
  }

  /** One request to the ACD for `call`; what it answers about the call itself steps the call. */
  private acdOp(
    call: LiveCall,
    op: Extract<CallEffect, { type: 'acd' }>['op'],
    later: Effects[],
  ): void {
    const { acd } = this.deps;
    const { callId, context } = call.state;
    switch (op) {
      case 'offer': {
        const offer = acd.offer({
          callId,
          tenantId: context.tenantId,
          skill: context.skill,
          tier: context.tier,
          arrivalMs: context.arrivalMs,
        });
        // An assignment straight away is among the offer's effects.
        later.push(offer.effects);
        if (offer.kind === 'queued')
          this.feed(callId, {
            type: 'queued',
            position: offer.position,
            expectedWaitMs: offer.expectedWaitMs,
          });
        return;
      }
      case 'ring_failed': {
        const fx = acd.ringFailed(callId);
        // The ACD may have given the call to another agent at once; else it waits again.
        this.apply(fx);
        const expectedWaitMs = acd.expectedWaitOf(callId);
        if (expectedWaitMs !== undefined) {
          const position = acd.queuedCalls(context.skill).findIndex((c) => c.callId === callId) + 1;
          this.feed(callId, { type: 'queued', position, expectedWaitMs });
        }
        return;
      }
      case 'answered':
        later.push(acd.answered(callId));
        return;
      case 'hang_up':
        later.push(acd.hangUp(callId).effects);
        return;
      case 'withdraw':
        acd.withdraw(callId);
        return;
      case 'abandon':
        try {
          later.push(acd.abandon(callId).effects);
        } catch (err) {
          // Not in the ACD (already withdrawn for overflow): nothing to let go of.
          if (!(err instanceof AcdError)) throw err;
        }
        return;
    }
  }

  /** One recording effect, to the recorder (which never throws: it publishes its failures). */
  private recordingOp(call: LiveCall, effect: Extract<CallEffect, { type: 'recording' }>): void {
    const recorder = this.deps.recorder;
    if (!recorder) return;
    const { callId, context } = call.state;
    switch (effect.op) {
      case 'start':
        return recorder.start({
          callId,
          callerTag: call.state.fromTag,
          tenantId: context.tenantId,
          skill: context.skill,
          agentId: effect.agentId,
        });
      case 'pause':
        return recorder.pause(callId, effect.by);
      case 'resume':
        return recorder.resume(callId, effect.by);
      case 'stop':
        return recorder.stop(callId, effect.reason);
    }
  }

  /** Carries out the ACD's effects: agent events first (reserved), then ring the agents. */
  private apply(fx: Effects): void {
    const now = this.deps.clock.now();
    for (const change of fx.agentChanges) {
      const sinceMs = this.deps.roster.sinceOf(change.agentId);
      this.deps.roster.changed(change.agentId, now);
      this.publishAgent(agentEventOf(change, this.deps.stamper.stamp(change.tenantId), sinceMs));
      if (change.from.name === 'wrap_up' && change.to.name !== 'wrap_up')
        this.feed(change.from.callId, { type: 'wrap_up_done' });
    }
    for (const a of fx.assignments) {
      if (this.deps.callbacks?.assigned(a)) continue;
      this.feed(a.callId, {
        type: 'assigned',
        agentId: a.agentId,
        uri: this.deps.roster.contactOf(a.agentId),
      });
    }
  }

  /** What a queued call of `skillId` dialed on `number` hears (topology: skill, number, site). */
  private mediaSettingsOf(skillId: string, number: string): QueueMediaSettings {
    const { queueMedia } = skillById(this.deps.topology, skillId)!;
    return {
      language: languageOfNumber(this.deps.topology, number),
      ringback: `tones/ringback-${this.deps.site.media.ringback}`,
      ringbackMs: queueMedia.ringbackSeconds * 1000,
      announceEveryMs: queueMedia.announceEverySeconds * 1000,
      ...(queueMedia.music === undefined ? {} : { music: queueMedia.music }),
    };
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

  private publishCall(callId: string, state: CallState, kind: CallEvent['kind']): void {
    const { context } = state;
    // What happens once per call at a site has an id of its own: published again after a restart
    // (the outbox had it, the site state did not yet), it is stored once.
    const once = kind && ONCE_PER_CALL.has(kind.$case) ? `${callId}/${kind.$case}` : undefined;
    const event: CallEvent = {
      meta: this.deps.stamper.stamp(context.tenantId, context.traceparent, once),
      callId,
      skill: context.skill,
      tier: context.tier,
      customerId: context.customerId,
      callerHash: state.callerHash,
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

/** Call events that happen at most once per call at a site. */
const ONCE_PER_CALL: ReadonlySet<string> = new Set(['offered', 'answered', 'abandoned', 'ended']);

/** A call as site-state.ts keeps it across a restart. */
export interface RestoredCall {
  readonly state: CallState;
  readonly callerNumber: string;
}

/** A call at this site: its machine's state and its span. */
interface LiveCall {
  state: CallState;
  readonly span: Span;
  /**
   * The caller's number as their INVITE's From presents it: only for a callback they may ask
   * for, never in an event or a log line ('' for calls that did not come with one).
   */
  readonly callerNumber: string;
}
