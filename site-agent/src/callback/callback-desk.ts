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
import type { Handover, HandoverQuery, HandoverSettlement } from './handover.js';
import {
  HandoverDesk,
  type HandoverChannel,
  type ReceiveAnswer,
  type WaitingCallback,
} from './handover-desk.js';

export {
  HANDED_IN_MEMORY_MS,
  type HandOverCallback,
  type HandoverChannel,
  type WaitingCallback,
} from './handover-desk.js';

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
  /** The channel to other sites (handover-client.ts); without it callbacks are served here only. */
  readonly handoverChannel?: HandoverChannel;
}

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

  /** Callbacks between sites: handing over and taking in (handover-desk.ts). */
  private readonly handovers: HandoverDesk;

  constructor(private readonly deps: CallbackDeskDeps) {
    this.book = new CallbackBook((skill) => this.policyOf(skill));
    this.handovers = new HandoverDesk(deps, {
      book: this.book,
      envelopes: this.envelopes,
      policyOf: (skill) => this.policyOf(skill),
      callerOnLine: (id) => this.callersOnLine.has(id),
      carryOut: (fx) => this.carryOut(fx),
      offer: (cb) => this.offer(cb),
      publish: (cb, kind) => this.publish(cb, kind),
    });
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
      if (this.handovers.committedAway(cb.id)) continue;
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
      // Taken provisionally: held, not queued, until the origin's decision (tick() asks it).
      if (!cb.provisional) this.offer(cb);
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
      this.handovers.holdTurn(cb.id, dial);
    } else dial();
    return true;
  }

  /** The pending callbacks that may ask the router for another site (handover-desk.ts). */
  waitingCallbacks(): WaitingCallback[] {
    return this.handovers.waitingCallbacks();
  }

  /** The router chose another site for callback `id`: hands it over (handover-desk.ts). */
  handOver(id: string, target: { readonly siteId: string; readonly decisionId: string }): boolean {
    return this.handovers.handOver(id, target);
  }

  /** Another site hands this site a callback: taken or refused (handover-desk.ts). */
  receiveHandover(
    h: Handover,
    site: { readonly thresholdMs: number | undefined; readonly drained: boolean },
  ): ReceiveAnswer {
    return this.handovers.receiveHandover(h, site);
  }

  /** The origin's decision on a handover this site took provisionally (handover-desk.ts). */
  settleHandover(s: HandoverSettlement): { readonly known: boolean } {
    return this.handovers.settle(s);
  }

  /** Another site asks what this site decided on a handover (handover-desk.ts). */
  handoverOutcome(q: HandoverQuery): { readonly committed: boolean } {
    return this.handovers.outcome(q);
  }

  /** Sends the handovers' due settlements and questions; the site calls it every second. */
  tick(): void {
    this.handovers.tick();
  }

  /** Whether `id` is a callback this site holds (not a live call). */
  holds(id: string): boolean {
    return this.book.get(id) !== undefined;
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
    if (cb.handingOver || cb.provisional) return { kind: 'handing_over' };
    this.book.cancel(id);
    this.carryOut(this.deps.acd.abandon(id).effects);
    this.ended(cb, 'cancelled', by);
    return undefined;
  }

  /** Pending callbacks, of some tenants and optionally one skill, in service order. */
  pending(tenantIds: ReadonlySet<string> | 'all', skill?: string): PendingCallback[] {
    return this.book
      .pending(skill)
      .filter((c) => !c.provisional && (tenantIds === 'all' || tenantIds.has(c.tenantId)))
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
