import { ManualClock, silentLogger } from '@ccfed/common';
import { describe, expect, it } from 'vitest';
import { OverflowOutbound, type RouteAnswer, type RouteQuestion } from './outbound.js';
import { OverflowTrigger } from './trigger.js';

const question = (callId: string, expectedWaitMs = 60_000): RouteQuestion => ({
  callId,
  skill: 'support',
  tenantId: 'acme-bank',
  tier: 1,
  waitedMs: 5_000,
  expectedWaitMs,
  hops: 0,
});

function setup(ask: (q: RouteQuestion) => Promise<RouteAnswer>) {
  const clock = new ManualClock(0);
  const thresholdMs = new Map([['support', 30_000]]);
  const moved: string[] = [];
  const requested: string[] = [];
  let waiting = [question('c1'), question('c2', 10_000)];
  const outbound = new OverflowOutbound({
    clock,
    log: silentLogger(),
    thresholdMs,
    trigger: new OverflowTrigger({ thresholdMs, reRequestIntervalMs: 5_000 }),
    waiting: () => waiting,
    ask,
    requested: (q) => requested.push(q.callId),
    moveOut: (callId) => {
      moved.push(callId);
      waiting = waiting.filter((q) => q.callId !== callId);
      return true;
    },
  });
  return { outbound, moved, requested, clock };
}

describe('OverflowOutbound', () => {
  it('asks about calls over the threshold and moves them when the router says so', async () => {
    const { outbound, moved, requested } = setup(async (q) => ({
      verdict: 'overflow',
      targetSiteId: 'guangzhou',
      decisionId: `d-${q.callId}`,
      reason: 'better there',
    }));
    outbound.scan();
    await outbound.stop();
    expect(requested).toEqual(['c1']);
    expect(moved).toEqual(['c1']);
  });

  it('keeps calls local when the router fails or times out, and asks again after the interval', async () => {
    let calls = 0;
    const { outbound, moved, requested, clock } = setup(async () => {
      calls++;
      throw new Error('DEADLINE_EXCEEDED');
    });
    outbound.scan();
    outbound.scan();
    await outbound.stop();
    expect(moved).toEqual([]);
    expect(calls).toBe(1);
    clock.advance(5_000);
    outbound.scan();
    await outbound.stop();
    expect(requested).toEqual(['c1', 'c1']);
  });
});
