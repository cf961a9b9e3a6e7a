import { ensureTopics } from '@ccfed/common';
import { DEFAULT_TOPIC_PARTITIONS, topicCreations, type TopicNames } from '@ccfed/proto';
import type { Kafka } from 'kafkajs';
import type { Logger } from 'pino';

/**
 * Creates the federation's topics if they are missing, retrying in the background until Kafka
 * answers: a site must take calls even when it starts during a Kafka outage (its events wait in
 * the outbox meanwhile).
 */
export function ensureTopicsUntilDone(
  kafka: Kafka,
  topics: TopicNames,
  log: Logger,
  partitions = DEFAULT_TOPIC_PARTITIONS,
): { readonly done: Promise<void>; stop(): void } {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const done = (async () => {
    for (let waitMs = 500; !stopped; waitMs = Math.min(waitMs * 2, 10_000)) {
      try {
        await ensureTopics(kafka, topicCreations(topics, partitions));
        return;
      } catch (err) {
        log.warn(
          { event: 'topics_not_ready', err: (err as Error).message, retryInMs: waitMs },
          'cannot check the Kafka topics yet; events wait in the outbox',
        );
        await new Promise<void>((r) => (timer = setTimeout(r, waitMs)));
      }
    }
  })();
  return {
    done,
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
