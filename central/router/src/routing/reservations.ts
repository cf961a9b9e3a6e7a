// Capacity the router has promised at target sites and their snapshots do not show yet. Pure:
// times come in as arguments.
//
// Every decision weighs every site, so what it asks of this ledger, "how many calls of this skill
// and tenant are on their way to that site", is a counter read, not a walk over the
// reservations; "how many does this origin hold" (its cap) is another. Reservations expire in the order of their expiry, kept sorted on insertion: with
// one timeout that is simply arrival order, and a shortened timeout (a policy change) puts the
// newer, earlier-expiring reservations in their place instead of behind the older ones.

export interface Reservation {
  readonly siteId: string;
  readonly callId: string;
  /** The site whose call it is: each origin may hold only so many (RoutingPolicy). */
  readonly originSiteId: string;
  readonly skill: string;
  readonly tenantId: string;
  readonly expiresMs: number;
  /** Set when the target reported the call (overflowed in): its next snapshot counts it. */
  arrivedSnapshotMs?: number;
  /** Made by the other router of the pair (its decision, read from route-decisions). */
  readonly byPeer?: true;
}

export class Reservations {
  /** site → call id → reservation. */
  private readonly bySite = new Map<string, Map<string, Reservation>>();
  /** site, skill, tenant → reservations held. */
  private readonly counts = new Map<string, number>();
  /** origin site → reservations held for its calls. */
  private readonly byOrigin = new Map<string, number>();
  /** Reservations held that the peer router made. */
  private peerHeld = 0;
  /** Held reservations by expiry, earliest first, from `head` on (dropped ones are skipped). */
  private byExpiry: Reservation[] = [];
  private head = 0;

  /** Reservations of `skill` and `tenantId` held at `siteId`. */
  count(siteId: string, skill: string, tenantId: string): number {
    return this.counts.get(countKey(siteId, skill, tenantId)) ?? 0;
  }

  /** Reservations held for calls of `originSiteId`, at every target. */
  heldBy(originSiteId: string): number {
    return this.byOrigin.get(originSiteId) ?? 0;
  }

  /** Reservations held that the peer router made, every site. */
  get byPeer(): number {
    return this.peerHeld;
  }

  /** Whether a reservation for `callId` is held at `siteId`. */
  has(siteId: string, callId: string): boolean {
    return this.bySite.get(siteId)?.has(callId) ?? false;
  }

  /** Reservations held at `siteId`, every skill and tenant. */
  at(siteId: string): number {
    return this.bySite.get(siteId)?.size ?? 0;
  }

  add(r: Reservation): void {
    let site = this.bySite.get(r.siteId);
    if (!site) this.bySite.set(r.siteId, (site = new Map()));
    const held = site.get(r.callId);
    if (held) this.drop(held);
    site.set(r.callId, r);
    const key = countKey(r.siteId, r.skill, r.tenantId);
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    this.byOrigin.set(r.originSiteId, this.heldBy(r.originSiteId) + 1);
    if (r.byPeer) this.peerHeld += 1;
    let i = this.byExpiry.length;
    while (i > this.head && this.byExpiry[i - 1]!.expiresMs > r.expiresMs) i--;
    this.byExpiry.splice(i, 0, r);
  }

  /** The target took the call into its ACD at `atMs` (its clock). Returns whether one was held. */
  arrived(siteId: string, callId: string, atMs: number): boolean {
    const r = this.bySite.get(siteId)?.get(callId);
    if (r) r.arrivedSnapshotMs = atMs;
    return r !== undefined;
  }

  /**
   * The target refused the call, or it never got there: the capacity is free again. Returns
   * whether one was held.
   */
  release(siteId: string, callId: string): boolean {
    const r = this.bySite.get(siteId)?.get(callId);
    if (r) this.drop(r);
    return r !== undefined;
  }

  /** The site's snapshot stamped `snapshotMs` counts every call it reported before then. */
  seenBy(siteId: string, snapshotMs: number): void {
    const site = this.bySite.get(siteId);
    if (!site) return;
    for (const r of site.values())
      if (r.arrivedSnapshotMs !== undefined && r.arrivedSnapshotMs <= snapshotMs) this.drop(r);
  }

  /** Drops every reservation whose expiry is at or before `nowMs`. */
  expire(nowMs: number): void {
    while (this.head < this.byExpiry.length && this.byExpiry[this.head]!.expiresMs <= nowMs) {
      const r = this.byExpiry[this.head++]!;
      if (this.bySite.get(r.siteId)?.get(r.callId) === r) this.drop(r);
    }
    // Compact once the expired prefix outweighs what is held.
    if (this.head > 1024 && this.head * 2 > this.byExpiry.length) {
      this.byExpiry = this.byExpiry.slice(this.head);
      this.head = 0;
    }
  }

  private drop(r: Reservation): void {
    const site = this.bySite.get(r.siteId);
    if (site?.get(r.callId) !== r) return;
    site.delete(r.callId);
    const key = countKey(r.siteId, r.skill, r.tenantId);
    const n = (this.counts.get(key) ?? 1) - 1;
    if (n > 0) this.counts.set(key, n);
    else this.counts.delete(key);
    const held = this.heldBy(r.originSiteId) - 1;
    if (held > 0) this.byOrigin.set(r.originSiteId, held);
    else this.byOrigin.delete(r.originSiteId);
    if (r.byPeer) this.peerHeld -= 1;
    // A dropped reservation stays in byExpiry until its time comes, and is skipped then; those
    // dropped early (most of them: seen by a snapshot) go once they are a prefix.
  }
}

const countKey = (siteId: string, skill: string, tenantId: string) =>
  `${siteId}\u0000${skill}\u0000${tenantId}`;
