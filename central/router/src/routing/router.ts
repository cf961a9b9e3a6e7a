// The overflow decision. Pure: the nationwide picture comes in through observe*(), time from the
// injected clock; the same code runs behind gRPC and in the routing simulator (bench/routing).
//
// Model. Each site reports, per skill and tenant, its queue, staffed and idle agents and average
// handle time (AHT). A new call of tenant T at site X waits, in expectation, for the
// (q + r + 1 - idle)-th release of T's agents there, where q is T's queue and r the calls the
// router already sent X that X's snapshots do not show yet (reservations):
//     EWT_X = max(0, q + r + 1 - idle) × AHT / staffed        (the site agent's own EWT model)
// plus X's handicap. A call moves to the best X only when EWT_X beats the call's EWT at home by
// the skill's minimum improvement; otherwise it stays. Reservations are what stop herding: every
// decision makes its target look busier to the next one until the target's own figures take over.

import type { Clock } from '@ccfed/common';
import type { RoutingPolicy } from './policy.js';
import { Reservations } from './reservations.js';

/** One site's figures for one skill and tenant, as its latest snapshot says. */
export interface TenantSkillFigures {
  readonly queued: number;
  readonly staffed: number;
  readonly idle: number;
}

export interface SiteFigures {
  readonly siteId: string;
  /** When the site stamped the snapshot (its clock). */
  readonly snapshotMs: number;
  /** Per-process sequence: an older snapshot than the one held is ignored. */
  readonly sequence: number;
  readonly acceptingOverflow: boolean;
  /** skill → { averageHandleMs, tenant → figures } */
  readonly skills: ReadonlyMap<
    string,
    { readonly averageHandleMs: number; readonly tenants: ReadonlyMap<string, TenantSkillFigures> }
  >;
}

export interface RouteRequest {
  readonly callId: string;
  readonly originSiteId: string;
  readonly tenantId: string;
  readonly skill: string;
  readonly tier: number;
  /** How long the call has waited so far. */
  readonly waitedMs: number;
  /** How much longer the call is expected to wait at its own site. */
  readonly originExpectedWaitMs: number;
  readonly hopCount: number;
}

export interface Alternative {
  readonly siteId: string;
  readonly eligible: boolean;
  readonly excludedReason: string;
  /** Expected wait there, reservations included, handicap not included. */
  readonly expectedWaitMs: number;
  readonly handicapMs: number;
  /** How old the site's figures are (by the router's receipt time). */
  readonly stateAgeMs: number;
  /** Idle agents there not already claimed by its queue or by reservations (0 if none). */
  readonly freeAgents: number;
}

export type Decision =
  | {
      readonly verdict: 'stay';
      readonly reason: string;
      readonly alternatives: readonly Alternative[];
      /** Set when the call would have moved but its origin holds its cap of reservations. */
      readonly capped?: true;
    }
  | {
      readonly verdict: 'overflow';
      readonly targetSiteId: string;
      readonly targetSipUri: string;
      readonly reservationExpiresMs: number;
      readonly reason: string;
      readonly alternatives: readonly Alternative[];
    };

/** An overflow reservation the other router of the pair made, as its decision event says. */
export interface PeerReservation {
  readonly targetSiteId: string;
  readonly callId: string;
  readonly originSiteId: string;
  readonly skill: string;
  readonly tenantId: string;
  /** When the peer's reservation expires (the peer's clock). */
  readonly expiresMs: number;
}

/** Most arrivals and refusals remembered for calls whose peer decision has not come yet. */
const MAX_UNHELD = 10_000;
const unheldKey = (siteId: string, callId: string) => `${siteId}\u0000${callId}`;

/** No agent of the tenant staffed for the skill: the call cannot be answered there. */
export const UNSERVED_MS = Number.MAX_SAFE_INTEGER;

interface SiteRecord {
  figures: SiteFigures;
  /** When the router received the figures (its clock): staleness is judged by this. */
  receivedMs: number;
}

export class Router {
  private readonly sites = new Map<string, SiteRecord>();
  /** Calls sent to target sites that their snapshots do not show yet. */
  private readonly reservations = new Reservations();
  /** Arrivals and refusals of calls nothing was held for, oldest first (see noteUnheld). */
  private readonly unheld = new Map<
    string,
    { readonly outcome: number | 'released'; readonly untilMs: number }
  >();

  private policy: RoutingPolicy;

  constructor(private readonly deps: { readonly clock: Clock; readonly policy: RoutingPolicy }) {
    this.policy = deps.policy;
  }

  /** The policy decisions are made by now. */
  get currentPolicy(): RoutingPolicy {
    return this.policy;
  }

  /**
   * Decides by `policy` from now on. Site figures and reservations are kept (a reservation keeps
   * the expiry it was made with), so a policy change neither forgets the country nor lets a
   * target be herded while its reservations would have been rebuilt.
   */
  setPolicy(policy: RoutingPolicy): void {
    this.policy = policy;
  }

