// A site's callbacks between sites (docs/callbacks.md, "Served at another site"): at the origin,
// which pending callbacks may ask the router for another site and the handover the router's choice
// starts; at the target, whether to take a callback another site hands over, and taking it at its
// original place. The rules are in handover.ts (pure); the callbacks themselves are the desk's
// (callback-desk.ts), which hands this module the pieces it needs (DeskCore).
//
// The confirm step (docs/callbacks.md, "Never at two sites"): the target takes a callback
// provisionally (held, never dialed); the origin journals its decision (committed) before the
// callback leaves it, then tells the target (settle, repeated by tick() until answered); a target
// that heard nothing asks the origin (tick(), outcome), which says "aborted" only of a handover it
// never committed, stopping one still waiting for its answer first.

import type { Clock } from '@ccfed/common';
import type { CallEvent } from '@ccfed/proto';
import type { Topology } from '@ccfed/topology';
import type { Logger } from 'pino';
import type { Acd, Effects } from '../acd/acd.js';
import type { Callback, CallbackBook, CallbackPolicy } from '../acd/callbacks.js';
import type { CallbackStore } from './callback-store.js';
import {
  handoverAcceptance,
  originOnQuery,
  PROVISIONAL_ASK_AFTER_MS,
  SETTLE_RETRY_MS,
  targetOnDecision,
  targetOnRequest,
  type Handover,
  type HandoverQuery,
  type HandoverSettlement,
} from './handover.js';

/** The channel between sites (handover-client.ts): each call rejects when no answer came. */
export interface HandoverChannel {
  /** Asks `targetSiteId` to take the callback (provisionally): its answer. */
  handOver(
    targetSiteId: string,
    handover: Handover,
  ): Promise<{ readonly accepted: boolean; readonly reason: string }>;
  /** Tells `targetSiteId` the origin's decision; `known`: the target had a trace of it. */
  settle(targetSiteId: string, s: HandoverSettlement): Promise<{ readonly known: boolean }>;
  /** Asks `originSiteId` what it decided on a handover this site holds provisionally. */
  outcome(originSiteId: string, q: HandoverQuery): Promise<{ readonly committed: boolean }>;
}

/** The former name of the channel's first call, kept for its callers. */
export type HandOverCallback = HandoverChannel['handOver'];

/** A pending callback as the overflow trigger sees it (overflow/trigger.ts, outbound.ts). */
export interface WaitingCallback {
  readonly callId: string;
  readonly skill: string;
  readonly tenantId: string;
  readonly tier: number;
  readonly waitedMs: number;
  readonly expectedWaitMs: number;
  readonly hops: number;
  readonly traceparent: string;
}

/** How long a site remembers a callback it took from another site (a repeat is answered taken). */
export const HANDED_IN_MEMORY_MS = 10 * 60_000;

export interface HandoverDeskDeps {
  readonly clock: Clock;
  readonly topology: Topology;
  readonly acd: Acd;
  readonly store: CallbackStore;
  readonly log: Logger;
  /** This site's id (the origin a handover names). */
  readonly siteId?: string;
  /** The channel to other sites; without it callbacks are served here only. */
  readonly handoverChannel?: HandoverChannel;
}

/** What the desk lends: its book, its events' envelopes and its ways of acting on a callback. */
export interface DeskCore {
  readonly book: CallbackBook;
  readonly envelopes: Map<string, { customerId: string; traceparent: string }>;
  policyOf(skill: string): (CallbackPolicy & { serviceLevelMs: number }) | undefined;
  /** Whether the caller of this callback is still on the line (hearing it confirmed). */
  callerOnLine(id: string): boolean;
  carryOut(fx: Effects): void;
  offer(cb: Callback): void;
  publish(cb: Callback, kind: NonNullable<CallEvent['kind']>): void;
}

export type ReceiveAnswer =
  | { readonly accepted: true; readonly expectedWaitMs: number }
  | { readonly accepted: false; readonly reason: string };

export class HandoverDesk {
  /**
   * When each callback's last handover was refused: it does not ask the router again before the
   * topology's re-request interval, as a caller would not (the trigger forgot it while it was away).
   */
  private readonly handoverRefusedAt = new Map<string, number>();

