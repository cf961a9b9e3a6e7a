// The site's callbacks against the outside (docs/callbacks.md): the book (acd/callbacks.ts)
// decides, the ACD keeps each callback's entry in its place and reserves an agent at its turn,
// and this desk hands that attempt to the site's Dialer (dialer/port.ts), reports its outcome
// back, keeps the pending callbacks on disk (callback-store.ts) and publishes every step as a
// call event. Without a dialer a callback's turn still reserves its agent (the event says so),
// then the agent is let go and the callback waits a retry delay, pending, with a log line.

import { randomUUID } from 'node:crypto';
import type { Clock } from '@ccfed/common';
import { CustomerTier, type CallEvent } from '@ccfed/proto';
import { skillById, type Topology } from '@ccfed/topology';
import type { Logger } from 'pino';
import type { Acd, Assignment, Effects } from '../acd/acd.js';
import {
  CallbackBook,
  E164_PATTERN,
  type Callback,
  type CallbackPolicy,
  type RequestRefusal,
} from '../acd/callbacks.js';
import type { Dialer, DialOutcome, DialRequest } from '../dialer/port.js';
import { callerHash } from '../caller-hash.js';
import type { EventStamper } from '../events/event-meta.js';
import type { CallbackStore, StoredCallback } from './callback-store.js';
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

export interface CallbackDeskDeps {
  readonly clock: Clock;
  readonly topology: Topology;
  readonly acd: Acd;
  readonly store: CallbackStore;
  /** The site's outbound dialer; without one callbacks stay pending (docs/callbacks.md). */
  readonly dialer: Dialer | undefined;
  readonly stamper: EventStamper;
  readonly publisher: { callEvent(event: CallEvent): Promise<void> };
  readonly log: Logger;
  readonly newId?: () => string;
  /** Key of the caller hash (CCFED_CALLER_HASH_KEY): a scheduled callback's events carry it. */
  readonly callerHashKey?: string;
  /** This site's id (the origin a handover names). */
  readonly siteId?: string;
  /** Hands a callback to another site; without it callbacks are served here only. */
  readonly handOver?: HandOverCallback;
}

/** How long a site remembers a callback it took from another site (a repeat is answered taken). */
export const HANDED_IN_MEMORY_MS = 10 * 60_000;

/** How far ahead a callback may be scheduled. */
export const MAX_SCHEDULE_AHEAD_MS = 7 * 24 * 3600_000;

/** What a caller or the API asks for. `originCallId`: the queued call the callback replaces. */
export interface TakeCallback {
  readonly tenantId: string;
  readonly skill: string;
  readonly number: string;
  readonly callerHash: string;
  readonly customerId: string;
  readonly traceparent: string;
  readonly tier: number;
  readonly arrivalMs: number;
  readonly originCallId?: string;
  readonly scheduled: boolean;
  readonly origin: 'dtmf' | 'api';
  /** Who asked through the API (principal label); '' for DTMF. */
  readonly requestedBy: string;
}

export type TakeRefusal =
  | RequestRefusal
  | { readonly kind: 'bad_number' }
  | { readonly kind: 'in_the_past' }
  | { readonly kind: 'too_far_ahead' }
  | { readonly kind: 'unknown_tenant' }
  /** The call asked about is not waiting in this site's queue (answered, gone, ringing). */
  | { readonly kind: 'not_queued' };

/** A pending callback as the control API shows it: never the number. */
export interface PendingCallback {
  readonly id: string;
  readonly tenantId: string;
  readonly skill: string;
  readonly tier: number;
  readonly arrivalMs: number;
  readonly scheduled: boolean;
  readonly attempts: number;
  readonly notBeforeMs?: number;
  readonly dialing: boolean;
  /** Place among the skill's callbacks and queued calls of its tenant, 1-based; 0 when dialing. */
  readonly position: number;
}

/** Why a cancel was refused. */
export type CancelRefusal =
  { readonly kind: 'unknown' } | { readonly kind: 'dialing' } | { readonly kind: 'handing_over' };

