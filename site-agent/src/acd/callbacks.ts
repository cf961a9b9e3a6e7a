// Callbacks (docs/callbacks.md): a queued caller who asked to be called back, or a customer who
// asked for a call at a set time, as a virtual entry in the skill's queue. Pure: the clock is
// passed in, nothing here does I/O. The book decides; the ACD keeps the entry in its place
// (queue.ts orders by tier, then arrival) and reserves an agent when its turn comes; the
// adapter (callback-desk.ts) hands the attempt to the site's Dialer and reports the outcome.
//
// A callback's entry keeps the caller's tier and original arrival time, so it is served exactly
// where the caller stood. A scheduled callback has no place yet: it enters the queue at its
// scheduled time as if it arrived then (not eligible before, then behind everyone already
// waiting at that time), the order a customer who called at 14:00 would have had.

import type { DialOrder, DialOutcome, DialRequest } from '../dialer/port.js';

/** An E.164 number: +, country code, at most 15 digits. The API checks requests against it. */
export const E164_PATTERN = /^\+[1-9]\d{6,14}$/;

/** What the topology says about a skill's callbacks (topology `skills[].callback`). */
export interface CallbackPolicy {
  readonly maxAttempts: number;
  readonly retryAfterMs: number;
  readonly order: DialOrder;
  readonly ringTimeoutMs: number;
}

export interface CallbackRequest {
  /** The callback's id, also its entry's call id in the ACD and the connected call's id. */
  readonly id: string;
  readonly tenantId: string;
  readonly skill: string;
  /** The customer's number (E.164): kept here and in the site's own state, never in an event. */
  readonly number: string;
  /** The number's keyed hash: what the events carry. */
  readonly callerHash: string;
  readonly tier: number;
  /** The queued call it replaces, when the caller asked while waiting. */
  readonly originCallId?: string;
  /** The queued call's arrival (its place), or the scheduled time. */
  readonly arrivalMs: number;
  readonly scheduled: boolean;
  /** The site that handed it over, when it was taken from another site (it moves once only). */
  readonly handedFrom?: string;
}

export interface Callback extends CallbackRequest {
  readonly requestedAtMs: number;
  /** Attempts that reached the customer's phone (an agent's no-answer does not count). */
  readonly attempts: number;
  /** Not to be served before this: the scheduled time or the end of the retry delay. */
  readonly notBeforeMs?: number;
  /** The attempt in progress, if any. */
  readonly dialing?: { readonly attemptId: string; readonly agentId: string };
  /** Being handed to another site: held here, served nowhere, until the target answers. */
  readonly handingOver?: { readonly targetSiteId: string; readonly decisionId: string };
  /**
   * Taken from another site provisionally (handover.ts, the confirm step): held here, its place
   * and number kept, served nowhere until the origin says it committed this handover.
   */
  readonly provisional?: { readonly decisionId: string; readonly sinceMs: number };
}

export type RequestRefusal =
  | { readonly kind: 'duplicate'; readonly pendingId: string }
  | { readonly kind: 'not_offered'; readonly skill: string }
  /** The site holds maxPending callbacks already: a bound on what requests can pile up. */
  | { readonly kind: 'full'; readonly maxPending: number };

/** How many callbacks one site holds at most, by default. */
export const MAX_PENDING_CALLBACKS = 5_000;

/** What the adapter does once an attempt ended. */
export type AttemptDecision =
  /** The customer is talking to the agent: the callback is done, the call lives on. */
  | { readonly kind: 'connected' }
  /** The agent did not answer: the agent goes not-ready (RONA), the entry keeps its place now. */
  | { readonly kind: 'agent_no_answer' }
  /** Not reached; the agent is let go and the entry waits out the retry delay in its place. */
  | { readonly kind: 'retry'; readonly notBeforeMs: number; readonly attempts: number }
  /** Not reached and no attempt left: the callback ends unserved. */
  | { readonly kind: 'exhausted'; readonly attempts: number };

