import { readFileSync } from 'node:fs';
import { ManualClock } from '@ccfed/common';
import { CallEvent, routing, SiteSnapshot, topicNames, type EventMeta } from '@ccfed/proto';
import { parseTopology } from '@ccfed/topology';
import { describe, expect, it } from 'vitest';
import { routingPolicy } from './routing/policy.js';
import { Router, type Decision } from './routing/router.js';
import { applyFeedMessage, perProcessGroupId, type RouterState } from './state-feed.js';

const EXAMPLE = new URL('../../../topology/example.yaml', import.meta.url).pathname;
const T0 = Date.parse('2026-11-22T03:00:00Z');
const topics = topicNames('t');

function setup() {
  const topology = parseTopology(readFileSync(EXAMPLE, 'utf8'), EXAMPLE);
  const clock = new ManualClock(T0);
  return { clock, router: new Router({ clock, policy: routingPolicy(topology) }) };
}

const meta = (siteId: string, at = T0): EventMeta => ({
  eventId: `e-${Math.random()}`,
  tenantId: 'acme-bank',
  siteId,
  eventTime: new Date(at),
  trace: undefined,
  producerSequence: 1,
});

function snapshotBytes(siteId: string, sequence: number, idle: number, at = T0): Buffer {
  return Buffer.from(
    SiteSnapshot.encode(
      SiteSnapshot.fromPartial({
        meta: meta(siteId, at),
        sequence,
        acceptingOverflow: true,
        skills: [
          {
            skill: 'support',
            averageHandleMs: 180_000,
            tenants: [{ tenantId: 'acme-bank', queued: 0, agentsStaffed: 3, agentsIdle: idle }],
          },
        ],
      }),
    ).finish(),
  );
}

/** Router A of the pair, whose feed the tests drive unless they say otherwise. */
const ROUTER_A = 'router-a';
const apply = (router: RouterState, topic: string, value: Buffer | null, routerId = ROUTER_A) =>
  applyFeedMessage(router, topics, topic, value, routerId);

const request = (callId: string) => ({
  callId,
  originSiteId: 'shanghai',
  tenantId: 'acme-bank',
  skill: 'support',
  tier: 1,
  waitedMs: 0,
  originExpectedWaitMs: 120_000,
  hopCount: 0,
});

describe('applyFeedMessage', () => {
  it('takes snapshots into the router and ignores older ones', () => {
    const { router } = setup();
    expect(router.decide(request('c-0')).verdict).toBe('stay');
    expect(apply(router, topics.siteSnapshots, snapshotBytes('beijing', 2, 3))).toBe('snapshot');
    expect(apply(router, topics.siteSnapshots, snapshotBytes('beijing', 1, 3, T0 - 1))).toBe(
      'old-snapshot',
    );
    expect(router.decide(request('c-1'))).toMatchObject({
      verdict: 'overflow',
      targetSiteId: 'beijing',
    });
  });

  it('settles reservations from overflowed-in and overflow-rejected events', () => {
    const { router, clock } = setup();
    apply(router, topics.siteSnapshots, snapshotBytes('beijing', 1, 3));
    router.decide(request('c-1'));
    router.decide(request('c-2'));
    expect(router.reservedAt('beijing')).toBe(2);

    const rejected = CallEvent.fromPartial({
      meta: meta('shanghai'),
      callId: 'c-1',
      kind: { $case: 'overflowRejected', value: { targetSiteId: 'beijing', sipCode: 486 } },
    });
    expect(apply(router, topics.callEvents, Buffer.from(CallEvent.encode(rejected).finish()))).toBe(
      'release',
    );
    expect(router.reservedAt('beijing')).toBe(1);

    clock.advance(100);
    const arrived = CallEvent.fromPartial({
      meta: meta('beijing', T0 + 50),
      callId: 'c-2',
      kind: { $case: 'overflowedIn', value: { originSiteId: 'shanghai' } },
    });
    expect(apply(router, topics.callEvents, Buffer.from(CallEvent.encode(arrived).finish()))).toBe(
      'arrival',
    );
    // The next snapshot of beijing, stamped after the arrival, carries the call itself.
    apply(router, topics.siteSnapshots, snapshotBytes('beijing', 2, 3, T0 + 100));
    expect(router.reservedAt('beijing')).toBe(0);

    const answered = CallEvent.fromPartial({
      meta: meta('beijing'),
      callId: 'c-2',
      kind: { $case: 'answered', value: {} },
    });
    expect(apply(router, topics.callEvents, Buffer.from(CallEvent.encode(answered).finish()))).toBe(
      'ignored',
    );
  });

  it('settles a callback’s reservation from its handed-in and handover-refused events', () => {
    const { router, clock } = setup();
    apply(router, topics.siteSnapshots, snapshotBytes('beijing', 1, 3));
    router.decide(request('cb-1'));
    router.decide(request('cb-2'));
    expect(router.reservedAt('beijing')).toBe(2);
    const refused = CallEvent.fromPartial({
      meta: meta('shanghai'),
      callId: 'cb-1',
      kind: {
        $case: 'callbackHandoverRefused',
        value: { targetSiteId: 'beijing', reason: 'no capacity' },
      },
    });
    expect(apply(router, topics.callEvents, Buffer.from(CallEvent.encode(refused).finish()))).toBe(
      'release',
    );
    expect(router.reservedAt('beijing')).toBe(1);
    clock.advance(100);
    const handedIn = CallEvent.fromPartial({
      meta: meta('beijing', T0 + 50),
      callId: 'cb-2',
      kind: { $case: 'callbackHandedIn', value: { originSiteId: 'shanghai' } },
    });
    expect(apply(router, topics.callEvents, Buffer.from(CallEvent.encode(handedIn).finish()))).toBe(
      'arrival',
    );
    apply(router, topics.siteSnapshots, snapshotBytes('beijing', 2, 3, T0 + 100));
    expect(router.reservedAt('beijing')).toBe(0);
  });

  it('reports undecodable input instead of throwing', () => {
    const { router } = setup();
    expect(apply(router, topics.siteSnapshots, null)).toEqual({
      undecodable: 'empty message value',
    });
    expect(apply(router, topics.siteSnapshots, Buffer.from([0xff, 0xff, 0xff]))).toEqual({
      undecodable: expect.stringContaining('not a protobuf SiteSnapshot'),
    });
    const noSite = Buffer.from(
      SiteSnapshot.encode(SiteSnapshot.fromPartial({ sequence: 1 })).finish(),
    );
    expect(apply(router, topics.siteSnapshots, noSite)).toEqual({
      undecodable: 'snapshot names no site (meta.site_id is empty)',
    });
    expect(apply(router, topics.callEvents, Buffer.from([0x0a, 0xff]))).toEqual({
      undecodable: expect.stringContaining('not a protobuf CallEvent'),
    });
  });
});

