// One run of the federation under a virtual clock. The ACDs, the router and the overflow trigger
// are the production modules; this file only plays the network and the people around them:
// callers (arrival, patience), agents (answer after the ring delay, hang up after the talk time),
// Kafka (snapshots and arrival events delayed), gRPC (the route request's round trip) and SIP
// (the transfer's delay, and the target's answer: accept or refuse).
import { ManualClock } from '@ccfed/common';
import type { RoutingPolicy } from '@ccfed/router/routing/policy';
import { DEFAULT_MAX_RESERVATIONS_PER_ORIGIN } from '@ccfed/topology';
import {
  Router,
  type Decision,
  type RouteRequest,
  type SiteFigures,
} from '@ccfed/router/routing/router';
import { Acd, type AcdAgent, type Effects } from '@ccfed/site-agent/acd/acd';
import { OverflowTrigger } from '@ccfed/site-agent/overflow/trigger';
import type { Caller, SiteLoad } from './arrivals.js';
import { EventQueue } from './event-queue.js';
import { Prng } from './prng.js';
import { siteFigures } from './site-figures.js';
import { callsAheadBand } from '@ccfed/site-agent/acd/ewt';
import { addEwt, emptyTally, gammaMeanAbsDeviation, type Tally } from './metrics.js';

export const SKILL = 'support';
export const TENANT = 'acme';
const POOL = 'pool';

export type Mode = 'isolated' | 'federated' | 'pooled';

export interface FederationModel {
  /** Snapshot every this often per site; the router gets it kafkaDelayMs later. */
  readonly snapshotIntervalMs: number;
  readonly kafkaDelayMs: number;
  /** RequestRoute round trip; the router decides half-way. */
  readonly rpcRoundTripMs: number;
  /** Origin withdraws → target's ACD gets the call; also the way back of a refusal. */
  readonly transferDelayMs: number;
  /** Each site runs its trigger this often (and when a call is queued). */
  readonly triggerIntervalMs: number;
  readonly reRequestIntervalMs: number;
  readonly thresholdMs: number;
  /** A call that has waited this long asks whatever its forecast (the skill's askAfter). */
  readonly askAfterMs?: number;
  readonly minImprovementMs: number;
  readonly staleAfterMs: number;
  readonly reservationTimeoutMs: number;
}

/**
 * ccfed as the benchmark models it: 1 s state lag (500 ms snapshots + 500 ms Kafka), a 2 ms
 * RequestRoute, 75 ms SIP transfer, and the policy this benchmark recommends for a skill with a
 * 20 s service level: a call forecast to wait 2 min or more asks at once; any call asks once it
 * has waited 19 s (the service level less the transfer: this model has no ring time; in the
 * field, subtract the ring time too, as the example topology's support skill does); it moves only
 * for a site 10 s better. Asking on the wait so far rather than on the forecast moves the calls
 * about to miss the service level, and only those: in the sweep in routing.json the forecast
 * alone needs 19 % of calls moved for the pooling gain this policy gets with 13 %.
 */
export const CCFED_MODEL: FederationModel = {
  snapshotIntervalMs: 500,
  kafkaDelayMs: 500,
  rpcRoundTripMs: 2,
  transferDelayMs: 75,
  triggerIntervalMs: 250,
  reRequestIntervalMs: 5_000,
  thresholdMs: 120_000,
  askAfterMs: 19_000,
  minImprovementMs: 10_000,
  staleAfterMs: 10_000,
  reservationTimeoutMs: 5_000,
};

/**
 * Callbacks (issue 19): a caller told a wait above `offerAboveMs` may ask to be called back. They
 * hang up and keep their place: a virtual entry in the site's queue at their original arrival
 * time, which no patience ends. When an agent takes it, the dialer rings the customer (agent
 * first); `answerRate` of them answer after `dialMs`; the others are tried again `retryAfterMs`
 * later from their place, and lost (counted as abandoned) after `attempts` tries.
 * Served at 'origin', the entry stays at the chosen site; served 'anywhere' (federated mode), the
 * router may move it like any queued call, with no SIP transfer to wait for.
 */