  /** Attempts whose turn came while their callback was being handed over: dialed if it stays. */
  private readonly heldForHandover = new Map<string, () => void>();

  /** Settlements and queries under way or waiting to be sent again (callback id → not before). */
  private readonly settling = new Map<string, { inFlight: boolean; nextAtMs: number }>();
  private readonly asking = new Map<string, { inFlight: boolean; nextAtMs: number }>();

  constructor(
    private readonly deps: HandoverDeskDeps,
    private readonly core: DeskCore,
  ) {}

  /** The callback's turn came while it is being handed over: `dial` runs if it stays here. */
  holdTurn(id: string, dial: () => void): void {
    this.heldForHandover.set(id, dial);
  }

  /**
   * The pending callbacks that may ask the router for another site (overflow/outbound.ts): held
   * and taken here, queued (not dialing, not reserved), due, and no caller still on the line.
   * Their wait so far runs from their place (arrival or scheduled time).
   */
  waitingCallbacks(): WaitingCallback[] {
    if (!this.deps.handoverChannel) return [];
    const { book } = this.core;
    const now = this.deps.clock.now();
    const againAfterMs = this.deps.topology.routing.reRequestIntervalSeconds * 1000;
    for (const [id, at] of this.handoverRefusedAt)
      if (now - at >= againAfterMs || !book.get(id)) this.handoverRefusedAt.delete(id);
    const waiting: WaitingCallback[] = [];
    for (const cb of book.pending()) {
      if (!book.mayHandOver(cb.id, now) || this.core.callerOnLine(cb.id)) continue;
      if (this.handoverRefusedAt.has(cb.id)) continue;
      const expectedWaitMs = this.deps.acd.expectedWaitOf(cb.id);
      if (expectedWaitMs === undefined) continue;
      waiting.push({
        callId: cb.id,
        skill: cb.skill,
        tenantId: cb.tenantId,
        tier: cb.tier,
        waitedMs: Math.max(0, now - cb.arrivalMs),
        expectedWaitMs,
        hops: 0,
        traceparent: this.core.envelopes.get(cb.id)?.traceparent ?? '',
      });
    }
    return waiting;
  }

  /**
   * The router chose `target` for callback `id`: hands it over (asynchronously). The callback
   * stays held here, in its place, until the target answers and this site has journaled its
   * decision; committed, it leaves this site; refused, unreachable or stopped, it stays. False
   * when it may not be handed over now.
   */
  handOver(id: string, target: { readonly siteId: string; readonly decisionId: string }): boolean {
    const { handoverChannel: channel, siteId } = this.deps;
    const { book } = this.core;
    if (!channel || !siteId || target.siteId === siteId || target.decisionId === '') return false;
    if (!book.mayHandOver(id, this.deps.clock.now()) || this.core.callerOnLine(id)) return false;
    const cb = book.beginHandover(id, {
      targetSiteId: target.siteId,
      decisionId: target.decisionId,
    });
    const envelope = this.core.envelopes.get(id) ?? { customerId: '', traceparent: '' };
    const handover: Handover = {
      callbackId: cb.id,
      originSiteId: siteId,
      tenantId: cb.tenantId,
      skill: cb.skill,
      tier: cb.tier,
      number: cb.number,
      callerHash: cb.callerHash,
      customerId: envelope.customerId,
      arrivalMs: cb.arrivalMs,
      requestedAtMs: cb.requestedAtMs,
      scheduled: cb.scheduled,
      attempts: cb.attempts,
      ...(cb.notBeforeMs === undefined ? {} : { notBeforeMs: cb.notBeforeMs }),
      decisionId: target.decisionId,
      traceparent: envelope.traceparent,
    };
    this.deps.log.info(
      {
        event: 'callback_handover_started',
        callbackId: id,
        target: target.siteId,
        decisionId: target.decisionId,
      },
      'callback: the router chose another site; handing it over',
    );
    channel.handOver(target.siteId, handover).then(
      (answer) =>
        answer.accepted
          ? this.accepted(id, target)
          : this.stays(id, target, answer.reason, { mayHoldIt: false }),
      (err: unknown) =>
        this.stays(id, target, `unreachable: ${(err as Error).message}`, { mayHoldIt: true }),
    );
    return true;
  }