/** Thrown for a callback the book does not hold or an attempt it did not start. */
export class CallbackError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CallbackError';
  }
}

/** The site's pending callbacks: one per number and skill. */
export class CallbackBook {
  private readonly byId = new Map<string, Callback>();

  constructor(
    private readonly policyOf: (skill: string) => CallbackPolicy | undefined,
    private readonly maxPending = MAX_PENDING_CALLBACKS,
  ) {}

  /**
   * Takes a callback, or refuses it: the skill offers none, or the number already has one
   * pending on the skill (dedup per number and skill; the pending one keeps its place).
   */
  request(
    req: CallbackRequest,
    nowMs: number,
  ): { ok: Callback; refused?: never } | { ok?: never; refused: RequestRefusal } {
    if (!this.policyOf(req.skill)) return { refused: { kind: 'not_offered', skill: req.skill } };
    const same = [...this.byId.values()].find(
      (c) => c.number === req.number && c.skill === req.skill && c.tenantId === req.tenantId,
    );
    if (same) return { refused: { kind: 'duplicate', pendingId: same.id } };
    if (this.byId.size >= this.maxPending)
      return { refused: { kind: 'full', maxPending: this.maxPending } };
    const cb: Callback = {
      ...req,
      requestedAtMs: nowMs,
      attempts: 0,
      ...(req.scheduled ? { notBeforeMs: req.arrivalMs } : {}),
    };
    this.byId.set(cb.id, cb);
    return { ok: cb };
  }

  /**
   * Takes a callback another site handed over, as it was there: its place (tier, arrival), when
   * it was asked for, the attempts made and a retry delay under way. Refused as request() refuses.
   */
  receive(
    req: CallbackRequest & { readonly handedFrom: string },
    carried: {
      readonly requestedAtMs: number;
      readonly attempts: number;
      readonly notBeforeMs?: number;
      readonly provisional?: { readonly decisionId: string; readonly sinceMs: number };
    },
  ): { ok: Callback; refused?: never } | { ok?: never; refused: RequestRefusal } {
    const r = this.request(req, carried.requestedAtMs);
    if (!r.ok) return r;
    const notBeforeMs = Math.max(r.ok.notBeforeMs ?? 0, carried.notBeforeMs ?? 0);
    const cb: Callback = {
      ...r.ok,
      attempts: carried.attempts,
      ...(notBeforeMs > 0 ? { notBeforeMs } : {}),
      ...(carried.provisional ? { provisional: carried.provisional } : {}),
    };
    this.byId.set(cb.id, cb);
    return { ok: cb };
  }

  /** The origin committed the handover of a provisional callback: it is served here from now on. */
  confirm(id: string): Callback {
    const cb = this.must(id);
    if (!cb.provisional) throw new CallbackError(`callback ${id} is not held provisionally`);
    const { provisional: _settled, ...rest } = cb;
    this.byId.set(id, rest);
    return rest;
  }

  /** Puts back a callback from the site's durable state (after a restart), as it was. */
  restore(cb: Callback): void {
    const { dialing: _interrupted, handingOver: _unanswered, ...rest } = cb;
    this.byId.set(cb.id, rest);
  }

  /**
   * Whether the callback may be offered to another site now: held here, taken here (a callback
   * moves once), not dialing, not already being handed over, and due (its scheduled time or retry
   * delay passed: one not due yet has no turn to be late for).
   */
  mayHandOver(id: string, nowMs: number): boolean {
    const cb = this.byId.get(id);
    return (
      cb !== undefined &&
      cb.handedFrom === undefined &&
      cb.dialing === undefined &&
      cb.handingOver === undefined &&
      (cb.notBeforeMs ?? 0) <= nowMs
    );
  }