export interface CallbackModel {
  readonly offerAboveMs: number;
  /** Share of callers offered one who take it; each caller's choice is drawn from the seed. */
  readonly acceptShare: number;
  readonly servedAt: 'origin' | 'anywhere';
  readonly dialMs: number;
  readonly answerRate: number;
  /** Attempts before the customer counts as lost, and the pause between them. */
  readonly attempts: number;
  readonly retryAfterMs: number;
  readonly seed: number;
}

export interface RunConfig {
  readonly mode: Mode;
  readonly sites: readonly SiteLoad[];
  readonly callers: readonly Caller[];
  readonly averageHandleMs: number;
  readonly wrapUpMs: number;
  readonly ringDelayMs: number;
  readonly slThresholdMs: number;
  /** Only calls arriving in [warmupMs, endMs) are counted; all are followed to their end. */
  readonly warmupMs: number;
  readonly endMs: number;
  /** Narrows the counted calls further (one site, one hour); all calls are simulated. */
  readonly counts?: (caller: Caller) => boolean;
  readonly federation: FederationModel;
  readonly callbacks?: CallbackModel;
}

type Phase = 'queued' | 'transit' | 'ringing' | 'talking' | 'done' | 'abandoned' | 'retry';

interface SimCall {
  readonly caller: Caller;
  readonly origin: string;
  at: string;
  phase: Phase;
  hops: number;
  /** Left the origin's queue at some point (overflowed, or sent and refused). */
  moved: boolean;
  overflowed: boolean;
  refused: boolean;
  /** Took a callback: off the line, waiting as a virtual entry. */
  callback: boolean;
  /** Callback attempts that rang the customer so far. */
  callbackAttempts: number;
  predictedMs?: number;
  /** The calibrated forecast the caller would have been told. */
  announcedMs?: number;
  callsAhead?: number;
  position?: number;
  answeredMs?: number;
}

type SimEvent =
  | { kind: 'arrive'; caller: Caller }
  | { kind: 'answer' | 'hangup' | 'abandon'; call: SimCall }
  | { kind: 'tick' | 'snapshot' | 'check'; site: string }
  | { kind: 'deliver'; figures: SiteFigures }
  | { kind: 'decide'; req: RouteRequest }
  | { kind: 'verdict'; call: SimCall; decision: Decision; toldEwtMs: number }
  | { kind: 'transfer'; call: SimCall; target: string; originEwtMs: number }
  | { kind: 'refused'; call: SimCall }
  | { kind: 'retry'; call: SimCall }
  | { kind: 'seen'; target: string; callId: string; atMs: number };

/** Builds the sim's routing policy: every site equal (no handicap), one skill that overflows. */
export function simPolicy(siteIds: readonly string[], f: FederationModel): RoutingPolicy {
  return {
    skills: new Map([
      [
        SKILL,
        {
          thresholdMs: f.thresholdMs,
          minImprovementMs: f.minImprovementMs,
          ...(f.askAfterMs === undefined ? {} : { askAfterMs: f.askAfterMs }),
        },
      ],
    ]),
    sites: new Map(
      siteIds.map((id) => [id, { siteId: id, handicapMs: 0, sipUri: `sip:${id}.sim:5060` }]),
    ),
    staleAfterMs: f.staleAfterMs,
    reservationTimeoutMs: f.reservationTimeoutMs,
    excludedSites: new Map(),
    maxHops: 1,
    maxReservationsPerOrigin: DEFAULT_MAX_RESERVATIONS_PER_ORIGIN,
  };
}

/** A uniform draw in [0, 1) fixed by the seed, the call and what it decides: the same caller
 * makes the same choice in every mode, and no other stream of the run moves. */