export class CallbackDesk {
  private readonly book: CallbackBook;
  /** Each callback's events' envelope (customer id, trace), beside the book's record. */
  private readonly envelopes = new Map<string, { customerId: string; traceparent: string }>();
  private carryOut: (fx: Effects) => void = () => {
    throw new Error('the callback desk is not attached to the call flow');
  };

  /**
   * Callbacks whose caller is still on the line (hearing it confirmed): their number is busy, so an
   * attempt that falls due meanwhile waits here, agent reserved, until the call has ended.
   */
  private readonly callersOnLine = new Map<string, (() => void) | undefined>();

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

  constructor(private readonly deps: CallbackDeskDeps) {
    this.book = new CallbackBook((skill) => this.policyOf(skill));
  }

  /** The call flow carries out the ACD's effects of callbacks' steps (agent events, rings). */
  attach(carryOut: (fx: Effects) => void): void {
    this.carryOut = carryOut;
  }

  get hasDialer(): boolean {
    return this.deps.dialer !== undefined;
  }

  /** The skill's callback policy; undefined when the skill offers no callbacks. */
  policyOf(skill: string): (CallbackPolicy & { serviceLevelMs: number }) | undefined {
    const cb = skillById(this.deps.topology, skill)?.callback;
    if (!cb) return undefined;
    return {
      maxAttempts: cb.maxAttempts,
      retryAfterMs: cb.retryAfterSeconds * 1000,
      order: cb.order,
      ringTimeoutMs: cb.ringTimeoutSeconds * 1000,
      serviceLevelMs: cb.serviceLevelSeconds * 1000,
    };
  }

  /** Puts the callbacks kept on disk back in the book and the ACD (at start-up). */
  restore(): number {
    const kept = this.deps.store.loadAll();
    for (const cb of kept) {
      this.envelopes.set(cb.id, { customerId: cb.customerId, traceparent: cb.traceparent });
      if (!this.policyOf(cb.skill)) {
        this.deps.log.warn(
          { event: 'callback_dropped', callbackId: cb.id, skill: cb.skill },
          'a kept callback is for a skill that no longer offers callbacks: cancelled',
        );
        this.ended(cb, 'skill_without_callbacks', '');
        continue;
      }
      this.book.restore(cb);
      this.offer(cb);
    }
    if (kept.length > 0)
      this.deps.log.info(
        { event: 'callbacks_restored', count: kept.length },
        'pending callbacks taken back from the data directory',
      );
    return kept.length;
  }

  /**
   * Takes a callback: written to disk, then its entry in the ACD (in place of the queued call it
   * replaces, which the caller then leaves), then its event. Refused: the skill offers none, the
   * number has one pending on the skill, the number is not E.164, a scheduled time has passed.
   */
  take(req: TakeCallback): { ok: PendingCallback } | { refused: TakeRefusal } {
    const now = this.deps.clock.now();
    if (!E164_PATTERN.test(req.number)) return { refused: { kind: 'bad_number' } };
    if (req.scheduled && req.arrivalMs <= now) return { refused: { kind: 'in_the_past' } };
    if (
      req.originCallId !== undefined &&
      this.deps.acd.expectedWaitOf(req.originCallId) === undefined
    )
      return { refused: { kind: 'not_queued' } };
    const id = req.originCallId ?? (this.deps.newId ?? randomUUID)();
    const r = this.book.request(
      {
        id,
        tenantId: req.tenantId,
        skill: req.skill,
        number: req.number,
        callerHash: req.callerHash,
        tier: req.tier,
        arrivalMs: req.arrivalMs,
        scheduled: req.scheduled,
        ...(req.originCallId === undefined ? {} : { originCallId: req.originCallId }),
      },
      now,
    );
    if (!r.ok) return { refused: r.refused };
    const cb = r.ok;
    const envelope = { customerId: req.customerId, traceparent: req.traceparent };
    try {
      this.deps.store.save({ ...cb, ...envelope });
    } catch (err) {
      this.book.cancel(id);
      throw err;
    }
    this.envelopes.set(id, envelope);
    if (req.originCallId !== undefined) {
      this.callersOnLine.set(id, undefined);
      this.deps.acd.withdraw(req.originCallId);
    }
    const policy = this.policyOf(cb.skill)!;
    this.publish(cb, {
      ...(req.scheduled
        ? {
            $case: 'callbackScheduled',
            value: {
              scheduledFor: new Date(cb.arrivalMs),
              serviceLevelThresholdMs: policy.serviceLevelMs,
              requestedBy: req.requestedBy,
            },
          }
        : {
            $case: 'callbackRequested',
            value: {
              origin: req.origin === 'dtmf' ? 1 : 2,
              waitedMs: Math.max(0, now - cb.arrivalMs),
              serviceLevelThresholdMs: policy.serviceLevelMs,
              requestedBy: req.requestedBy,
            },
          }),
    });
    this.deps.log.info(
      {
        event: req.scheduled ? 'callback_scheduled' : 'callback_requested',
        callbackId: id,
        tenantId: cb.tenantId,
        skill: cb.skill,
        origin: req.origin,
      },
      req.scheduled ? 'callback scheduled' : 'callback requested: the caller keeps their place',
    );
    this.offer(cb);
    return { ok: this.view(this.book.get(id) ?? cb) };
  }

