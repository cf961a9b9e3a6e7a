import { readFileSync } from 'node:fs';
import { ManualClock } from '@ccfed/common';
import {
  encodePolicyDocument,
  parseTopology,
  policyFromTopology,
  PolicyHolder,
  type PolicyDocument,
} from '@ccfed/topology';
import { describe, expect, it } from 'vitest';
import { applyPolicyMessage } from './policy-feed.js';
import { routingPolicy } from './routing/policy.js';
import { Router, type RouteRequest } from './routing/router.js';

const EXAMPLE = new URL('../../../topology/example.yaml', import.meta.url).pathname;
const topology = parseTopology(readFileSync(EXAMPLE, 'utf8'), EXAMPLE);
const T0 = Date.parse('2026-11-22T03:00:00Z');

function setup() {
  const clock = new ManualClock(T0);
  const router = new Router({ clock, policy: routingPolicy(topology) });
  const holder = new PolicyHolder(topology);
  let sequence = 0;
  const idleAt = (siteId: string) =>
    router.observeSnapshot({
      siteId,
      snapshotMs: clock.now(),
      sequence: ++sequence,
      acceptingOverflow: true,
      skills: new Map([
        [
          'support',
          {
            averageHandleMs: 180_000,
            tenants: new Map([['acme-bank', { queued: 0, staffed: 3, idle: 2 }]]),
          },
        ],
      ]),
    });
  let n = 0;
  const request = (): RouteRequest => ({
    callId: `c-${++n}`,
    originSiteId: 'shanghai',
    tenantId: 'acme-bank',
    skill: 'support',
    tier: 1,
    waitedMs: 0,
    originExpectedWaitMs: 120_000,
    hopCount: 0,
  });
  const publish = (version: number, change: (d: PolicyDocument) => void) => {
    const doc = {
      ...structuredClone(policyFromTopology(topology)),
      version,
      changedBy: 'li.wei',
      changedAt: '2026-11-22T03:00:00.000Z',
    };
    change(doc);
    return applyPolicyMessage(holder, router, topology, encodePolicyDocument(doc));
  };
  return { router, idleAt, request, publish };
}

describe('the router following the routing-policy topic', () => {
  it('decides by each new version at once, keeping its site figures and reservations', () => {
    const { router, idleAt, request, publish } = setup();
    idleAt('beijing');
    const first = router.decide(request());
    expect(first).toMatchObject({ verdict: 'overflow', targetSiteId: 'beijing' });

    // HQ raises support's threshold to an hour: the same call now stays.
    expect(publish(1, (d) => (d.skills.support!.thresholdSeconds = 3600)).outcome).toBe('applied');
    expect(router.decide(request())).toMatchObject({
      verdict: 'stay',
      reason: expect.stringMatching(/under the 3600\.0 s threshold/),
    });
    expect(router.reservedAt('beijing')).toBe(1);

    // Version 2 puts the threshold back and handicaps beijing by 10 minutes: guangzhou wins.
    idleAt('guangzhou');
    publish(2, (d) => (d.sites.beijing!.handicapSeconds = 600));
    const d = router.decide(request());
    expect(d).toMatchObject({ verdict: 'overflow', targetSiteId: 'guangzhou' });
    expect(d.alternatives.find((a) => a.siteId === 'beijing')?.handicapMs).toBe(600_000);
  });

  it('keeps the held policy over an invalid or older document', () => {
    const { router, idleAt, request, publish } = setup();
    idleAt('beijing');
    publish(3, (d) => (d.skills.support!.thresholdSeconds = 3600));
    expect(publish(4, (d) => (d.skills.support!.thresholdSeconds = -1))).toMatchObject({
      outcome: 'rejected',
      reason: 'skills.support.thresholdSeconds: must be between 1 and 3600',
    });
    expect(publish(2, (d) => (d.skills.support!.thresholdSeconds = 30)).outcome).toBe('older');
    expect(router.decide(request())).toMatchObject({ verdict: 'stay' });
  });
});
