import { readFileSync } from 'node:fs';
import { ManualClock } from '@ccfed/common';
import { parseTopology } from '@ccfed/topology';
import { describe, expect, it } from 'vitest';
import { routingPolicy } from './policy.js';
import { Router, type RouteRequest, type SiteFigures } from './router.js';

const EXAMPLE = new URL('../../../../topology/example.yaml', import.meta.url).pathname;
const T0 = Date.parse('2026-11-22T03:00:00Z');
const AHT = 180_000;

// Example topology: support threshold 30 s, min improvement 10 s; beijing handicap 5 s;
// zenith-telecom may not be served at guangzhou; stale after routing.staleAfterSeconds.
function setup() {
  const topology = parseTopology(readFileSync(EXAMPLE, 'utf8'), EXAMPLE);
  const clock = new ManualClock(T0);
  const policy = routingPolicy(topology);
  const router = new Router({ clock, policy });
  let sequence = 0;
  const snapshot = (
    siteId: string,
    support: { queued: number; staffed: number; idle: number },
    opts: { tenant?: string; accepting?: boolean; at?: number } = {},
  ): SiteFigures => ({
    siteId,
    snapshotMs: opts.at ?? clock.now(),
    sequence: ++sequence,
    acceptingOverflow: opts.accepting ?? true,
    skills: new Map([
      [
        'support',
        { averageHandleMs: AHT, tenants: new Map([[opts.tenant ?? 'acme-bank', support]]) },
      ],
    ]),
  });
  const request = (over: Partial<RouteRequest> = {}): RouteRequest => ({
    callId: `c-${Math.random().toString(36).slice(2)}`,
    originSiteId: 'shanghai',
    tenantId: 'acme-bank',
    skill: 'support',
    tier: 1,
    waitedMs: 10_000,
    originExpectedWaitMs: 120_000,
    hopCount: 0,
    ...over,
  });
  return { router, clock, policy, snapshot, request };
}

