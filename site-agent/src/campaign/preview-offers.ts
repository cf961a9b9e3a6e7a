// Preview mode's offers (docs/campaigns.md, "Preview"): the contact a campaign put in front of a
// reserved agent, until the agent dials it, skips it, or lets it lapse. Pure and clock-free: the
// campaign run passes the instant in. An offer is decided once, by its own agent only; a decided
// or lapsed offer is remembered (a bounded number of them) so that a late click is told it is
// stale rather than that the offer never existed. The open ones are journalled by the run
// (campaign-journal.ts), so that a restarted site agent takes them up with their time left.

/** Why an agent may skip a previewed contact; events carry the code, never free text. */
export const SKIP_REASONS = ['not_now', 'needs_preparation', 'wrong_contact', 'other'] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];

export function isSkipReason(value: string): value is SkipReason {
  return (SKIP_REASONS as readonly string[]).includes(value);
}

export interface PreviewOffer {
  readonly offerId: string;
  /** The call id the agent is reserved under; a dial places the call under it. */
  readonly callId: string;
  readonly agentId: string;
  readonly contactId: string;
  readonly customerId?: string;
  readonly offeredAtMs: number;
  /** Undecided by then, the offer lapses: the agent is freed, the contact offered later. */
  readonly expiresAtMs: number;
}

export type PreviewDecision =
  { readonly kind: 'dial' } | { readonly kind: 'skip'; readonly reason: SkipReason };

export class PreviewDecisionError extends Error {
  constructor(
    readonly code: 'not_found' | 'not_yours' | 'stale',
    message: string,
  ) {
    super(message);
    this.name = 'PreviewDecisionError';
  }
}

/** How many closed offers are remembered to tell a late decision it is stale. */
const CLOSED_KEPT = 1_000;

export class PreviewOffers {
  private readonly open = new Map<string, PreviewOffer>();
  private readonly closed = new Map<string, { agentId: string; how: string }>();

  /** Opens an offer; the agent must have none open (the ACD reserves an agent once). */
  add(offer: PreviewOffer): void {
    if (this.forAgent(offer.agentId))
      throw new RangeError(`agent ${offer.agentId} already has a preview open`);
    this.open.set(offer.offerId, offer);
  }

  get size(): number {
    return this.open.size;
  }

  /** The open offers, in the order they were opened: what the journal keeps. */
  list(): PreviewOffer[] {
    return [...this.open.values()];
  }

  /** Whether `offerId` is open or was lately closed here. */
  knows(offerId: string): boolean {
    return this.open.has(offerId) || this.closed.has(offerId);
  }

  /** The agent's open offer, if any. */
  forAgent(agentId: string): PreviewOffer | undefined {
    for (const o of this.open.values()) if (o.agentId === agentId) return o;
    return undefined;
  }

  /**
   * Closes `offerId` for `agentId`'s decision at `nowMs`, or throws why it cannot: no such offer,
   * another agent's, or one already decided or lapsed (one past its expiry stays open for
   * `lapsed` to release).
   */
  take(offerId: string, agentId: string, nowMs: number, how: string): PreviewOffer {
    const offer = this.open.get(offerId);
    const closed = this.closed.get(offerId);
    const owner = offer?.agentId ?? closed?.agentId;
    if (owner === undefined) throw new PreviewDecisionError('not_found', `no preview ${offerId}`);
    if (owner !== agentId)
      throw new PreviewDecisionError('not_yours', `preview ${offerId} is another agent's`);
    if (!offer)
      throw new PreviewDecisionError(
        'stale',
        `preview ${offerId} is no longer open (${closed!.how})`,
      );
    if (nowMs >= offer.expiresAtMs)
      throw new PreviewDecisionError('stale', `preview ${offerId} lapsed undecided`);
    this.close(offer, how);
    return offer;
  }

  /** Closes and returns every open offer whose time ran out by `nowMs`. */
  lapsed(nowMs: number): PreviewOffer[] {
    const out = [...this.open.values()].filter((o) => nowMs >= o.expiresAtMs);
    for (const o of out) this.close(o, 'released');
    return out;
  }

  /** Remembers `offer` as released without opening it (one a restart could not take up). */
  remember(offer: PreviewOffer): void {
    this.close(offer, 'released');
  }

  /** Closes and returns every open offer (the campaign paused or stopped). */
  withdrawAll(): PreviewOffer[] {
    const out = [...this.open.values()];
    for (const o of out) this.close(o, 'released');
    return out;
  }

  private close(offer: PreviewOffer, how: string): void {
    this.open.delete(offer.offerId);
    this.closed.set(offer.offerId, { agentId: offer.agentId, how });
    if (this.closed.size > CLOSED_KEPT) this.closed.delete(this.closed.keys().next().value!);
  }
}
