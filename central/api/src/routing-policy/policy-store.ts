// The routing policy as the API knows it: it follows the compacted routing-policy topic (the
// topology file's policy, version 0, while the topic is empty) and publishes HQ's edits to it.
// An edit is answered only once the broker has acknowledged it, so a 200 means the router and the
// site agents will read it. Edits are applied one at a time in this process; the version check
// (409 on a stale version) keeps two HQ users from overwriting each other's change unseen.
import { followCompactedTopic } from '@ccfed/common';
import {
  encodePolicyDocument,
  PolicyHolder,
  type PolicyDocument,
  type Topology,
} from '@ccfed/topology';
import type { Kafka, Producer } from 'kafkajs';
import type { Logger } from 'pino';

/** What the routing-policy routes need: the held policy, and a way to publish the next one. */
export interface PolicySource {
  readonly current: PolicyDocument;
  /** Runs `edit` with no other edit of this process in between. */
  exclusive<T>(edit: () => Promise<T>): Promise<T>;
  /** Publishes `doc` and resolves once the broker has it; `current` is `doc` from then on. */
  publish(doc: PolicyDocument): Promise<void>;
}

/** Every version has this key, so compaction keeps only the latest. */
const POLICY_KEY = 'routing-policy';

export interface PolicyStoreDeps {
  readonly kafka: Kafka;
  readonly topic: string;
  readonly topology: Topology;
  /** A group only this process uses: every API replica reads every version. */
  readonly groupId: string;
  readonly log: Logger;
}

export class RoutingPolicyStore implements PolicySource {
  private readonly holder: PolicyHolder;
  private producer: Producer | undefined;
  private feed: { stop(): Promise<void> } | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: PolicyStoreDeps) {
    this.holder = new PolicyHolder(deps.topology);
  }

  get current(): PolicyDocument {
    return this.holder.current;
  }

  /**
   * Connects the producer and reads the topic to its end. The topic must exist: the admin creates
   * it (compacted, one partition) with the others.
   */
  async start(): Promise<void> {
    const { kafka, topic, groupId, log } = this.deps;
    this.producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: true });
    await this.producer.connect();
    const feed = await followCompactedTopic({
      kafka,
      topic,
      groupId,
      log,
      onMessage: (value, offset) => {
        const offer = this.holder.offer(value);
        if (offer.outcome === 'rejected')
          log.warn(
            { event: 'routing_policy_rejected', offset, reason: offer.reason },
            'ignored a routing policy the API cannot use; the held policy stays',
          );
      },
    });
    this.feed = feed;
    await feed.caughtUp;
    log.info(
      { event: 'routing_policy_in_force', version: this.current.version },
      'routing policy read',
    );
  }

  exclusive<T>(edit: () => Promise<T>): Promise<T> {
    const run = this.queue.then(edit);
    this.queue = run.catch(() => undefined);
    return run;
  }

  async publish(doc: PolicyDocument): Promise<void> {
    if (!this.producer) throw new Error('routing policy store not started');
    await this.producer.send({
      topic: this.deps.topic,
      acks: -1,
      messages: [{ key: POLICY_KEY, value: encodePolicyDocument(doc) }],
    });
    this.holder.take(doc);
    this.deps.log.info(
      { event: 'routing_policy_published', version: doc.version, changedBy: doc.changedBy },
      'routing policy published',
    );
  }

  async stop(): Promise<void> {
    await this.feed?.stop();
    await this.producer?.disconnect();
  }
}
