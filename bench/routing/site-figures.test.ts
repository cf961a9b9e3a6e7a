import { ManualClock } from '@ccfed/common';
import { Router } from '@ccfed/router/routing/router';
import { Acd } from '@ccfed/site-agent/acd/acd';
import { describe, expect, it } from 'vitest';
import { siteFigures } from './site-figures.js';
import { CCFED_MODEL, simPolicy, SKILL, TENANT } from './simulate.js';

const federation = CCFED_MODEL;

function site(clock: ManualClock, agents: number): Acd {
  const acd = new Acd({
    clock,
    skills: [{ id: SKILL, serviceLevelThresholdMs: 20_000, wrapUpMs: 0, averageHandleMs: 180_000 }],
    agents: Array.from({ length: agents }, (_, i) => ({
      id: `a${i}`,
      tenantId: TENANT,
      skills: { [SKILL]: 5 },
    })),
  });
  for (let i = 0; i < agents; i++) {
    acd.login(`a${i}`);
    acd.ready(`a${i}`);
  }
  return acd;
}

describe('siteFigures', () => {
  it("carries the ACD's per-tenant queue and seats, and the router decides on them", () => {
    const clock = new ManualClock(1_000);
    const busy = site(clock, 1);
    const idle = site(clock, 2);
    const call = (n: number) => ({
      callId: `c${n}`,
      tenantId: TENANT,
      skill: SKILL,
      tier: 1,
      arrivalMs: clock.now(),
    });
    for (let n = 0; n < 3; n++) busy.offer(call(n));
    const figures = siteFigures('busy', 1, clock.now(), busy.skillStatus());
    expect(figures.skills.get(SKILL)!.tenants.get(TENANT)).toEqual({
      queued: 2,
      staffed: 1,
      idle: 0,
    });
    expect(figures.skills.get(SKILL)!.averageHandleMs).toBe(180_000);

    const router = new Router({ clock, policy: simPolicy(['busy', 'idle'], federation) });
    router.observeSnapshot(figures);
    router.observeSnapshot(siteFigures('idle', 1, clock.now(), idle.skillStatus()));
    const decision = router.decide({
      callId: 'c2',
      originSiteId: 'busy',
      tenantId: TENANT,
      skill: SKILL,
      tier: 1,
      waitedMs: 0,
      originExpectedWaitMs: busy.expectedWaitOf('c2')!,
      hopCount: 0,
    });
    expect(decision.verdict).toBe('overflow');
    expect(decision.verdict === 'overflow' && decision.targetSiteId).toBe('idle');
  });
});