  /**
   * Schedules a callback for a number and skill at `atMs` ("call me at 14:00"), asked through the
   * API by `requestedBy`: standard tier, its place at that time (docs/callbacks.md).
   */
  schedule(req: {
    readonly tenantId: string;
    readonly skill: string;
    readonly number: string;
    readonly atMs: number;
    readonly requestedBy: string;
  }): { ok: PendingCallback } | { refused: TakeRefusal } {
    if (!this.deps.topology.tenants.some((t) => t.id === req.tenantId))
      return { refused: { kind: 'unknown_tenant' } };
    if (req.atMs - this.deps.clock.now() > MAX_SCHEDULE_AHEAD_MS)
      return { refused: { kind: 'too_far_ahead' } };
    const { callerHashKey } = this.deps;
    return this.take({
      tenantId: req.tenantId,
      skill: req.skill,
      number: req.number,
      callerHash:
        callerHashKey && E164_PATTERN.test(req.number) ? callerHash(callerHashKey, req.number) : '',
      customerId: '',
      traceparent: '',
      tier: CustomerTier.CUSTOMER_TIER_STANDARD,
      arrivalMs: req.atMs,
      scheduled: true,
      origin: 'api',
      requestedBy: req.requestedBy,
    });
  }

  /**
   * An ACD assignment: true when it is a callback's (an agent is reserved for it; the attempt
   * goes to the dialer), false for any other call.
   */
  assigned(a: Assignment): boolean {
    const cb = this.book.get(a.callId);
    if (!cb) return false;
    const request = this.book.startAttempt(cb.id, a.agentId);
    this.publish(cb, {
      $case: 'callbackAttemptStarted',
      value: {
        attemptId: request.attemptId,
        agentId: a.agentId,
        attempt: cb.attempts + 1,
        order: request.order,
      },
    });
    const { dialer } = this.deps;
    if (!dialer) {
      // Deferred: the reservation's own effects are still being carried out.
      queueMicrotask(() => this.noDialer(cb.id, request.attemptId, a.agentId));
      return true;
    }
    const dial = () => {
      this.deps.log.info(
        {
          event: 'callback_dialing',
          callbackId: cb.id,
          agentId: a.agentId,
          attemptId: request.attemptId,
        },
        'callback: agent reserved, dialing',
      );
      this.dial(dialer, cb.id, request, a.agentId);
    };
    if (this.callersOnLine.has(cb.id)) {
      this.deps.log.info(
        { event: 'callback_dial_held', callbackId: cb.id, agentId: a.agentId },
        'callback: agent reserved; dialing once the caller’s own call has ended',
      );
      this.callersOnLine.set(cb.id, dial);
    } else if (cb.handingOver) {
      // Its turn came here while another site is asked to take it: the agent stays reserved until
      // that site answers (dialed here if it refuses, let go if it takes the callback).
      this.deps.log.info(
        { event: 'callback_dial_held', callbackId: cb.id, agentId: a.agentId },
        'callback: agent reserved; dialing once the handover to another site is settled',
      );
      this.heldForHandover.set(cb.id, dial);
    } else dial();
    return true;
  }

