// The router's nationwide picture, fed from Kafka: site snapshots become site figures, and the
// overflowed-in / overflow-rejected call events settle the reservations the router made.
//
// The picture is rebuilt from the live stream, never from history. Every site agent publishes a
// snapshot at least every second, so within about a second of joining the router holds every
// live site's current figures; replaying hours of old snapshots and call events would only push
// stale arrivals and releases through the reservation logic. So each router process consumes in
// its own consumer group (nothing to share: every replica needs every message) starting at the
// end of each partition, and never commits offsets. Until a site's first snapshot arrives the
// router treats it as "no snapshot received": not a target, which is the safe answer.
//
// Two routers serve at once, and each follows the route-decisions topic too: an overflow decided
// by the other router (another router_id) becomes a reservation here as well, so the pair counts
// every call on its way to a target and does not send an idle site twice what it can take. The
// window in which both routers can reserve the same capacity is the publisher's linger plus one
// Kafka round trip (tens of milliseconds); reservations never wait for it.

import { followerConsumer, processGroupId } from '@ccfed/common';
import { CallEvent, routing, SiteSnapshot, type TopicNames } from '@ccfed/proto';
import type { Consumer, Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import { figuresFromSnapshot } from './routing/from-snapshot.js';
import type { Router } from './routing/router.js';

/** The part of the router the feed drives. */
export type RouterState = Pick<
  Router,
  'observeSnapshot' | 'observeArrival' | 'release' | 'holdPeerReservation'
>;

export interface StateFeedDeps {
  readonly kafka: Kafka;
  readonly topics: TopicNames;
  readonly router: RouterState;
  /** This router's id (CCFED_ROUTER_ID): decisions carrying it are its own. */
  readonly routerId: string;
  readonly log: Logger;
  /** Default: one group per process, see perProcessGroupId(). */
  readonly groupId?: string;
}

/** A consumer group only this process uses: every router replica reads every message. */
export function perProcessGroupId(): string {
  return processGroupId('ccfed-router');
}

/** What one message did to the router's state. */
export type FeedOutcome =
  | 'snapshot'
  | 'old-snapshot'
  | 'arrival'
  | 'release'
  | 'peer-reservation'
  | 'ignored'
  | { readonly undecodable: string };

/**
 * Applies one message of the snapshots, call-events or route-decisions topic to the router (a
 * router `routerId` reads its own decisions as 'ignored'); never throws for bad input (the
 * ingester owns the dead-letter topic: here a bad message is logged and skipped).
 */
export function applyFeedMessage(
  router: RouterState,
  topics: TopicNames,
  topic: string,
  value: Buffer | null,
  routerId: string,
): FeedOutcome {
  if (!value || value.length === 0) return { undecodable: 'empty message value' };
  if (topic === topics.siteSnapshots) {
    let snapshot: SiteSnapshot;
    try {
      snapshot = SiteSnapshot.decode(value);
    } catch (err) {
      return { undecodable: `not a protobuf SiteSnapshot: ${(err as Error).message}` };
    }
    const figures = figuresFromSnapshot(snapshot);
    if (!figures) return { undecodable: 'snapshot names no site (meta.site_id is empty)' };
    return router.observeSnapshot(figures) ? 'snapshot' : 'old-snapshot';
  }
  if (topic === topics.callEvents) {
    let event: CallEvent;
    try {
      event = CallEvent.decode(value);
    } catch (err) {
      return { undecodable: `not a protobuf CallEvent: ${(err as Error).message}` };
    }
    const kind = event.kind;
    if (kind?.$case === 'overflowedIn') {
      const siteId = event.meta?.siteId;
      const at = event.meta?.eventTime?.getTime();
      if (!siteId || !event.callId || at === undefined || Number.isNaN(at))
        return { undecodable: 'overflowed-in event without site, call id or event time' };
      router.observeArrival(siteId, event.callId, at);
      return 'arrival';
    }
    // A callback handed over (docs/callbacks.md) arrives at its target without SIP: the target's
    // handed-in event is its arrival, the origin's refused event frees the reservation.
    if (kind?.$case === 'callbackHandedIn') {
      const siteId = event.meta?.siteId;
      const at = event.meta?.eventTime?.getTime();
      if (!siteId || !event.callId || at === undefined || Number.isNaN(at))
        return { undecodable: 'callback-handed-in event without site, call id or event time' };
      router.observeArrival(siteId, event.callId, at);
      return 'arrival';
    }
    if (kind?.$case === 'callbackHandoverRefused') {
      if (!kind.value.targetSiteId || !event.callId)
        return { undecodable: 'callback-handover-refused event without target site or call id' };
      router.release(kind.value.targetSiteId, event.callId);
      return 'release';
    }
    if (kind?.$case === 'overflowRejected') {
      if (!kind.value.targetSiteId || !event.callId)
        return { undecodable: 'overflow-rejected event without target site or call id' };
      router.release(kind.value.targetSiteId, event.callId);
      return 'release';
    }
    return 'ignored';
  }
  if (topic === topics.routeDecisions) return applyPeerDecision(router, value, routerId);
  return 'ignored';
}

function applyPeerDecision(router: RouterState, value: Buffer, routerId: string): FeedOutcome {
  let decision: routing.RouteDecision;
  try {
    decision = routing.RouteDecision.decode(value);
  } catch (err) {
    return { undecodable: `not a protobuf RouteDecision: ${(err as Error).message}` };
  }
  const { request, response } = decision;
  if (decision.routerId === routerId) return 'ignored';
  if (response?.verdict !== routing.Verdict.VERDICT_OVERFLOW) return 'ignored';
  const expiresMs = response.reservationExpiresAt?.getTime();
  if (
    !request?.callId ||
    !request.originSiteId ||
    !response.targetSiteId ||
    expiresMs === undefined ||
    Number.isNaN(expiresMs)
  )
    return { undecodable: 'overflow decision without call, origin, target or reservation expiry' };
  const held = router.holdPeerReservation({
    targetSiteId: response.targetSiteId,
    callId: request.callId,
    originSiteId: request.originSiteId,
    skill: request.skill,
    tenantId: request.tenantId,
    expiresMs,
  });
  return held ? 'peer-reservation' : 'ignored';
}

/** Consumes site snapshots and call events into the router until stopped. */
export class StateFeed {
  private consumer: Consumer | undefined;

  constructor(private readonly deps: StateFeedDeps) {}

  async start(): Promise<void> {
    const { kafka, topics, router, routerId, log } = this.deps;
    const groupId = this.deps.groupId ?? perProcessGroupId();
    const consumer = followerConsumer(kafka, groupId);
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({
      topics: [topics.siteSnapshots, topics.callEvents, topics.routeDecisions],
      fromBeginning: false,
    });
    await consumer.run({
      // Offsets of a per-process group are never read again: nothing to commit.
      autoCommit: false,
      partitionsConsumedConcurrently: 1,
      eachMessage: async ({ topic, partition, message }) => {
        const outcome = applyFeedMessage(router, topics, topic, message.value, routerId);
        if (typeof outcome === 'object')
          log.warn(
            {
              event: 'feed_message_skipped',
              topic,
              partition,
              offset: message.offset,
              reason: outcome.undecodable,
            },
            'skipped a message the router cannot use',
          );
      },
    });
    log.info(
      {
        event: 'state_feed_started',
        groupId,
        routerId,
        topics: [topics.siteSnapshots, topics.callEvents, topics.routeDecisions],
      },
      "following site snapshots, call events and the peer router's decisions",
    );
  }

  /** Stops consuming and leaves the group. Idempotent. */
  async stop(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = undefined;
    await consumer?.disconnect();
  }
}