function drawFor(seed: number, callId: string, what: string): number {
  let h = 0x811c9dc5 ^ seed;
  for (const ch of `${what}:${callId}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193);
  return new Prng(h >>> 0).next();
}

/** Runs one mode over the given callers and returns what it measured. */
export function simulate(cfg: RunConfig): Tally {
  const clock = new ManualClock(0);
  const events = new EventQueue<SimEvent>();
  const tally = emptyTally();
  const fed = cfg.federation;
  const federated = cfg.mode === 'federated';
  const cb = cfg.callbacks;
  // A callback moved by the router needs no SIP transfer.
  const moveDelay = (call: SimCall) => (call.callback ? 0 : fed.transferDelayMs);
  const skills = [
    {
      id: SKILL,
      serviceLevelThresholdMs: cfg.slThresholdMs,
      wrapUpMs: cfg.wrapUpMs,
      averageHandleMs: cfg.averageHandleMs,
    },
  ];
  const agentsOf = (site: SiteLoad): AcdAgent[] =>
    Array.from({ length: site.agents }, (_, i) => ({
      id: `${site.siteId}-agent-${i}`,
      tenantId: TENANT,
      skills: { [SKILL]: 5 },
    }));
  const acds = new Map<string, Acd>();
  const staffed = new Map<string, number>();
  if (cfg.mode === 'pooled') {
    acds.set(POOL, new Acd({ clock, skills, agents: cfg.sites.flatMap(agentsOf) }));
    staffed.set(
      POOL,
      cfg.sites.reduce((n, s) => n + s.agents, 0),
    );
  } else
    for (const s of cfg.sites) {
      acds.set(s.siteId, new Acd({ clock, skills, agents: agentsOf(s) }));
      staffed.set(s.siteId, s.agents);
    }
  const siteIds = [...acds.keys()];
  const router = new Router({ clock, policy: simPolicy(siteIds, fed) });
  const triggers = new Map(
    siteIds.map((id) => [
      id,
      new OverflowTrigger({
        thresholdMs: new Map([[SKILL, fed.thresholdMs]]),
        ...(fed.askAfterMs === undefined ? {} : { askAfterMs: new Map([[SKILL, fed.askAfterMs]]) }),
        reRequestIntervalMs: fed.reRequestIntervalMs,
      }),
    ]),
  );
  const calls = new Map<string, SimCall>();
  const pendingTick = new Map<string, number>();
  const sequence = new Map<string, number>();
  let open = 0;

  const acd = (site: string) => acds.get(site)!;
  const counted = (c: SimCall) =>
    c.caller.arrivalMs >= cfg.warmupMs &&
    c.caller.arrivalMs < cfg.endMs &&
    (cfg.counts?.(c.caller) ?? true);

  const scheduleTick = (site: string) => {
    const d = acd(site).nextDeadline();
    const held = pendingTick.get(site);
    if (d !== undefined && (held === undefined || d < held)) {
      pendingTick.set(site, d);
      events.push(Math.max(d, clock.now()), { kind: 'tick', site });
    }
  };

  const carryOut = (site: string, fx: Effects) => {
    for (const a of fx.assignments) {
      const call = calls.get(a.callId)!;
      call.phase = 'ringing';
      triggers.get(site)!.forget(a.callId);
      events.push(clock.now() + (call.callback ? cb!.dialMs : cfg.ringDelayMs), {
        kind: 'answer',
        call,
      });
    }
    scheduleTick(site);
  };

  /** Puts the call into `site`'s ACD at its original arrival time. */
  const offer = (call: SimCall, site: string) => {
    call.at = site;
    call.phase = 'queued';
    const res = acd(site).offer({
      callId: call.caller.callId,
      tenantId: TENANT,
      skill: SKILL,
      tier: 1,
      arrivalMs: call.caller.arrivalMs,
    });
    carryOut(site, res.effects);
    return res;
  };

  const check = (site: string) => {
    const a = acd(site);
    const queued = a.queuedCalls(SKILL);
    if (queued.length === 0) return;
    const now = clock.now();
    // Callbacks served only where they were taken never ask the router.
    const movable =
      cb?.servedAt === 'origin' ? queued.filter((q) => !calls.get(q.callId)!.callback) : queued;
    if (movable.length === 0) return;
    const waiting = movable.map((q) => ({
      callId: q.callId,
      skill: SKILL,
      waitedMs: now - q.arrivalMs,
      expectedWaitMs: a.expectedWaitOf(q.callId)!,
      hops: calls.get(q.callId)!.hops,
    }));
    for (const w of triggers.get(site)!.due(waiting, now)) {
      const call = calls.get(w.callId)!;
      const req: RouteRequest = {
        callId: w.callId,
        originSiteId: site,
        tenantId: TENANT,
        skill: SKILL,
        tier: 1,
        waitedMs: now - call.caller.arrivalMs,
        originExpectedWaitMs: w.expectedWaitMs,
        hopCount: call.hops,
      };
      events.push(now + fed.rpcRoundTripMs / 2, { kind: 'decide', req });
    }
  };

  const finish = (call: SimCall, phase: 'done' | 'abandoned') => {
    call.phase = phase;
    open--;
    if (!counted(call)) return;
    tally.offered++;
    if (call.overflowed) tally.overflowed++;
    if (call.refused) tally.refused++;
    if (call.callback) tally.callbacks++;
    if (call.callback && call.overflowed) tally.callbacksOverflowed++;
    if (phase === 'abandoned') {
      tally.abandoned++;
      return;
    }
    const wait = call.answeredMs! - call.caller.arrivalMs;
    tally.answered++;
    tally.waitSumMs += wait;
    if (wait <= cfg.slThresholdMs) tally.withinSl++;
    if (call.predictedMs !== undefined && !call.moved) {
      tally.ewtCalls++;
      tally.ewtAbsErrMs += Math.abs(call.predictedMs - wait);
      tally.ewtErrMs += call.predictedMs - wait;
      tally.ewtWaitMs += wait;
      const scale = cfg.averageHandleMs / staffed.get(call.origin)!;
      tally.ewtFloorMs += gammaMeanAbsDeviation(call.position!, scale);
      const band = callsAheadBand(call.callsAhead!);
      addEwt(tally.ewtBands.model[band], call.predictedMs, wait);
      addEwt(tally.ewtBands.announced[band], call.announcedMs!, wait);
    }
  };

  const handle = (ev: SimEvent): void => {
    const now = clock.now();
    switch (ev.kind) {
      case 'arrive': {
        const origin = cfg.mode === 'pooled' ? POOL : ev.caller.siteId;
        const call: SimCall = {
          caller: ev.caller,
          origin,
          at: origin,
          phase: 'queued',
          hops: 0,
          moved: false,
          overflowed: false,
          refused: false,
          callback: false,
          callbackAttempts: 0,
        };
        calls.set(ev.caller.callId, call);
        open++;
        events.push(now + ev.caller.patienceMs, { kind: 'abandon', call });
        const res = offer(call, origin);
        if (res.kind === 'queued') {
          call.predictedMs = res.expectedWaitMs;
          call.announcedMs = res.announcedWaitMs;
          call.callsAhead = res.callsAhead;
          call.position = res.position;
          call.callback =
            cb !== undefined &&
            res.announcedWaitMs > cb.offerAboveMs &&
            drawFor(cb.seed, ev.caller.callId, 'accept') < cb.acceptShare;
          if (federated) check(origin);
        }
        return;
      }
      case 'answer': {
        const { call } = ev;
        if (call.phase !== 'ringing') return;
        if (call.callback) {
          call.callbackAttempts++;
          const attempt = `answer-${call.callbackAttempts}`;
          if (drawFor(cb!.seed, call.caller.callId, attempt) >= cb!.answerRate) {
            // Nobody picked up: the agent is free again; the customer is tried again later, at
            // their place, or lost after the last attempt.
            carryOut(call.at, acd(call.at).abandon(call.caller.callId).effects);
            if (call.callbackAttempts < cb!.attempts) {
              call.phase = 'retry';
              events.push(now + cb!.retryAfterMs, { kind: 'retry', call });
              return;
            }
            if (counted(call)) tally.callbacksUnreached++;
            finish(call, 'abandoned');
            return;
          }
        }
        carryOut(call.at, acd(call.at).answered(call.caller.callId));
        call.phase = 'talking';
        call.answeredMs = now;
        events.push(now + call.caller.handleMs, { kind: 'hangup', call });
        return;
      }
      case 'hangup': {
        carryOut(ev.call.at, acd(ev.call.at).hangUp(ev.call.caller.callId).effects);
        finish(ev.call, 'done');
        return;
      }
      case 'abandon': {
        const { call } = ev;
        // Off the line: a callback's place is kept whatever the caller's patience was.
        if (call.callback) return;
        if (call.phase === 'queued' || call.phase === 'ringing') {
          triggers.get(call.at)!.forget(call.caller.callId);
          carryOut(call.at, acd(call.at).abandon(call.caller.callId).effects);
        }
        // A call in transit just goes: the transfer finds it gone and frees the reservation.
        if (call.phase !== 'talking' && call.phase !== 'done') finish(call, 'abandoned');
        return;
      }
      case 'tick': {
        if (pendingTick.get(ev.site) !== now) return;
        pendingTick.delete(ev.site);
        carryOut(ev.site, acd(ev.site).tick());
        return;
      }
      case 'snapshot': {
        const status = acd(ev.site).skillStatus();
        const seq = (sequence.get(ev.site) ?? 0) + 1;
        sequence.set(ev.site, seq);
        const figures = siteFigures(ev.site, seq, now, status);
        events.push(now + fed.kafkaDelayMs, { kind: 'deliver', figures });
        events.push(now + fed.snapshotIntervalMs, ev);
        return;
      }
      case 'deliver':
        router.observeSnapshot(ev.figures);
        return;
      case 'check':
        check(ev.site);
        events.push(now + fed.triggerIntervalMs, ev);
        return;
      case 'decide': {
        const call = calls.get(ev.req.callId)!;
        const decision = router.decide(ev.req);
        events.push(now + fed.rpcRoundTripMs / 2, {
          kind: 'verdict',
          call,
          decision,
          toldEwtMs: ev.req.originExpectedWaitMs,
        });
        return;
      }
      case 'verdict': {
        const { call, decision } = ev;
        if (decision.verdict !== 'overflow') return;
        if (call.phase !== 'queued' || call.at !== call.origin) {
          router.release(decision.targetSiteId, call.caller.callId);
          return;
        }
        acd(call.origin).withdraw(call.caller.callId);
        triggers.get(call.origin)!.forget(call.caller.callId);
        call.phase = 'transit';
        call.moved = true;
        call.hops = 1;
        events.push(now + moveDelay(call), {
          kind: 'transfer',
          call,
          target: decision.targetSiteId,
          originEwtMs: ev.toldEwtMs,
        });
        return;
      }
      case 'transfer': {
        const { call, target } = ev;
        if (call.phase !== 'transit') {
          router.release(target, call.caller.callId);
          return;
        }
        const res = offer(call, target);
        if (res.kind === 'queued' && res.expectedWaitMs > ev.originEwtMs) {
          // The target no longer expects to serve it sooner than home: 486, back to the origin.
          acd(target).withdraw(call.caller.callId);
          router.release(target, call.caller.callId);
          call.phase = 'transit';
          call.refused = true;
          events.push(now + moveDelay(call), { kind: 'refused', call });
          return;
        }
        call.overflowed = true;
        events.push(now + fed.kafkaDelayMs, {
          kind: 'seen',
          target,
          callId: call.caller.callId,
          atMs: now,
        });
        return;
      }
      case 'retry':
        offer(ev.call, ev.call.at);
        if (federated) check(ev.call.at);
        return;
      case 'refused':
        if (ev.call.phase === 'transit') offer(ev.call, ev.call.origin);
        return;
      case 'seen':
        router.observeArrival(ev.target, ev.callId, ev.atMs);
        return;
    }
  };

  for (const c of cfg.callers) events.push(c.arrivalMs, { kind: 'arrive', caller: c });
  if (federated)
    siteIds.forEach((site, i) => {
      // Staggered, as independent site agents would be.
      events.push((i * fed.snapshotIntervalMs) / siteIds.length, { kind: 'snapshot', site });
      events.push((i * fed.triggerIntervalMs) / siteIds.length, { kind: 'check', site });
    });
  for (const [site, a] of acds)
    for (const { agent } of a.agentList()) {
      a.login(agent.id);
      carryOut(site, a.ready(agent.id));
    }

  let arrivalsLeft = cfg.callers.length;
  for (;;) {
    const next = events.pop();
    if (!next) break;
    clock.set(next.atMs);
    if (next.event.kind === 'arrive') arrivalsLeft--;
    handle(next.event);
    if (arrivalsLeft === 0 && open === 0) break;
  }
  return tally;
}
