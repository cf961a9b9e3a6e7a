import { readFileSync } from 'node:fs';
import { ManualClock } from '@ccfed/common';
import { CallEvent, SiteSnapshot, topicNames, type EventMeta } from '@ccfed/proto';
import { parseTopology } from '@ccfed/topology';
import { describe, expect, it } from 'vitest';
import { routingPolicy } from './routing/policy.js';
import { Router } from './routing/router.js';
import { applyFeedMessage, perProcessGroupId } from './state-feed.js';

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
    expect(
      applyFeedMessage(router, topics, topics.siteSnapshots, snapshotBytes('beijing', 2, 3)),
    ).toBe('snapshot');
    expect(
      applyFeedMessage(
        router,
        topics,
        topics.siteSnapshots,
        snapshotBytes('beijing', 1, 3, T0 - 1),
      ),
    ).toBe('old-snapshot');
    expect(router.decide(request('c-1'))).toMatchObject({
      verdict: 'overflow',
      targetSiteId: 'beijing',
    });
  });

  it('settles reservations from overflowed-in and overflow-rejected events', () => {
    const { router, clock } = setup();
    applyFeedMessage(router, topics, topics.siteSnapshots, snapshotBytes('beijing', 1, 3));
    router.decide(request('c-1'));
    router.decide(request('c-2'));
    expect(router.reservedAt('beijing')).toBe(2);

    const rejected = CallEvent.fromPartial({
      meta: meta('shanghai'),
      callId: 'c-1',
      kind: { $case: 'overflowRejected', value: { targetSiteId: 'beijing', sipCode: 486 } },
    });
    expect(
      applyFeedMessage(
        router,
        topics,
        topics.callEvents,
        Buffer.from(CallEvent.encode(rejected).finish()),
      ),
    ).toBe('release');
    expect(router.reservedAt('beijing')).toBe(1);

    clock.advance(100);
    const arrived = CallEvent.fromPartial({
      meta: meta('beijing', T0 + 50),
      callId: 'c-2',
      kind: { $case: 'overflowedIn', value: { originSiteId: 'shanghai' } },
    });
    expect(
      applyFeedMessage(
        router,
        topics,
        topics.callEvents,
        Buffer.from(CallEvent.encode(arrived).finish()),
      ),
    ).toBe('arrival');
    // The next snapshot of beijing, stamped after the arrival, carries the call itself.
    applyFeedMessage(
      router,
      topics,
      topics.siteSnapshots,
      snapshotBytes('beijing', 2, 3, T0 + 100),
    );
    expect(router.reservedAt('beijing')).toBe(0);

    const answered = CallEvent.fromPartial({
      meta: meta('beijing'),
      callId: 'c-2',
      kind: { $case: 'answered', value: {} },
    });
    expect(
      applyFeedMessage(
        router,
        topics,
        topics.callEvents,
        Buffer.from(CallEvent.encode(answered).finish()),
      ),
    ).toBe('ignored');
  });

  it('reports undecodable input instead of throwing', () => {
    const { router } = setup();
    expect(applyFeedMessage(router, topics, topics.siteSnapshots, null)).toEqual({
      undecodable: 'empty message value',
    });
    expect(
      applyFeedMessage(router, topics, topics.siteSnapshots, Buffer.from([0xff, 0xff, 0xff])),
    ).toEqual({ undecodable: expect.stringContaining('not a protobuf SiteSnapshot') });
    const noSite = Buffer.from(
      SiteSnapshot.encode(SiteSnapshot.fromPartial({ sequence: 1 })).finish(),
    );
    expect(applyFeedMessage(router, topics, topics.siteSnapshots, noSite)).toEqual({
      undecodable: 'snapshot names no site (meta.site_id is empty)',
    });
    expect(applyFeedMessage(router, topics, topics.callEvents, Buffer.from([0x0a, 0xff]))).toEqual({
      undecodable: expect.stringContaining('not a protobuf CallEvent'),
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