  /** The callback is being handed to `targetSiteId`: it stays held here until endHandover. */
  beginHandover(id: string, target: { targetSiteId: string; decisionId: string }): Callback {
    const cb = this.must(id);
    if (cb.dialing || cb.handingOver)
      throw new CallbackError(`callback ${id} is ${cb.dialing ? 'dialing' : 'being handed over'}`);
    const marked = { ...cb, handingOver: target };
    this.byId.set(id, marked);
    return marked;
  }

  /**
   * The target answered (or could not be reached): taken there, the callback leaves this book;
   * otherwise it is held here again as it was, in its place.
   */
  endHandover(id: string, taken: boolean): Callback {
    const cb = this.must(id);
    if (!cb.handingOver) throw new CallbackError(`callback ${id} is not being handed over`);
    const { handingOver: _ended, ...rest } = cb;
    if (taken) this.byId.delete(id);
    else this.byId.set(id, rest);
    return rest;
  }

  get(id: string): Callback | undefined {
    return this.byId.get(id);
  }

  /** Pending callbacks, optionally of one skill, in service order of arrival. */
  pending(skill?: string): Callback[] {
    return [...this.byId.values()]
      .filter((c) => skill === undefined || c.skill === skill)
      .sort((a, b) => b.tier - a.tier || a.arrivalMs - b.arrivalMs || (a.id < b.id ? -1 : 1));
  }

  /** The ACD reserved `agentId` for the callback: the attempt to hand to the dialer. */
  startAttempt(id: string, agentId: string): DialRequest {
    const cb = this.must(id);
    const policy = this.policyOf(cb.skill)!;
    const attemptId = `${id}.${cb.attempts + 1}.${agentId}`;
    this.byId.set(id, { ...cb, dialing: { attemptId, agentId } });
    return {
      attemptId,
      callId: id,
      agentId,
      number: cb.number,
      skill: cb.skill,
      tenantId: cb.tenantId,
      order: policy.order,
      ringTimeoutMs: policy.ringTimeoutMs,
    };
  }

  /**
   * How the attempt `attemptId` ended decides what comes next. Promises: an agent's no-answer
   * never counts as an attempt; after maxAttempts counted attempts the callback is exhausted;
   * otherwise the next attempt is not before retryAfterMs from now.
   */
  attemptEnded(
    id: string,
    attemptId: string,
    outcome: DialOutcome,
    nowMs: number,
  ): AttemptDecision {
    const cb = this.must(id);
    if (cb.dialing?.attemptId !== attemptId)
      throw new CallbackError(`callback ${id} has no attempt ${attemptId} in progress`);
    const { dialing: _ended, ...rest } = cb;
    if (outcome.kind === 'connected') {
      this.byId.delete(id);
      return { kind: 'connected' };
    }
    if (outcome.kind === 'agent_no_answer') {
      this.byId.set(id, rest);
      return { kind: 'agent_no_answer' };
    }
    const policy = this.policyOf(cb.skill)!;
    const attempts = cb.attempts + 1;
    if (attempts >= policy.maxAttempts) {
      this.byId.delete(id);
      return { kind: 'exhausted', attempts };
    }
    const notBeforeMs = nowMs + policy.retryAfterMs;
    this.byId.set(id, { ...rest, attempts, notBeforeMs });
    return { kind: 'retry', notBeforeMs, attempts };
  }

  /** No dialer took the attempt: the entry waits a retry delay, no attempt counted. */
  attemptNotStarted(id: string, nowMs: number): number {
    const cb = this.must(id);
    const { dialing: _none, ...rest } = cb;
    const notBeforeMs = nowMs + this.policyOf(cb.skill)!.retryAfterMs;
    this.byId.set(id, { ...rest, notBeforeMs });
    return notBeforeMs;
  }

  /** Removes a callback (cancelled); undefined when the book does not hold it. */
  cancel(id: string): Callback | undefined {
    const cb = this.byId.get(id);
    this.byId.delete(id);
    return cb;
  }

  private must(id: string): Callback {
    const cb = this.byId.get(id);
    if (!cb) throw new CallbackError(`unknown callback ${id}`);
    return cb;
  }
}
