// The origin's half of a callback handover (docs/callbacks.md, "Served at another site", "Never
// at two sites"): which pending callbacks may ask the router for another site; the handover the
// router's choice starts; the decision, journaled before the callback leaves (committed) or not at
// all (aborted: it stays); telling the target, again until it answers; and answering a target
// that asks, "aborted" only of a handover never committed, stopping one still waiting first.

import {
  originOnQuery,
  SETTLE_RETRY_MS,
  type Handover,
  type HandoverQuery,
  type HandoverSettlement,
} from './handover.js';
import {
  guarded,
  type DeskCore,
  type HandoverDeskDeps,
  type WaitingCallback,
} from './handover-ports.js';

export class HandoverOrigin {
  /**
   * When each callback's last handover was refused: it does not ask the router again before the
   * topology's re-request interval, as a caller would not (the trigger forgot it while it was away).
   */
  private readonly handoverRefusedAt = new Map<string, number>();

  /** Attempts whose turn came while their callback was being handed over: dialed if it stays. */
  private readonly heldForHandover = new Map<string, () => void>();

  /** Commits being told, or waiting to be told again (callback id → not before). */
  private readonly settling = new Map<string, { inFlight: boolean; nextAtMs: number }>();

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

  /** Tells again each committed decision not yet acknowledged, every SETTLE_RETRY_MS. */
  tick(): void {
    const { handoverChannel: channel, siteId } = this.deps;
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
        guarded(this.deps.log, s.callbackId, () =>
          this.deps.store.handovers.acknowledged(s.callbackId),
        );
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
}