  /** Takes a site's snapshot; an older one than already held is ignored. Returns whether used. */
  observeSnapshot(figures: SiteFigures): boolean {
    if (!this.policy.sites.has(figures.siteId)) return false;
    const held = this.sites.get(figures.siteId);
    // A restarted site agent starts its sequence again: a newer stamp with a lower sequence wins.
    if (
      held &&
      figures.sequence <= held.figures.sequence &&
      figures.snapshotMs <= held.figures.snapshotMs
    )
      return false;
    this.sites.set(figures.siteId, { figures, receivedMs: this.deps.clock.now() });
    // Calls the site reported before this snapshot are in its figures now.
    this.reservations.seenBy(figures.siteId, figures.snapshotMs);
    return true;
  }

  /** The target took the call into its ACD at `atMs` (its clock): its next snapshot shows it. */
  observeArrival(targetSiteId: string, callId: string, atMs: number): void {
    if (!this.reservations.arrived(targetSiteId, callId, atMs))
      this.noteUnheld(targetSiteId, callId, atMs);
  }

  /** The target refused the call, or it never got there: the capacity is free again. */
  release(targetSiteId: string, callId: string): void {
    if (!this.reservations.release(targetSiteId, callId))
      this.noteUnheld(targetSiteId, callId, 'released');
  }

  /**
   * Holds a reservation the other router of the pair made (its overflow decision, read from the
   * route-decisions topic), so that both count every call on its way to a target and a pair never
   * sends an idle site twice what it can take. Returns whether it is held: not when it has
   * expired, names a site outside the policy, is already held, or the call already settled here
   * (its arrival or refusal came before the decision). Its expiry is the peer's, but never
   * further off than this router's own reservation timeout (a peer clock running ahead must not
   * pin capacity).
   */
  holdPeerReservation(r: PeerReservation): boolean {
    const now = this.deps.clock.now();
    this.reservations.expire(now);
    if (!this.policy.sites.has(r.targetSiteId)) return false;
    const expiresMs = Math.min(r.expiresMs, now + this.policy.reservationTimeoutMs);
    if (expiresMs <= now || this.reservations.has(r.targetSiteId, r.callId)) return false;
    const settled = this.unheld.get(unheldKey(r.targetSiteId, r.callId));
    if (settled?.outcome === 'released') return false;
    this.reservations.add({
      siteId: r.targetSiteId,
      callId: r.callId,
      originSiteId: r.originSiteId,
      skill: r.skill,
      tenantId: r.tenantId,
      expiresMs,
      byPeer: true,
    });
    if (settled) {
      // It arrived before its decision reached us: the site's snapshots may already count it.
      this.reservations.arrived(r.targetSiteId, r.callId, settled.outcome);
      const seen = this.sites.get(r.targetSiteId)?.figures.snapshotMs;
      if (seen !== undefined) this.reservations.seenBy(r.targetSiteId, seen);
    }
    return true;
  }

  /** Reservations held now that the other router of the pair made (for status and tests). */
  heldByPeer(): number {
    this.reservations.expire(this.deps.clock.now());
    return this.reservations.byPeer;
  }

  /**
   * An arrival or refusal for a call this router holds nothing for: the peer's decision for it
   * may still be on its way. Remembered for one reservation timeout, at most MAX_UNHELD calls.
   */
  private noteUnheld(siteId: string, callId: string, outcome: number | 'released'): void {
    const now = this.deps.clock.now();
    for (const [key, u] of this.unheld) {
      if (u.untilMs > now && this.unheld.size < MAX_UNHELD) break;
      this.unheld.delete(key);
    }
    const key = unheldKey(siteId, callId);
    this.unheld.delete(key);
    this.unheld.set(key, { outcome, untilMs: now + this.policy.reservationTimeoutMs });
  }

  /** Reservations held for an origin's calls now (for status and tests). */
  reservedFor(originSiteId: string): number {
    this.reservations.expire(this.deps.clock.now());
    return this.reservations.heldBy(originSiteId);
  }

  /** Reservations held at a site now (for status and tests). */
  reservedAt(siteId: string): number {
    this.reservations.expire(this.deps.clock.now());
    return this.reservations.at(siteId);
  }

