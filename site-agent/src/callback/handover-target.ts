// The target's half of a callback handover (docs/callbacks.md, "Served at another site", "Never
// at two sites"): whether to take a callback another site hands over (taken provisionally: held,
// its place and number kept, never dialed); the origin's decision, confirming it (journaled first,
// then queued at its original place) or dropping it; and asking the origin when no decision came.

import {
  handoverAcceptance,
  HANDED_IN_MEMORY_MS,
  PROVISIONAL_ASK_AFTER_MS,
  SETTLE_RETRY_MS,
  targetOnDecision,
  targetOnRequest,
  type Handover,
  type HandoverQuery,
  type HandoverSettlement,
} from './handover.js';
import type { Callback } from '../acd/callbacks.js';
import {
  guarded,
  type DeskCore,
  type HandoverDeskDeps,
  type ReceiveAnswer,
} from './handover-ports.js';

export class HandoverTarget {
  /** Questions under way or waiting to be asked again (callback id → not before). */
  private readonly asking = new Map<string, { inFlight: boolean; nextAtMs: number }>();

  constructor(
    private readonly deps: HandoverDeskDeps,
    private readonly core: DeskCore,
  ) {}

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
   * Asks the origin about each provisional callback it has heard nothing about for
   * PROVISIONAL_ASK_AFTER_MS, again every SETTLE_RETRY_MS while unanswered.
   */
  tick(): void {
    const { handoverChannel: channel, siteId } = this.deps;
    if (!channel || !siteId) return;
    const now = this.deps.clock.now();
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
        guarded(this.deps.log, q.callbackId, () =>
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
