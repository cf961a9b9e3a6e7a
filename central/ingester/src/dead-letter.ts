import { KAFKA_HEADERS } from '@ccfed/proto';
import type { Producer } from 'kafkajs';
import type { Logger } from 'pino';

/** A message the ingester could not use, with where it came from and why. */
export interface DeadLetter {
  readonly sourceTopic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly reason: string;
}

/**
 * Sends undecodable messages to the dead-letter topic with their original bytes and key, and the
 * reason in headers. A failure throws: the batch is then retried whole, because a message that
 * is neither stored nor dead-lettered would be lost. (The dead-letter topic lives on the same
 * cluster the batch came from, so this stalls only when Kafka itself is in trouble.)
 */
export async function sendToDeadLetter(
  deps: { producer: Producer; topic: string; consumer: string; log: Logger },
  letters: readonly DeadLetter[],
): Promise<void> {
  if (letters.length === 0) return;
  for (const l of letters) {
    deps.log.warn(
      {
        event: 'dead_letter',
        topic: l.sourceTopic,
        partition: l.partition,
        offset: l.offset,
        reason: l.reason,
      },
      'message sent to dead-letter topic',
    );
  }
  await deps.producer.send({
    topic: deps.topic,
    messages: letters.map((l) => ({
      key: l.key,
      value: l.value,
      headers: {
        [KAFKA_HEADERS.dlqReason]: l.reason,
        [KAFKA_HEADERS.dlqSourceTopic]: l.sourceTopic,
        [KAFKA_HEADERS.dlqSourcePartition]: String(l.partition),
        [KAFKA_HEADERS.dlqSourceOffset]: l.offset,
        [KAFKA_HEADERS.dlqConsumer]: deps.consumer,
      },
    })),
  });
}
