// A site's callbacks between sites (docs/callbacks.md, "Served at another site"): at the origin,
// which pending callbacks may ask the router for another site and the handover the router's choice
// starts; at the target, whether to take a callback another site hands over, and taking it at its
// original place. The rules are in handover.ts (pure); the callbacks themselves are the desk's
// (callback-desk.ts), which hands this module the pieces it needs (DeskCore).

import type { Clock } from '@ccfed/common';
import type { CallEvent } from '@ccfed/proto';
import type { Topology } from '@ccfed/topology';
import type { Logger } from 'pino';
import type { Acd, Effects } from '../acd/acd.js';
import type { Callback, CallbackBook, CallbackPolicy } from '../acd/callbacks.js';
import type { CallbackStore } from './callback-store.js';
import { handoverAcceptance, type Handover } from './handover.js';

/** How the site hands a callback to another site (handover-client.ts): the target's answer. */
export type HandOverCallback = (
  targetSiteId: string,
  handover: Handover,
) => Promise<{ readonly accepted: boolean; readonly reason: string }>;

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
  /** Hands a callback to another site; without it callbacks are served here only. */
  readonly handOver?: HandOverCallback;
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
   * Callbacks taken from other sites lately (id → origin, until when remembered): an origin that
   * asks again because the answer was lost on the way is told "taken", even once it was served.
   */
  private readonly handedIn = new Map<string, { origin: string; untilMs: number }>();

  /**
   * When each callback's last handover was refused: it does not ask the router again before the
   * topology's re-request interval, as a caller would not (the trigger forgot it while it was away).
   */
  private readonly handoverRefusedAt = new Map<string, number>();

  /** Attempts whose turn came while their callback was being handed over: dialed if it stays. */
  private readonly heldForHandover = new Map<string, () => void>();

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
    if (!this.deps.handOver) return [];
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
   * stays held here, in its place, until the target answers; taken there, it leaves this site;
   * refused or unreachable, it stays. False when it may not be handed over now.
   */
  handOver(id: string, target: { readonly siteId: string; readonly decisionId: string }): boolean {
    const { handOver, siteId } = this.deps;
    const { book } = this.core;
    if (!handOver || !siteId || target.siteId === siteId) return false;
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
    handOver(target.siteId, handover).then(
      (answer) => this.handoverEnded(id, target, answer.accepted, answer.reason),
      (err: unknown) =>
        this.handoverEnded(id, target, false, `unreachable: ${(err as Error).message}`),
    );
    return true;
  }

  /**
   * Whether this site takes a callback another site hands it (handoverAcceptance: not drained, an
   * agent of the tenant staffed, its expected wait at its own place within the skill's threshold
   * in force), and if so takes it. A repeat of a handover already taken is answered as taken.
   */
  receiveHandover(
    h: Handover,
    site: { readonly thresholdMs: number | undefined; readonly drained: boolean },
  ): ReceiveAnswer {
    const now = this.deps.clock.now();
    const { book } = this.core;
    for (const [id, taken] of this.handedIn) if (taken.untilMs < now) this.handedIn.delete(id);
    if (this.handedIn.get(h.callbackId)?.origin === h.originSiteId)
      return {
        accepted: true,
        expectedWaitMs: this.deps.acd.expectedWaitOf(h.callbackId) ?? 0,
      };
    const held = book.get(h.callbackId);
    if (held?.handedFrom === h.originSiteId)
      return { accepted: true, expectedWaitMs: this.deps.acd.expectedWaitOf(held.id) ?? 0 };
    // An id this site already uses (a call, another site's callback): never two of one id here.
    if (held || this.deps.acd.phaseOf(h.callbackId) !== undefined)
      return { accepted: false, reason: 'id in use' };
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
    const r = this.takeHandedIn(h);
    if ('refused' in r) return { accepted: false, reason: r.refused };
    return { accepted: true, expectedWaitMs };
  }

  /**
   * A callback another site handed over: taken into the book and the queue at its original place
   * (tier, arrival) with the attempts already made, kept on disk, its event.
   */
  private takeHandedIn(h: Handover): { ok: Callback } | { refused: string } {
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
    this.handedIn.set(cb.id, {
      origin: h.originSiteId,
      untilMs: this.deps.clock.now() + HANDED_IN_MEMORY_MS,
    });
    this.core.publish(cb, {
      $case: 'callbackHandedIn',
      value: {
        originSiteId: h.originSiteId,
        decisionId: h.decisionId,
        attempts: cb.attempts,
        serviceLevelThresholdMs: this.core.policyOf(cb.skill)!.serviceLevelMs,
      },
    });
    this.deps.log.info(
      {
        event: 'callback_handed_in',
        callbackId: cb.id,
        originSite: h.originSiteId,
        tenantId: cb.tenantId,
        skill: cb.skill,
        attempts: cb.attempts,
      },
      'callback taken from another site: queued at its original place',
    );
    this.core.offer(cb);
    return { ok: cb };
  }

  private handoverEnded(
    id: string,
    target: { readonly siteId: string; readonly decisionId: string },
    taken: boolean,
    reason: string,
  ): void {
    try {
      const cb = this.core.book.endHandover(id, taken);
      const held = this.heldForHandover.get(id);
      this.heldForHandover.delete(id);
      if (!taken) {
        this.handoverRefusedAt.set(id, this.deps.clock.now());
        this.core.publish(cb, {
          $case: 'callbackHandoverRefused',
          value: { targetSiteId: target.siteId, decisionId: target.decisionId, reason },
        });
        this.deps.log.info(
          { event: 'callback_handover_refused', callbackId: id, target: target.siteId, reason },
          'callback: the other site did not take it; it stays here in its place',
        );
        held?.();
        return;
      }
      this.core.publish(cb, {
        $case: 'callbackHandedOver',
        value: {
          targetSiteId: target.siteId,
          decisionId: target.decisionId,
          attempts: cb.attempts,
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
  }
}