  /**
   * Whether this site takes a callback another site hands it (handoverAcceptance: not drained, an
   * agent of the tenant staffed, its expected wait at its own place within the skill's threshold
   * in force), and if so takes it provisionally (held, not dialed, until the origin commits). A
   * repeat of a handover already taken, or served, is answered as taken.
   */
  receiveHandover(
    h: Handover,
    site: { readonly thresholdMs: number | undefined; readonly drained: boolean },
  ): ReceiveAnswer {
    const now = this.deps.clock.now();
    const { book } = this.core;
    const held = book.get(h.callbackId);
    const action = targetOnRequest(
      h,
      held && heldView(held),
      this.deps.store.handovers.confirmed(h.callbackId, now),
      this.deps.acd.phaseOf(h.callbackId) !== undefined,
    );
    if (action === 'repeat')
      return { accepted: true, expectedWaitMs: this.deps.acd.expectedWaitOf(h.callbackId) ?? 0 };
    if (action === 'in use') return { accepted: false, reason: 'id in use' };
    if (action === 'replace' && held) this.drop(held, 'a later handover of it came');
    const expectedWaitMs = this.deps.acd.expectedWaitIfOffered({
      tenantId: h.tenantId,
      skill: h.skill,
      tier: h.tier,
      arrivalMs: h.arrivalMs,
      ...(h.notBeforeMs === undefined ? {} : { notBeforeMs: h.notBeforeMs }),
    });
    const verdict = handoverAcceptance({ expectedWaitMs, ...site });
    if (!verdict.accept) {
      this.deps.log.info(
        {
          event: 'callback_handover_declined',
          callbackId: h.callbackId,
          originSite: h.originSiteId,
          expectedWaitMs,
          reason: verdict.reason,
        },
        'declined a callback another site offered: it stays there',
      );
      return { accepted: false, reason: verdict.reason };
    }
    const r = this.takeProvisionally(h);
    if ('refused' in r) return { accepted: false, reason: r.refused };
    return { accepted: true, expectedWaitMs };
  }

  /**
   * The origin's decision on a handover this site accepted (SettleCallbackHandover): committed,
   * the callback is served here from now on; aborted, it is dropped. `known`: false when this site
   * has no trace of that handover.
   */
  settle(s: HandoverSettlement): { readonly known: boolean } {
    const held = this.core.book.get(s.callbackId);
    const action = targetOnDecision(
      s,
      held && heldView(held),
      this.deps.store.handovers.confirmed(s.callbackId, this.deps.clock.now()),
    );
    if (action === 'confirm' && held) this.confirm(held);
    else if (action === 'drop' && held) this.drop(held, 'the origin aborted the handover');
    else if (action === 'unknown')
      this.deps.log.error(
        {
          event: 'callback_handover_unknown',
          callbackId: s.callbackId,
          originSite: s.originSiteId,
          decisionId: s.decisionId,
        },
        'the origin committed a handover this site holds no trace of',
      );
    return { known: action !== 'unknown' };
  }

  /**
   * What this site (the origin) decided on a handover the target `q.targetSiteId` asks about
   * (GetCallbackHandoverOutcome): committed only if journaled so; a handover still waiting for
   * that target's answer is stopped first (the callback stays here), so "aborted" stays true.
   */
  outcome(q: HandoverQuery): { readonly committed: boolean } {
    const cb = this.core.book.get(q.callbackId);
    const answer = originOnQuery(
      q,
      this.deps.store.handovers.committed(q.callbackId),
      cb?.handingOver,
    );
    if (answer.stop)
      this.stays(
        q.callbackId,
        { siteId: q.targetSiteId, decisionId: q.decisionId },
        'aborted: the target asked before its answer came',
        { mayHoldIt: false },
      );
    this.deps.log.info(
      {
        event: 'callback_handover_outcome_asked',
        callbackId: q.callbackId,
        target: q.targetSiteId,
        decisionId: q.decisionId,
        committed: answer.committed,
      },
      'a target asked what this site decided on a handover',
    );
    return { committed: answer.committed };
  }