/** The route-decisions event router `routerId` publishes for `decision` of `request(callId)`. */
function decisionBytes(routerId: string, callId: string, decision: Decision): Buffer {
  const response = routing.RequestRouteResponse.fromPartial({
    decisionId: `d-${callId}`,
    verdict:
      decision.verdict === 'overflow'
        ? routing.Verdict.VERDICT_OVERFLOW
        : routing.Verdict.VERDICT_STAY,
    targetSiteId: decision.verdict === 'overflow' ? decision.targetSiteId : '',
    reservationExpiresAt:
      decision.verdict === 'overflow' ? new Date(decision.reservationExpiresMs) : undefined,
    reason: decision.reason,
  });
  return Buffer.from(
    routing.RouteDecision.encode({
      meta: meta('shanghai'),
      request: routing.RequestRouteRequest.fromPartial(request(callId)),
      response,
      routerId,
    }).finish(),
  );
}

/** Two routers of a pair on one clock, each fed the other's decisions. */
function pair() {
  const a = setup();
  const b = { router: new Router({ clock: a.clock, policy: a.router.currentPolicy }) };
  return { clock: a.clock, a: a.router, b: b.router };
}

/** Beijing's expected wait in the decision's alternatives. */
const beijingWait = (d: Decision) =>
  d.alternatives.find((x) => x.siteId === 'beijing')!.expectedWaitMs;

