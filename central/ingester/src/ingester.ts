import type { ClickHouseClient } from '@clickhouse/client';
import type { TopicNames } from '@ccfed/proto';
import type { Consumer, EachBatchPayload, Kafka, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { sendToDeadLetter, type DeadLetter } from './dead-letter.js';
import { decodeCallEvent } from './decode.js';
import { callEventRow, type CallEventRow } from './rows.js';

export interface IngesterDeps {
  readonly kafka: Kafka;
  readonly clickhouse: ClickHouseClient;
  readonly topics: TopicNames;
  readonly groupId: string;
  readonly log: Logger;
}

/**
 * Kafka → ClickHouse. Each batch is decoded, inserted, and only then are its offsets committed:
 * a crash anywhere before the commit replays the batch, and the tables' idempotent keys make the
 * replay change nothing. Undecodable messages go to the dead-letter topic.
 */
export class Ingester {
  private consumer: Consumer | undefined;
  private producer: Producer | undefined;

  constructor(private readonly deps: IngesterDeps) {}

  async start(): Promise<void> {
    const { kafka, topics, groupId } = this.deps;
    this.producer = kafka.producer({ allowAutoTopicCreation: false });
    await this.producer.connect();
    this.consumer = kafka.consumer({
      groupId,
      allowAutoTopicCreation: false,
      // One batch in flight per partition, at most this many bytes: bounded memory.
      maxBytesPerPartition: 4 * 1024 * 1024,
      maxWaitTimeInMs: 100,
    });
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [topics.callEvents], fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: (payload) => this.ingestBatch(payload),
    });
    this.deps.log.info({ event: 'ingester_started', groupId, topics: [topics.callEvents] });
  }

  private async ingestBatch({
    batch,
    resolveOffset,
    heartbeat,
    isRunning,
    isStale,
  }: EachBatchPayload): Promise<void> {
    if (batch.messages.length === 0 || !isRunning() || isStale()) return;
    const rows: CallEventRow[] = [];
    const dead: DeadLetter[] = [];
    for (const m of batch.messages) {
      const decoded = decodeCallEvent(m.value);
      if (decoded.ok) {
        rows.push(callEventRow(decoded.event, { partition: batch.partition, offset: m.offset }));
      } else {
        dead.push({
          sourceTopic: batch.topic,
          partition: batch.partition,
          offset: m.offset,
          key: m.key,
          value: m.value,
          reason: decoded.reason,
        });
      }
    }
    if (rows.length > 0) {
      // Throws on failure: kafkajs then retries the batch from the last committed offset.
      await this.deps.clickhouse.insert({
        table: 'call_events',
        values: rows,
        format: 'JSONEachRow',
      });
    }
    await sendToDeadLetter(
      {
        producer: this.producer!,
        topic: this.deps.topics.deadLetter,
        consumer: this.deps.groupId,
        log: this.deps.log,
      },
      dead,
    );
    const last = batch.lastOffset();
    resolveOffset(last);
    await this.consumer!.commitOffsets([
      { topic: batch.topic, partition: batch.partition, offset: (BigInt(last) + 1n).toString() },
    ]);
    await heartbeat();
    this.deps.log.debug({
      event: 'batch_ingested',
      topic: batch.topic,
      partition: batch.partition,
      rows: rows.length,
      dead: dead.length,
      lastOffset: last,
    });
  }

  /** Stops taking batches; the batch in flight finishes and is committed first. */
  async stopIntake(): Promise<void> {
    await this.consumer?.stop();
  }

  async close(): Promise<void> {
    await this.consumer?.disconnect();
    await this.producer?.disconnect();
  }
}