  /**
   * Sends what is due: the origin's committed decisions not yet acknowledged (again every
   * SETTLE_RETRY_MS), and the target's questions about provisional callbacks it has heard nothing
   * about for PROVISIONAL_ASK_AFTER_MS (again every SETTLE_RETRY_MS while unanswered).
   */
  tick(): void {
    const channel = this.deps.handoverChannel;
    const { siteId } = this.deps;
    if (!channel || !siteId) return;
    const now = this.deps.clock.now();
    for (const c of this.deps.store.handovers.allCommitted()) {
      const s = this.settling.get(c.callbackId);
      if (s && (s.inFlight || s.nextAtMs > now)) continue;
      this.tellDecision(c.targetSiteId, {
        callbackId: c.callbackId,
        originSiteId: siteId,
        decisionId: c.decisionId,
        committed: true,
      });
    }
    for (const cb of this.core.book.pending()) {
      if (!cb.provisional || !cb.handedFrom) continue;
      if (now - cb.provisional.sinceMs < PROVISIONAL_ASK_AFTER_MS) continue;
      const a = this.asking.get(cb.id);
      if (a && (a.inFlight || a.nextAtMs > now)) continue;
      this.askOutcome(cb.handedFrom, {
        callbackId: cb.id,
        targetSiteId: siteId,
        decisionId: cb.provisional.decisionId,
      });
    }
  }

  /** Provisional callbacks are neither listed nor served: the origin still holds them. */
  isProvisional(id: string): boolean {
    return this.core.book.get(id)?.provisional !== undefined;
  }

  /**
   * At start: a callback kept on disk whose handover this site committed before it stopped is no
   * longer this site's (the commit was journaled first): its file goes, and tick() tells the
   * target again. True when `id` is such a callback.
   */
  committedAway(id: string): boolean {
    const c = this.deps.store.handovers.committed(id);
    if (!c) return false;
    this.deps.store.remove(id);
    this.deps.log.info(
      { event: 'callback_handover_committed', callbackId: id, target: c.targetSiteId },
      'a callback whose handover was committed before the restart: the other site serves it',
    );
    return true;
  }

  /** The target took it (provisionally): this site decides, durably, then tells it. */
  private accepted(id: string, target: { readonly siteId: string; readonly decisionId: string }) {
    const cb = this.core.book.get(id);
    if (cb?.handingOver?.decisionId !== target.decisionId) {
      // Stopped meanwhile (the target asked first): it stays here; the target drops its copy.
      this.tellDecision(target.siteId, this.settlement(id, target.decisionId, false), {
        once: true,
      });
      return;
    }
    try {
      this.deps.store.handovers.commit({
        callbackId: id,
        decisionId: target.decisionId,
        targetSiteId: target.siteId,
        atMs: this.deps.clock.now(),
      });
    } catch (err) {
      this.deps.log.error(
        { event: 'callback_error', callbackId: id, err },
        'could not journal a handover: the callback stays here',
      );
      this.stays(id, target, 'not committed: the journal could not be written', {
        mayHoldIt: true,
      });
      return;
    }
    try {
      const left = this.core.book.endHandover(id, true);
      this.heldForHandover.delete(id);
      this.core.publish(left, {
        $case: 'callbackHandedOver',
        value: {
          targetSiteId: target.siteId,
          decisionId: target.decisionId,
          attempts: left.attempts,
        },
      });
      this.deps.store.remove(id);
      this.core.envelopes.delete(id);
      // Its entry leaves the queue; an agent reserved for it meanwhile is let go.
      this.core.carryOut(this.deps.acd.abandon(id).effects);
      this.deps.log.info(
        { event: 'callback_handed_over', callbackId: id, target: target.siteId },
        'callback handed over: the other site serves it',
      );
    } catch (err) {
      this.deps.log.error(
        { event: 'callback_error', callbackId: id, err },
        'could not settle a callback handover',
      );
    }
    this.tellDecision(target.siteId, this.settlement(id, target.decisionId, true));
  }

