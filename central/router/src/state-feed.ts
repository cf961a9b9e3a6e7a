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

import { followerConsumer, processGroupId } from '@ccfed/common';
import { CallEvent, SiteSnapshot, type TopicNames } from '@ccfed/proto';
import type { Consumer, Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import { figuresFromSnapshot } from './routing/from-snapshot.js';
import type { Router } from './routing/router.js';

/** The part of the router the feed drives. */
export type RouterState = Pick<Router, 'observeSnapshot' | 'observeArrival' | 'release'>;

export interface StateFeedDeps {
  readonly kafka: Kafka;
  readonly topics: TopicNames;
  readonly router: RouterState;
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
  | 'ignored'
  | { readonly undecodable: string };

/**
 * Applies one message of the snapshots or call-events topic to the router; never throws for bad
 * input (the ingester owns the dead-letter topic: here a bad message is logged and skipped).
 */
export function applyFeedMessage(
  router: RouterState,
  topics: TopicNames,
  topic: string,
  value: Buffer | null,
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
    if (kind?.$case === 'overflowRejected') {
      if (!kind.value.targetSiteId || !event.callId)
        return { undecodable: 'overflow-rejected event without target site or call id' };
      router.release(kind.value.targetSiteId, event.callId);
      return 'release';
    }
    return 'ignored';
  }
  return 'ignored';
}

/** Consumes site snapshots and call events into the router until stopped. */
export class StateFeed {
  private consumer: Consumer | undefined;

  constructor(private readonly deps: StateFeedDeps) {}

  async start(): Promise<void> {
    const { kafka, topics, router, log } = this.deps;
    const groupId = this.deps.groupId ?? perProcessGroupId();
    const consumer = followerConsumer(kafka, groupId);
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({
      topics: [topics.siteSnapshots, topics.callEvents],
      fromBeginning: false,
    });
    await consumer.run({
      // Offsets of a per-process group are never read again: nothing to commit.
      autoCommit: false,
      partitionsConsumedConcurrently: 1,
      eachMessage: async ({ topic, partition, message }) => {
        const outcome = applyFeedMessage(router, topics, topic, message.value);
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
      { event: 'state_feed_started', groupId, topics: [topics.siteSnapshots, topics.callEvents] },
      'following site snapshots and call events',
    );
  }

  /** Stops consuming and leaves the group. Idempotent. */
  async stop(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = undefined;
    await consumer?.disconnect();
  }
}