  /**
   * Stay or overflow, with every site weighed and why. An overflow reserves capacity at its
   * target. Never throws for a well-formed request; an unknown site or skill means stay.
   */
  decide(req: RouteRequest): Decision {
    this.reservations.expire(this.deps.clock.now());
    const { policy } = this;
    const skill = policy.skills.get(req.skill);
    const stay = (reason: string, alternatives: Alternative[] = []): Decision => ({
      verdict: 'stay',
      reason,
      alternatives,
    });
    if (!policy.sites.has(req.originSiteId)) return stay(`unknown origin site ${req.originSiteId}`);
    if (!skill) return stay(`skill ${req.skill} does not overflow`);
    if (req.hopCount >= policy.maxHops) return stay('the call was already overflowed once');
    // The threshold is on the call's expected total wait: what it waited plus what is left. A
    // call that has waited the skill's askAfter may move whatever its forecast.
    const expectedTotalMs = req.waitedMs + req.originExpectedWaitMs;
    if (expectedTotalMs < skill.thresholdMs && req.waitedMs < (skill.askAfterMs ?? Infinity))
      return stay(
        `expected total wait ${secs(expectedTotalMs)} at ${req.originSiteId} (waited ${secs(req.waitedMs)}) is under the ${secs(skill.thresholdMs)} threshold`,
      );

    const alternatives = [...policy.sites.values()]
      .filter((s) => s.siteId !== req.originSiteId)
      .map((s) => this.weigh(s.siteId, s.handicapMs, req));
    const best = alternatives
      .filter((a) => a.eligible)
      // Equal waits (typically none at all) go to the site with the most free agents: always
      // taking the first such site in the list would pile overflow onto it until it overflows
      // its own callers in turn.
      .sort(
        (a, b) =>
          a.expectedWaitMs + a.handicapMs - (b.expectedWaitMs + b.handicapMs) ||
          b.freeAgents - a.freeAgents,
      )[0];
    if (!best) return stay('no other site can take the call', alternatives);
    const there = best.expectedWaitMs + best.handicapMs;
    const gain = req.originExpectedWaitMs - there;
    if (gain < skill.minImprovementMs)
      return stay(
        `best site ${best.siteId} (${secs(there)}) is not ${secs(skill.minImprovementMs)} better than staying (${secs(req.originExpectedWaitMs)})`,
        alternatives,
      );

    // Checked last, so that the answer says where the call would have gone: a flood from one
    // origin ends here, and the other origins' calls still find the capacity it cannot hold.
    const held = this.reservations.heldBy(req.originSiteId);
    if (held >= policy.maxReservationsPerOrigin)
      return {
        verdict: 'stay',
        reason: `${req.originSiteId} already holds ${held} reservations, its cap of ${policy.maxReservationsPerOrigin} (best site would be ${best.siteId})`,
        alternatives,
        capped: true,
      };

    const expiresMs = this.deps.clock.now() + policy.reservationTimeoutMs;
    this.reservations.add({
      siteId: best.siteId,
      callId: req.callId,
      originSiteId: req.originSiteId,
      skill: req.skill,
      tenantId: req.tenantId,
      expiresMs,
    });
    return {
      verdict: 'overflow',
      targetSiteId: best.siteId,
      targetSipUri: policy.sites.get(best.siteId)!.sipUri,
      reservationExpiresMs: expiresMs,
      reason: `${best.siteId} expects ${secs(there)} against ${secs(req.originExpectedWaitMs)} at ${req.originSiteId}`,
      alternatives,
    };
  }

  private weigh(siteId: string, handicapMs: number, req: RouteRequest): Alternative {
    const now = this.deps.clock.now();
    const rec = this.sites.get(siteId);
    const base = { siteId, handicapMs, expectedWaitMs: UNSERVED_MS, freeAgents: 0 };
    const excluded = (reason: string, stateAgeMs = 0): Alternative => ({
      ...base,
      eligible: false,
      excludedReason: reason,
      stateAgeMs,
    });
    if (this.policy.excludedSites.get(req.tenantId)?.has(siteId))
      return excluded(`tenant ${req.tenantId} may not be served at ${siteId}`);
    if (!rec) return excluded('no snapshot received from the site');
    const age = now - rec.receivedMs;
    if (age > this.policy.staleAfterMs) return excluded(`not heard from for ${secs(age)}`, age);
    if (!rec.figures.acceptingOverflow) return excluded('not accepting overflow', age);
    const skill = rec.figures.skills.get(req.skill);
    const t = skill?.tenants.get(req.tenantId);
    if (!skill || !t || t.staffed === 0)
      return excluded(`no ${req.tenantId} agent staffed for ${req.skill}`, age);
    const reserved = this.reservations.count(siteId, req.skill, req.tenantId);
    const ahead = t.queued + reserved + 1 - t.idle;
    const expectedWaitMs = ahead <= 0 ? 0 : Math.round((ahead * skill.averageHandleMs) / t.staffed);
    return {
      ...base,
      expectedWaitMs,
      freeAgents: Math.max(0, -ahead + 1),
      eligible: true,
      excludedReason: '',
      stateAgeMs: age,
    };
  }
}

function secs(ms: number): string {
  return ms >= UNSERVED_MS ? 'never' : `${(ms / 1000).toFixed(1)} s`;
}