  /**
   * The handover of `id` under `target.decisionId` ends without a commit: the callback stays here
   * in its place, and an attempt held meanwhile is dialed. `mayHoldIt`: the target may have taken
   * it before the answer was lost, so it is told (once; it asks if that is lost too).
   */
  private stays(
    id: string,
    target: { readonly siteId: string; readonly decisionId: string },
    reason: string,
    opts: { readonly mayHoldIt: boolean },
  ): void {
    try {
      const cb = this.core.book.get(id);
      if (cb?.handingOver?.decisionId !== target.decisionId) return;
      const kept = this.core.book.endHandover(id, false);
      const held = this.heldForHandover.get(id);
      this.heldForHandover.delete(id);
      this.handoverRefusedAt.set(id, this.deps.clock.now());
      this.core.publish(kept, {
        $case: 'callbackHandoverRefused',
        value: { targetSiteId: target.siteId, decisionId: target.decisionId, reason },
      });
      this.deps.log.info(
        { event: 'callback_handover_refused', callbackId: id, target: target.siteId, reason },
        'callback: the other site did not take it; it stays here in its place',
      );
      if (opts.mayHoldIt)
        this.tellDecision(target.siteId, this.settlement(id, target.decisionId, false), {
          once: true,
        });
      held?.();
    } catch (err) {
      this.deps.log.error(
        { event: 'callback_error', callbackId: id, err },
        'could not settle a callback handover',
      );
    }
  }

  /** Runs a step whose failure (the disk) must be logged, never crash the process. */
  private guarded(id: string, step: () => void): void {
    try {
      step();
    } catch (err) {
      this.deps.log.error(
        { event: 'callback_error', callbackId: id, err },
        'could not carry out a step of a callback handover',
      );
    }
  }

  private settlement(id: string, decisionId: string, committed: boolean): HandoverSettlement {
    return { callbackId: id, originSiteId: this.deps.siteId ?? '', decisionId, committed };
  }

  /**
   * Tells the target the decision. A commit is told until answered (tick() sends it again), then
   * forgotten; an abort is told once (`once`), the target asking if it is lost.
   */
  private tellDecision(
    targetSiteId: string,
    s: HandoverSettlement,
    opts: { readonly once?: boolean } = {},
  ): void {
    const channel = this.deps.handoverChannel;
    if (!channel) return;
    if (!opts.once) this.settling.set(s.callbackId, { inFlight: true, nextAtMs: 0 });
    channel.settle(targetSiteId, s).then(
      (answer) => {
        if (opts.once) return;
        this.settling.delete(s.callbackId);
        if (!answer.known)
          this.deps.log.error(
            { event: 'callback_handover_unknown', callbackId: s.callbackId, target: targetSiteId },
            'the target holds no trace of a handover this site committed',
          );
        this.guarded(s.callbackId, () => this.deps.store.handovers.acknowledged(s.callbackId));
      },
      (err: unknown) => {
        if (opts.once) return;
        this.settling.set(s.callbackId, {
          inFlight: false,
          nextAtMs: this.deps.clock.now() + SETTLE_RETRY_MS,
        });
        this.deps.log.warn(
          {
            event: 'callback_handover_unsettled',
            callbackId: s.callbackId,
            target: targetSiteId,
            err: (err as Error).message,
          },
          'could not tell the target the handover is committed; telling it again',
        );
      },
    );
  }

  /** Asks the origin about a provisional callback, and acts on its answer. */
  private askOutcome(originSiteId: string, q: HandoverQuery): void {
    const channel = this.deps.handoverChannel!;
    this.asking.set(q.callbackId, { inFlight: true, nextAtMs: 0 });
    this.deps.log.info(
      { event: 'callback_handover_asking', callbackId: q.callbackId, originSite: originSiteId },
      'no decision heard on a provisional handover: asking the origin',
    );
    channel.outcome(originSiteId, q).then(
      (answer) => {
        this.asking.delete(q.callbackId);
        this.guarded(q.callbackId, () =>
          this.settle({
            callbackId: q.callbackId,
            originSiteId,
            decisionId: q.decisionId,
            committed: answer.committed,
          }),
        );
      },
      (err: unknown) => {
        this.asking.set(q.callbackId, {
          inFlight: false,
          nextAtMs: this.deps.clock.now() + SETTLE_RETRY_MS,
        });
        this.deps.log.warn(
          {
            event: 'callback_handover_unanswered',
            callbackId: q.callbackId,
            originSite: originSiteId,
            err: (err as Error).message,
          },
          'the origin did not say what it decided; the callback stays held, undialed; asking again',
        );
      },
    );
  }

