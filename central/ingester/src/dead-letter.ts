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
 * reason in headers. A failure here is logged, never thrown: a broken DLQ must not stop the
 * ingestion of good data.
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
  try {
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
  } catch (err) {
    deps.log.error(
      { event: 'dead_letter_failed', err, count: letters.length },
      'could not write to the dead-letter topic',
    );
  }
}