describe('Router.decide', () => {
  it('overflows to the site with the shortest expected wait, naming it and the alternatives', () => {
    const { router, snapshot, request } = setup();
    router.observeSnapshot(snapshot('beijing', { queued: 0, staffed: 3, idle: 2 }));
    router.observeSnapshot(snapshot('guangzhou', { queued: 4, staffed: 2, idle: 0 }));
    const d = router.decide(request());
    expect(d.verdict).toBe('overflow');
    expect(d.verdict === 'overflow' && d.targetSiteId).toBe('beijing');
    expect(d.verdict === 'overflow' && d.targetSipUri).toMatch(/^sip:127\.0\.0\.1:5070/);
    expect(d.alternatives).toEqual([
      expect.objectContaining({
        siteId: 'beijing',
        eligible: true,
        expectedWaitMs: 0,
        handicapMs: 5000,
      }),
      // (4 + 1 - 0) × 180 s / 2
      expect.objectContaining({ siteId: 'guangzhou', eligible: true, expectedWaitMs: 450_000 }),
    ]);
  });

  it('keeps a call whose expected total wait (waited + still to wait) is under its skill threshold', () => {
    const { router, snapshot, request } = setup();
    router.observeSnapshot(snapshot('beijing', { queued: 0, staffed: 3, idle: 3 }));
    const d = router.decide(request({ waitedMs: 10_000, originExpectedWaitMs: 19_999 }));
    expect(d).toMatchObject({
      verdict: 'stay',
      reason: expect.stringMatching(/expected total wait 30.0 s .*under the 30.0 s threshold/),
    });
    // The same forecast for a call that has waited longer passes the threshold.
    const d2 = router.decide(request({ waitedMs: 16_000, originExpectedWaitMs: 19_999 }));
    expect(d2.verdict).toBe('overflow');
  });

  it('moves a call that has waited its skill askAfter (15 s) though its forecast total is short', () => {
    const { router, snapshot, request } = setup();
    router.observeSnapshot(snapshot('shanghai', { queued: 0, staffed: 3, idle: 2 }));
    // Waited 15 s + 12 s to go = 27 s, under the 30 s threshold; Shanghai answers 12 s sooner.
    const early = request({
      originSiteId: 'guangzhou',
      waitedMs: 14_999,
      originExpectedWaitMs: 12_000,
    });
    expect(router.decide(early)).toMatchObject({ verdict: 'stay', reason: /under the 30.0 s/ });
    const d = router.decide({ ...early, waitedMs: 15_000 });
    expect(d.verdict === 'overflow' && d.targetSiteId).toBe('shanghai');
  });

  it('sends a call to the site with the most free agents when several would answer at once', () => {
    const { router, snapshot, request } = setup();
    router.observeSnapshot(snapshot('beijing', { queued: 0, staffed: 3, idle: 1 }));
    router.observeSnapshot(snapshot('guangzhou', { queued: 0, staffed: 3, idle: 3 }));
    const targets = [1, 2, 3].map((i) => {
      const d = router.decide(request({ callId: `c-${i}` }));
      return d.verdict === 'overflow' ? d.targetSiteId : 'stay';
    });
    // Guangzhou (3 free) takes calls until it has as few free agents as Beijing (1); then the
    // first listed wins. Without the tie-break the first call would take Beijing's only free agent.
    expect(targets).toEqual(['guangzhou', 'guangzhou', 'beijing']);
  });

  it('keeps a call when no site beats home by the minimum improvement, handicap included', () => {
    const { router, snapshot, request } = setup();
    // Beijing: 0 wait + 5 s handicap = 5 s; home 14 s: 9 s better, under the 10 s minimum.
    router.observeSnapshot(snapshot('beijing', { queued: 0, staffed: 3, idle: 2 }));
    // Waited 20 s + 14 s to go passes the 30 s threshold, but the target is not good enough.
    const d = router.decide(request({ waitedMs: 20_000, originExpectedWaitMs: 14_000 }));
    expect(d).toMatchObject({
      verdict: 'stay',
      reason: expect.stringMatching(/not 10.0 s better/),
    });
    const d2 = router.decide(request({ waitedMs: 20_000, originExpectedWaitMs: 31_000 }));
    expect(d2.verdict).toBe('overflow');
  });

  it('never sends a call to a site not heard from within staleAfter', () => {
    const { router, snapshot, request, clock, policy } = setup();
    router.observeSnapshot(snapshot('beijing', { queued: 0, staffed: 3, idle: 3 }));
    clock.advance(policy.staleAfterMs + 1);
    const d = router.decide(request());
    expect(d.verdict).toBe('stay');
    expect(d.alternatives.find((a) => a.siteId === 'beijing')).toMatchObject({
      eligible: false,
      excludedReason: expect.stringMatching(/^not heard from for/),
    });
  });

  it("respects the tenant's excluded sites, a site not accepting overflow, and seats of the call's tenant only", () => {
    const { router, snapshot, request } = setup();
    router.observeSnapshot(
      snapshot('guangzhou', { queued: 0, staffed: 5, idle: 5 }, { tenant: 'zenith-telecom' }),
    );
    router.observeSnapshot(
      snapshot('beijing', { queued: 0, staffed: 5, idle: 5 }, { accepting: false }),
    );
    const zenith = router.decide(request({ tenantId: 'zenith-telecom' }));
    expect(zenith.verdict).toBe('stay');
    expect(zenith.alternatives.map((a) => a.excludedReason)).toEqual([
      'not accepting overflow',
      'tenant zenith-telecom may not be served at guangzhou',
    ]);
    // Guangzhou's idle seats are zenith's: an acme-bank call cannot use them.
    const acme = router.decide(request());
    expect(acme.alternatives.find((a) => a.siteId === 'guangzhou')?.excludedReason).toBe(
      'no acme-bank agent staffed for support',
    );
  });

  it('refuses a second overflow of the same call', () => {
    const { router, snapshot, request } = setup();
    router.observeSnapshot(snapshot('beijing', { queued: 0, staffed: 3, idle: 3 }));
    expect(router.decide(request({ hopCount: 1 }))).toMatchObject({
      verdict: 'stay',
      reason: 'the call was already overflowed once',
    });
  });

  it('does not herd: concurrent decisions see the capacity earlier ones reserved', () => {
    const { router, snapshot, request } = setup();
    // Beijing has 2 idle agents, Guangzhou 1: the first two calls fill Beijing, the third goes
    // to Guangzhou, and later ones only where they still gain.
    router.observeSnapshot(snapshot('beijing', { queued: 0, staffed: 2, idle: 2 }));
    router.observeSnapshot(snapshot('guangzhou', { queued: 0, staffed: 1, idle: 1 }));
    const targets = Array.from({ length: 4 }, () => {
      const d = router.decide(request({ originExpectedWaitMs: 200_000 }));
      return d.verdict === 'overflow' ? d.targetSiteId : 'stay';
    });
    expect(targets.slice(0, 3).sort()).toEqual(['beijing', 'beijing', 'guangzhou']);
    expect(router.reservedAt('beijing')).toBe(targets.filter((t) => t === 'beijing').length);
  });

  it('releases a reservation when the target’s snapshot shows the call, on refusal, or on timeout', () => {
    const { router, snapshot, request, clock, policy } = setup();
    router.observeSnapshot(snapshot('beijing', { queued: 0, staffed: 2, idle: 2 }));
    const d1 = router.decide(request({ callId: 'a' }));
    const d2 = router.decide(request({ callId: 'b' }));
    const d3 = router.decide(request({ callId: 'c' }));
    expect([d1, d2, d3].map((d) => d.verdict)).toEqual(['overflow', 'overflow', 'overflow']);
    expect(router.reservedAt('beijing')).toBe(3);
    clock.advance(200);
    router.observeArrival('beijing', 'a', clock.now());
    router.release('beijing', 'b');
    expect(router.reservedAt('beijing')).toBe(2); // b refused; a arrived, not yet in figures
    clock.advance(300);
    router.observeSnapshot(snapshot('beijing', { queued: 0, staffed: 2, idle: 1 }));
    expect(router.reservedAt('beijing')).toBe(1); // a is in the figures now
    clock.advance(policy.reservationTimeoutMs);
    expect(router.reservedAt('beijing')).toBe(0); // c never showed up
  });

  it("caps each origin's reservations: a flood from one site stays, other origins still overflow", () => {
    const { router, snapshot, request, clock, policy } = setup();
    expect(policy.maxReservationsPerOrigin).toBe(10); // the example topology's
    // Plenty of room at Beijing: it is the cap, not the capacity, that stops the flood.
    router.observeSnapshot(snapshot('beijing', { queued: 0, staffed: 40, idle: 40 }));
    const flood = Array.from({ length: 25 }, (_, i) =>
      router.decide(request({ callId: `fake-${i}`, originExpectedWaitMs: 600_000 })),
    );
    expect(flood.filter((d) => d.verdict === 'overflow')).toHaveLength(10);
    const capped = flood.slice(10);
    expect(capped.every((d) => d.verdict === 'stay' && d.capped === true)).toBe(true);
    expect(capped[0]).toMatchObject({
      reason: 'shanghai already holds 10 reservations, its cap of 10 (best site would be beijing)',
      // The answer still says what every site looked like.
      alternatives: expect.arrayContaining([
        expect.objectContaining({ siteId: 'beijing', eligible: true }),
      ]),
    });
    expect(router.reservedFor('shanghai')).toBe(10);
    expect(router.reservedAt('beijing')).toBe(10);

    // Guangzhou's own calls are not held back by Shanghai's flood.
    router.observeSnapshot(snapshot('shanghai', { queued: 0, staffed: 10, idle: 10 }));
    const other = router.decide(request({ originSiteId: 'guangzhou' }));
    expect(other).toMatchObject({ verdict: 'overflow' });
    expect(router.reservedFor('guangzhou')).toBe(1);

    // Once Shanghai's reservations are freed (here: they time out), its calls may move again.
    clock.advance(policy.reservationTimeoutMs);
    expect(router.reservedFor('shanghai')).toBe(0);
    router.observeSnapshot(snapshot('beijing', { queued: 0, staffed: 40, idle: 40 }));
    expect(router.decide(request({ originExpectedWaitMs: 600_000 })).verdict).toBe('overflow');
  });

  it('ignores a snapshot older than the one it holds, and unknown sites', () => {
    const { router, snapshot, clock } = setup();
    const newer = snapshot('beijing', { queued: 0, staffed: 2, idle: 2 });
    const older = {
      ...snapshot('beijing', { queued: 9, staffed: 2, idle: 0 }),
      sequence: 0,
      snapshotMs: clock.now() - 1000,
    };
    expect(router.observeSnapshot(newer)).toBe(true);
    expect(router.observeSnapshot(older)).toBe(false);
    expect(router.observeSnapshot({ ...newer, siteId: 'lhasa' })).toBe(false);
  });
});