  /**
   * The pending callbacks that may ask the router for another site (overflow/outbound.ts): held
   * and taken here, queued (not dialing, not reserved), due, and no caller still on the line.
   * Their wait so far runs from their place (arrival or scheduled time).
   */
  waitingCallbacks(): WaitingCallback[] {
    if (!this.deps.handOver) return [];
    const now = this.deps.clock.now();
    const againAfterMs = this.deps.topology.routing.reRequestIntervalSeconds * 1000;
    for (const [id, at] of this.handoverRefusedAt)
      if (now - at >= againAfterMs || !this.book.get(id)) this.handoverRefusedAt.delete(id);
    const waiting: WaitingCallback[] = [];
    for (const cb of this.book.pending()) {
      if (!this.book.mayHandOver(cb.id, now) || this.callersOnLine.has(cb.id)) continue;
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
        traceparent: this.envelopes.get(cb.id)?.traceparent ?? '',
      });
    }
    return waiting;
  }

  /** Whether `id` is a callback this site holds (not a live call). */
  holds(id: string): boolean {
    return this.book.get(id) !== undefined;
  }

  /**
   * The router chose `target` for callback `id`: hands it over (asynchronously). The callback
   * stays held here, in its place, until the target answers; taken there, it leaves this site;
   * refused or unreachable, it stays. False when it may not be handed over now.
   */
  handOver(id: string, target: { readonly siteId: string; readonly decisionId: string }): boolean {
    const { handOver, siteId } = this.deps;
    if (!handOver || !siteId || target.siteId === siteId) return false;
    if (!this.book.mayHandOver(id, this.deps.clock.now()) || this.callersOnLine.has(id))
      return false;
    const cb = this.book.beginHandover(id, {
      targetSiteId: target.siteId,
      decisionId: target.decisionId,
    });
    const envelope = this.envelopes.get(id) ?? { customerId: '', traceparent: '' };
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
  ):
    | { readonly accepted: true; readonly expectedWaitMs: number }
    | { readonly accepted: false; readonly reason: string } {
    const now = this.deps.clock.now();
    for (const [id, taken] of this.handedIn) if (taken.untilMs < now) this.handedIn.delete(id);
    if (this.handedIn.get(h.callbackId)?.origin === h.originSiteId)
      return {
        accepted: true,
        expectedWaitMs: this.deps.acd.expectedWaitOf(h.callbackId) ?? 0,
      };
    const held = this.book.get(h.callbackId);
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
    if ('refused' in r) return { accepted: false, reason: r.refused.kind };
    return { accepted: true, expectedWaitMs };
  }

  /**
   * A callback another site handed over: taken into the book and the queue at its original place
   * (tier, arrival) with the attempts already made, kept on disk, its event. A repeat of a
   * handover already taken (the origin asking again) is answered as taken.
   */
  private takeHandedIn(h: Handover): { ok: PendingCallback } | { refused: TakeRefusal } {
    const held = this.book.get(h.callbackId);
    if (held?.handedFrom === h.originSiteId && held.number === h.number)
      return { ok: this.view(held) };
    const r = this.book.receive(
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
    if (!r.ok) return { refused: r.refused };
    const cb = r.ok;
    const envelope = { customerId: h.customerId, traceparent: h.traceparent };
    try {
      this.deps.store.save({ ...cb, ...envelope });
    } catch (err) {
      this.book.cancel(cb.id);
      throw err;
    }
    this.envelopes.set(cb.id, envelope);
    this.handedIn.set(cb.id, {
      origin: h.originSiteId,
      untilMs: this.deps.clock.now() + HANDED_IN_MEMORY_MS,
    });
    this.publish(cb, {
      $case: 'callbackHandedIn',
      value: {
        originSiteId: h.originSiteId,
        decisionId: h.decisionId,
        attempts: cb.attempts,
        serviceLevelThresholdMs: this.policyOf(cb.skill)!.serviceLevelMs,
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
    this.offer(cb);
    return { ok: this.view(this.book.get(cb.id) ?? cb) };
  }

  private handoverEnded(
    id: string,
    target: { readonly siteId: string; readonly decisionId: string },
    taken: boolean,
    reason: string,
  ): void {
    try {
      const cb = this.book.endHandover(id, taken);
      const held = this.heldForHandover.get(id);
      this.heldForHandover.delete(id);
      if (!taken) {
        this.handoverRefusedAt.set(id, this.deps.clock.now());
        this.publish(cb, {
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
      this.publish(cb, {
        $case: 'callbackHandedOver',
        value: {
          targetSiteId: target.siteId,
          decisionId: target.decisionId,
          attempts: cb.attempts,
        },
      });
      this.deps.store.remove(id);
      this.envelopes.delete(id);
      // Its entry leaves the queue; an agent reserved for it meanwhile is let go.
      this.carryOut(this.deps.acd.abandon(id).effects);
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

  /**
   * The call a callback was taken from has ended (the caller heard it confirmed, or hung up): an
   * attempt that fell due meanwhile is dialed now.
   */
  callerLeft(callId: string): void {
    const held = this.callersOnLine.get(callId);
    this.callersOnLine.delete(callId);
    held?.();
  }

  /** One attempt of callback `id` with `agentId` reserved; its outcome ends the attempt. */
  private dial(dialer: Dialer, id: string, request: DialRequest, agentId: string): void {
    dialer.dial(request).then(
      (outcome) => this.attemptEnded(id, request.attemptId, agentId, outcome),
      (err: unknown) =>
        this.attemptEnded(id, request.attemptId, agentId, {
          kind: 'failed',
          reason: (err as Error).message,
        }),
    );
  }

  /** Cancels a pending callback (through the API); refused while an attempt is dialing. */
  cancel(
    id: string,
    tenantIds: ReadonlySet<string> | 'all',
    by: string,
  ): CancelRefusal | undefined {
    const cb = this.book.get(id);
    if (!cb || (tenantIds !== 'all' && !tenantIds.has(cb.tenantId))) return { kind: 'unknown' };
    if (cb.dialing) return { kind: 'dialing' };
    if (cb.handingOver) return { kind: 'handing_over' };
    this.book.cancel(id);
    this.carryOut(this.deps.acd.abandon(id).effects);
    this.ended(cb, 'cancelled', by);
    return undefined;
  }

  /** Pending callbacks, of some tenants and optionally one skill, in service order. */
  pending(tenantIds: ReadonlySet<string> | 'all', skill?: string): PendingCallback[] {
    return this.book
      .pending(skill)
      .filter((c) => tenantIds === 'all' || tenantIds.has(c.tenantId))
      .map((c) => this.view(c));
  }

  private noDialer(id: string, attemptId: string, agentId: string): void {
    const cb = this.book.get(id);
    if (cb?.dialing?.attemptId !== attemptId) return;
    const notBeforeMs = this.book.attemptNotStarted(id, this.deps.clock.now());
    this.deps.log.warn(
      {
        event: 'callback_no_dialer',
        callbackId: id,
        agentId,
        nextAttemptAt: new Date(notBeforeMs),
      },
      'callback: its turn came and an agent was reserved, but this site has no dialer configured; the agent is released and the callback stays pending',
    );
    this.publish(cb, {
      $case: 'callbackAttemptEnded',
      value: {
        attemptId,
        agentId,
        outcome: 'no_dialer',
        counted: false,
        attempts: cb.attempts,
        nextAttemptAt: new Date(notBeforeMs),
        reason: 'no dialer configured',
      },
    });
    this.save(id);
    this.carryOut(this.deps.acd.requeue(id, notBeforeMs));
  }

  private attemptEnded(id: string, attemptId: string, agentId: string, outcome: DialOutcome): void {
    try {
      const cb = this.book.get(id);
      if (!cb) return;
      const now = this.deps.clock.now();
      const decision = this.book.attemptEnded(id, attemptId, outcome, now);
      const attempts =
        decision.kind === 'retry' || decision.kind === 'exhausted'
          ? decision.attempts
          : cb.attempts;
      this.publish(cb, {
        $case: 'callbackAttemptEnded',
        value: {
          attemptId,
          agentId,
          outcome: outcome.kind,
          counted: decision.kind === 'retry' || decision.kind === 'exhausted',
          attempts,
          nextAttemptAt: decision.kind === 'retry' ? new Date(decision.notBeforeMs) : undefined,
          reason: outcome.kind === 'failed' ? outcome.reason : '',
        },
      });
      switch (decision.kind) {
        case 'connected': {
          const policy = this.policyOf(cb.skill)!;
          const from = cb.scheduled ? cb.arrivalMs : cb.requestedAtMs;
          this.publish(cb, {
            $case: 'callbackCompleted',
            value: {
              agentId,
              waitMs: Math.max(0, now - from),
              serviceLevelThresholdMs: policy.serviceLevelMs,
              attempts: cb.attempts + 1,
            },
          });
          this.deps.store.remove(id);
          this.envelopes.delete(id);
          this.carryOut(this.deps.acd.answered(id));
          return;
        }
        case 'agent_no_answer':
          this.carryOut(this.deps.acd.ringFailed(id));
          return;
        case 'retry':
          this.save(id);
          this.carryOut(this.deps.acd.requeue(id, decision.notBeforeMs));
          return;
        case 'exhausted':
          this.carryOut(this.deps.acd.abandon(id).effects);
          this.ended({ ...cb, attempts }, 'exhausted', '');
          return;
      }
    } catch (err) {
      this.deps.log.error(
        { event: 'callback_error', callbackId: id, attemptId, err },
        'could not carry out a callback attempt outcome',
      );
    }
  }

  /** The callback ends unserved: gone from disk, its event. */
  private ended(cb: Callback, reason: string, by: string): void {
    this.deps.store.remove(cb.id);
    this.publish(cb, {
      $case: 'callbackCancelled',
      value: {
        reason,
        by,
        attempts: cb.attempts,
        serviceLevelThresholdMs: this.policyOf(cb.skill)?.serviceLevelMs ?? 0,
      },
    });
    this.envelopes.delete(cb.id);
    this.deps.log.info(
      { event: 'callback_cancelled', callbackId: cb.id, reason, attempts: cb.attempts },
      'callback ended unserved',
    );
  }

  private offer(cb: Callback): void {
    const offer = this.deps.acd.offer({
      callId: cb.id,
      tenantId: cb.tenantId,
      skill: cb.skill,
      tier: cb.tier,
      arrivalMs: cb.arrivalMs,
      ...(cb.notBeforeMs === undefined ? {} : { notBeforeMs: cb.notBeforeMs }),
    });
    this.carryOut(offer.effects);
  }

  private save(id: string): void {
    const cb = this.book.get(id);
    const envelope = this.envelopes.get(id);
    if (cb && envelope) this.deps.store.save({ ...cb, ...envelope } satisfies StoredCallback);
  }

  private view(c: Callback): PendingCallback {
    const queue = this.deps.acd.queuedCalls(c.skill).filter((q) => q.tenantId === c.tenantId);
    return {
      id: c.id,
      tenantId: c.tenantId,
      skill: c.skill,
      tier: c.tier,
      arrivalMs: c.arrivalMs,
      scheduled: c.scheduled,
      attempts: c.attempts,
      ...(c.notBeforeMs === undefined ? {} : { notBeforeMs: c.notBeforeMs }),
      dialing: c.dialing !== undefined,
      position: queue.findIndex((q) => q.callId === c.id) + 1,
    };
  }

  private publish(cb: Callback, kind: NonNullable<CallEvent['kind']>): void {
    const envelope = this.envelopes.get(cb.id) ?? { customerId: '', traceparent: '' };
    const event: CallEvent = {
      meta: this.deps.stamper.stamp(cb.tenantId, envelope.traceparent),
      callId: cb.id,
      skill: cb.skill,
      tier: cb.tier,
      customerId: envelope.customerId,
      callerHash: cb.callerHash,
      arrivalTime: new Date(cb.arrivalMs),
      kind,
    };
    this.deps.publisher
      .callEvent(event)
      .catch((err: unknown) =>
        this.deps.log.error(
          { event: 'call_event_lost', callId: cb.id, kind: kind.$case, err },
          'could not record a callback event',
        ),
      );
  }
}