describe('a router pair sharing reservations through route-decisions', () => {
  it("counts the peer's overflow reservations as its own: the pair decides as one router would", () => {
    // One router alone: after sending one call to beijing's single idle agent, beijing waits.
    const single = setup().router;
    apply(single, topics.siteSnapshots, snapshotBytes('beijing', 1, 1));
    expect(single.decide(request('c-1'))).toMatchObject({ targetSiteId: 'beijing' });
    const alone = single.decide(request('c-2'));
    expect(beijingWait(alone)).toBeGreaterThan(0);

    // The pair: A sends c-1, B hears of it and weighs beijing exactly as the single router did.
    const { a, b } = pair();
    for (const r of [a, b]) apply(r, topics.siteSnapshots, snapshotBytes('beijing', 1, 1));
    const first = a.decide(request('c-1'));
    expect(first).toMatchObject({ verdict: 'overflow', targetSiteId: 'beijing' });
    expect(apply(b, topics.routeDecisions, decisionBytes(ROUTER_A, 'c-1', first), 'router-b')).toBe(
      'peer-reservation',
    );
    expect(b.heldByPeer()).toBe(1);
    expect(b.reservedAt('beijing')).toBe(1);
    expect(beijingWait(b.decide(request('c-2')))).toBe(beijingWait(alone));
    // And A reads its own decision back as nothing new.
    expect(apply(a, topics.routeDecisions, decisionBytes(ROUTER_A, 'c-1', first))).toBe('ignored');
    expect(a.reservedAt('beijing')).toBe(1);
    expect(a.heldByPeer()).toBe(0);
  });

  it("counts the peer's reservations against the origin's cap", () => {
    const { a, b } = pair();
    for (const r of [a, b]) apply(r, topics.siteSnapshots, snapshotBytes('beijing', 1, 3));
    const cap = a.currentPolicy.maxReservationsPerOrigin;
    for (let i = 0; i < cap; i++) {
      const d = a.decide({ ...request(`c-${i}`), originExpectedWaitMs: 3_600_000 });
      expect(d.verdict).toBe('overflow');
      apply(b, topics.routeDecisions, decisionBytes(ROUTER_A, `c-${i}`, d), 'router-b');
    }
    expect(b.decide({ ...request('c-next'), originExpectedWaitMs: 3_600_000 })).toMatchObject({
      verdict: 'stay',
      capped: true,
    });
  });

  it("settles the peer's reservations by the call's events, even those that came first", () => {
    const { a, b, clock } = pair();
    for (const r of [a, b]) apply(r, topics.siteSnapshots, snapshotBytes('beijing', 1, 3));
    const d1 = a.decide(request('c-1'));
    const d2 = a.decide(request('c-2'));
    const d3 = a.decide(request('c-3'));
    const event = (
      callId: string,
      kind: Parameters<typeof CallEvent.fromPartial>[0]['kind'],
      siteId: string,
      at = T0,
    ) =>
      Buffer.from(
        CallEvent.encode(CallEvent.fromPartial({ meta: meta(siteId, at), callId, kind })).finish(),
      );
    // c-1 is refused after B heard of it: released.
    apply(b, topics.routeDecisions, decisionBytes(ROUTER_A, 'c-1', d1), 'router-b');
    apply(
      b,
      topics.callEvents,
      event(
        'c-1',
        { $case: 'overflowRejected', value: { targetSiteId: 'beijing', sipCode: 486 } },
        'shanghai',
      ),
      'router-b',
    );
    expect(b.reservedAt('beijing')).toBe(0);
    // c-2 was refused before A's decision reached B: never held.
    apply(
      b,
      topics.callEvents,
      event(
        'c-2',
        { $case: 'overflowRejected', value: { targetSiteId: 'beijing', sipCode: 486 } },
        'shanghai',
      ),
      'router-b',
    );
    expect(apply(b, topics.routeDecisions, decisionBytes(ROUTER_A, 'c-2', d2), 'router-b')).toBe(
      'ignored',
    );
    // c-3 arrived at beijing, and beijing's snapshot counted it, before the decision: held only
    // until a snapshot after its arrival, which B already has.
    clock.advance(100);
    apply(
      b,
      topics.callEvents,
      event(
        'c-3',
        { $case: 'overflowedIn', value: { originSiteId: 'shanghai' } },
        'beijing',
        T0 + 50,
      ),
      'router-b',
    );
    apply(b, topics.siteSnapshots, snapshotBytes('beijing', 2, 2, T0 + 100), 'router-b');
    apply(b, topics.routeDecisions, decisionBytes(ROUTER_A, 'c-3', d3), 'router-b');
    expect(b.reservedAt('beijing')).toBe(0);
  });

  it('holds a peer reservation no longer than its own timeout, and ignores expired ones and stays', () => {
    const { a, b, clock } = pair();
    for (const r of [a, b]) apply(r, topics.siteSnapshots, snapshotBytes('beijing', 1, 3));
    const timeout = a.currentPolicy.reservationTimeoutMs;
    const d = a.decide(request('c-1'));
    if (d.verdict !== 'overflow') throw new Error('expected an overflow');
    // A peer clock an hour ahead.
    const ahead: Decision = { ...d, reservationExpiresMs: d.reservationExpiresMs + 3_600_000 };
    apply(b, topics.routeDecisions, decisionBytes(ROUTER_A, 'c-1', ahead), 'router-b');
    clock.advance(timeout - 1);
    expect(b.heldByPeer()).toBe(1);
    clock.advance(1);
    expect(b.heldByPeer()).toBe(0);
    // Read late (a router catching up): already expired, not held.
    expect(apply(b, topics.routeDecisions, decisionBytes(ROUTER_A, 'c-1', d), 'router-b')).toBe(
      'ignored',
    );
    const stay = a.decide({ ...request('c-2'), originExpectedWaitMs: 0 });
    expect(stay.verdict).toBe('stay');
    expect(apply(b, topics.routeDecisions, decisionBytes(ROUTER_A, 'c-2', stay), 'router-b')).toBe(
      'ignored',
    );
  });

  it('reports an undecodable or incomplete decision instead of throwing', () => {
    const { b } = pair();
    expect(apply(b, topics.routeDecisions, Buffer.from([0x0a, 0xff]), 'router-b')).toEqual({
      undecodable: expect.stringContaining('not a protobuf RouteDecision'),
    });
    const noTarget = routing.RouteDecision.encode({
      meta: undefined,
      request: routing.RequestRouteRequest.fromPartial(request('c-1')),
      response: routing.RequestRouteResponse.fromPartial({
        verdict: routing.Verdict.VERDICT_OVERFLOW,
      }),
      routerId: ROUTER_A,
    }).finish();
    expect(apply(b, topics.routeDecisions, Buffer.from(noTarget), 'router-b')).toEqual({
      undecodable: 'overflow decision without call, origin, target or reservation expiry',
    });
  });
});

describe('perProcessGroupId', () => {
  it('names the host and the process', () => {
    expect(perProcessGroupId()).toMatch(
      new RegExp(`^ccfed-router-[A-Za-z0-9._-]+-${process.pid}$`),
    );
  });
});