  /**
   * A callback another site hands over, taken provisionally: in the book (its number's dedup) and
   * on disk with its place (tier, arrival) and the attempts already made, not in the queue.
   */
  private takeProvisionally(h: Handover): { ok: Callback } | { refused: string } {
    const { book } = this.core;
    const r = book.receive(
      {
        id: h.callbackId,
        tenantId: h.tenantId,
        skill: h.skill,
        number: h.number,
        callerHash: h.callerHash,
        tier: h.tier,
        arrivalMs: h.arrivalMs,
        scheduled: h.scheduled,
        handedFrom: h.originSiteId,
      },
      {
        requestedAtMs: h.requestedAtMs,
        attempts: h.attempts,
        ...(h.notBeforeMs === undefined ? {} : { notBeforeMs: h.notBeforeMs }),
        provisional: { decisionId: h.decisionId, sinceMs: this.deps.clock.now() },
      },
    );
    if (!r.ok) return { refused: r.refused.kind };
    const cb = r.ok;
    const envelope = { customerId: h.customerId, traceparent: h.traceparent };
    try {
      this.deps.store.save({ ...cb, ...envelope });
    } catch (err) {
      book.cancel(cb.id);
      throw err;
    }
    this.core.envelopes.set(cb.id, envelope);
    this.deps.log.info(
      {
        event: 'callback_handover_provisional',
        callbackId: cb.id,
        originSite: h.originSiteId,
        decisionId: h.decisionId,
      },
      'took a callback from another site provisionally: held, not dialed, until the origin commits',
    );
    return { ok: cb };
  }

  /** The origin committed: journaled first, then the callback joins the queue at its place. */
  private confirm(held: Callback): void {
    const decisionId = held.provisional!.decisionId;
    const origin = held.handedFrom!;
    this.deps.store.handovers.confirm({
      callbackId: held.id,
      decisionId,
      originSiteId: origin,
      untilMs: this.deps.clock.now() + HANDED_IN_MEMORY_MS,
    });
    const cb = this.core.book.confirm(held.id);
    const envelope = this.core.envelopes.get(cb.id) ?? { customerId: '', traceparent: '' };
    this.deps.store.save({ ...cb, ...envelope });
    this.core.publish(cb, {
      $case: 'callbackHandedIn',
      value: {
        originSiteId: origin,
        decisionId,
        attempts: cb.attempts,
        serviceLevelThresholdMs: this.core.policyOf(cb.skill)?.serviceLevelMs ?? 0,
      },
    });
    this.deps.log.info(
      {
        event: 'callback_handed_in',
        callbackId: cb.id,
        originSite: origin,
        tenantId: cb.tenantId,
        skill: cb.skill,
        attempts: cb.attempts,
      },
      'callback taken from another site: queued at its original place',
    );
    this.core.offer(cb);
  }

  /** A provisional copy the origin does not hand over after all: gone from book and disk. */
  private drop(held: Callback, reason: string): void {
    this.core.book.cancel(held.id);
    this.deps.store.remove(held.id);
    this.core.envelopes.delete(held.id);
    this.deps.log.info(
      {
        event: 'callback_handover_aborted',
        callbackId: held.id,
        originSite: held.handedFrom,
        decisionId: held.provisional?.decisionId,
        reason,
      },
      'dropped a provisional callback: the origin keeps it',
    );
  }
}

function heldView(cb: Callback): { handedFrom?: string; provisionalDecision?: string } {
  return {
    ...(cb.handedFrom === undefined ? {} : { handedFrom: cb.handedFrom }),
    ...(cb.provisional === undefined ? {} : { provisionalDecision: cb.provisional.decisionId }),
  };
}
