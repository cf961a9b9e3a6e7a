import type { ClickHouseClient } from '@clickhouse/client';
import { ensureTopics } from '@ccfed/common';
import { DEFAULT_TOPIC_PARTITIONS, type TopicNames } from '@ccfed/proto';
import type { Consumer, EachBatchPayload, Kafka, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { sendToDeadLetter, type DeadLetter } from './dead-letter.js';
import type { LedgerEntry } from './ledger.js';
import { LedgerStore } from './ledger-store.js';
import type { Row } from './rows.js';
import { sinksFor, type Sink } from './sinks.js';

export interface IngesterDeps {
  readonly kafka: Kafka;
  readonly clickhouse: ClickHouseClient;
  readonly topics: TopicNames;
  readonly groupId: string;
  readonly log: Logger;
  /** Partitions ingested at once; each holds at most one batch of maxBytesPerPartition. */
  readonly concurrency?: number;
  /**
   * Failpoint for fault-injection tests: called after each INSERT, before the offsets are
   * committed, with the number of INSERTs so far (CCFED_FAILPOINT_EXIT_AFTER_INSERTS in index.ts).
   */
  readonly afterInsert?: (inserts: number) => void;
}

/** What one batch did, for logs and tests. */
export interface BatchOutcome {
  readonly topic: string;
  readonly partition: number;
  readonly stored: number;
  readonly rows: number;
  readonly replayed: number;
  readonly duplicates: number;
  readonly dead: number;
}

/** Most a partition hands over in one batch: bounds the ingester's memory. */
const MAX_BATCH_BYTES = 4 * 1024 * 1024;

/**
 * Kafka → ClickHouse, every event exactly once. Per batch: dead letters are sent first, then the
 * new rows are inserted in one INSERT, and only then are the offsets committed. A crash anywhere
 * before the commit replays the batch, and the partition's ledger (ledger.ts) skips what
 * ClickHouse already holds, so nothing is lost and nothing counts twice.
 */
export class Ingester {
  private consumer: Consumer | undefined;
  private producer: Producer | undefined;
  private readonly sinks: Map<string, Sink>;
  private readonly ledgers: LedgerStore;
  private inserts = 0;

  constructor(private readonly deps: IngesterDeps) {
    this.sinks = new Map(sinksFor(deps.topics).map((s) => [s.topic, s]));
    this.ledgers = new LedgerStore(deps.clickhouse);
  }

  async start(): Promise<void> {
    const { kafka, topics, groupId, log } = this.deps;
    const consumed = [...this.sinks.keys()];
    await ensureTopics(
      kafka,
      [...consumed, topics.deadLetter].map((topic) => ({
        topic,
        partitions: DEFAULT_TOPIC_PARTITIONS,
      })),
    );
    this.producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: true });
    await this.producer.connect();
    this.consumer = kafka.consumer({
      groupId,
      allowAutoTopicCreation: false,
      maxBytesPerPartition: MAX_BATCH_BYTES,
      maxWaitTimeInMs: 100,
    });
    // After a rebalance another ingester may have stored batches: reload from ClickHouse.
    this.consumer.on(this.consumer.events.GROUP_JOIN, () => this.ledgers.forgetAll());
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: consumed, fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.deps.concurrency ?? 3,
      eachBatch: (payload) => this.ingestBatch(payload),
    });
    log.info({ event: 'ingester_started', groupId, topics: consumed });
  }

  private async ingestBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, heartbeat, isRunning, isStale } = payload;
    if (batch.messages.length === 0 || !isRunning() || isStale()) return;
    const sink = this.sinks.get(batch.topic);
    if (!sink) throw new Error(`no table for topic ${batch.topic}`);
    const ledger = await this.ledgers.ledger(sink.table, batch.partition);

    const rows: Row[] = [];
    const stored: LedgerEntry[] = [];
    const dead: DeadLetter[] = [];
    const inBatch = new Set<string>();
    let replayed = 0;
    let duplicates = 0;
    for (const m of batch.messages) {
      const offset = BigInt(m.offset);
      if (ledger.isReplayed(offset)) {
        replayed++;
        continue;
      }
      const r = sink.toRows(m.value, { partition: batch.partition, offset: m.offset });
      if (!r.ok) {
        dead.push({
          sourceTopic: batch.topic,
          partition: batch.partition,
          offset: m.offset,
          key: m.key,
          value: m.value,
          reason: r.reason,
        });
      } else if (inBatch.has(r.eventId) || ledger.verdict(offset, r.eventId) === 'duplicate') {
        duplicates++;
      } else {
        inBatch.add(r.eventId);
        stored.push({ offset, eventId: r.eventId });
        for (const row of r.rows) rows.push(row);
      }
    }

    // Dead letters first: if that fails, nothing of the batch is stored and all of it is retried.
    await sendToDeadLetter(
      {
        producer: this.producer!,
        topic: this.deps.topics.deadLetter,
        consumer: this.deps.groupId,
        log: this.deps.log,
      },
      dead,
    );
    if (rows.length > 0) {
      try {
        await this.deps.clickhouse.insert({
          table: sink.table,
          values: rows,
          format: 'JSONEachRow',
        });
      } catch (err) {
        // The INSERT may or may not have landed: reload the ledger from ClickHouse next time.
        this.ledgers.forget(sink.table, batch.partition);
        throw err;
      }
      ledger.stored(stored);
      this.deps.afterInsert?.(++this.inserts);
    }

    const last = batch.lastOffset();
    resolveOffset(last);
    await this.consumer!.commitOffsets([
      { topic: batch.topic, partition: batch.partition, offset: (BigInt(last) + 1n).toString() },
    ]);
    await heartbeat();
    const outcome: BatchOutcome = {
      topic: batch.topic,
      partition: batch.partition,
      stored: stored.length,
      rows: rows.length,
      replayed,
      duplicates,
      dead: dead.length,
    };
    if (replayed + duplicates > 0) this.deps.log.info({ event: 'batch_deduplicated', ...outcome });
    else this.deps.log.debug({ event: 'batch_ingested', ...outcome, lastOffset: last });
  }

  /** Stops taking batches; the batches in flight finish and are committed first. */
  async stopIntake(): Promise<void> {
    await this.consumer?.stop();
  }

  async close(): Promise<void> {
    await this.consumer?.disconnect();
    await this.producer?.disconnect();
  }
}
