import type { ClickHouseClient } from '@clickhouse/client';
import { contextFromTraceparent, ensureTopics, formatDateTime } from '@ccfed/common';
import {
  DEFAULT_TOPIC_PARTITIONS,
  KAFKA_HEADERS,
  METRIC_NAMES,
  SPAN_NAMES,
  type TopicNames,
} from '@ccfed/proto';
import {
  metrics,
  SpanKind,
  SpanStatusCode,
  trace,
  type Counter,
  type Span,
} from '@opentelemetry/api';
import type { Kafka, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import type { BatchConsumer, ConsumedBatch, ConsumerFactory } from './consumer.js';
import { kafkajsConsumer } from './consumer-kafkajs.js';
import { sendToDeadLetter, type DeadLetter } from './dead-letter.js';
import type { LedgerEntry } from './ledger.js';
import { InsertCoalescer } from './insert-coalescer.js';
import { LedgerStore } from './ledger-store.js';
import { sinksFor, type Sink } from './sinks.js';
import { TsvWriter } from './tsv.js';

export interface IngesterDeps {
  /** Creates the topics and sends dead letters; consumes too unless `consumer` is given. */
  readonly kafka: Kafka;
  /** The client that reads the topics (consumer-*.ts); kafkajs on `kafka` by default. */
  readonly consumer?: ConsumerFactory;
  readonly clickhouse: ClickHouseClient;
  readonly topics: TopicNames;
  readonly groupId: string;
  readonly log: Logger;
  /**
   * Partitions ingested at once; each holds at most one batch of maxBatchBytes. The default takes
   * every partition of a fetch at once, so that they share one INSERT per table.
   */
  readonly concurrency?: number;
  /** Most a partition hands over in one batch: bounds the ingester's memory. */
  readonly maxBatchBytes?: number;
  /**
   * Failpoint for fault-injection tests: called after each INSERT, before the offsets are
   * committed, with the number of INSERTs so far (CCFED_FAILPOINT_EXIT_AFTER_INSERTS in index.ts).
   */
  readonly afterInsert?: (inserts: number) => void;
  /**
   * Telemetry is on: each message with a `traceparent` header gets an `ingest <topic>` span in
   * its trace, ended once its batch is committed. Off, no header is even read.
   */
  readonly traced?: boolean;
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

/** With CONCURRENCY, bounds the raw bytes in flight (kafkajs also caps a fetch at 10 MB). */
const MAX_BATCH_BYTES = 1024 * 1024;
const CONCURRENCY = 32;
/** How long a fetch waits on the broker when there is nothing new: idle freshness. */
const MAX_WAIT_MS = 100;

/**
 * Kafka → ClickHouse, every event exactly once. Per batch: dead letters are sent first, then the
 * new rows are inserted (in one INSERT with the other batches of its table that are ready at the
 * same moment: insert-coalescer.ts), and only then are the offsets committed. A crash anywhere
 * before the commit replays the batch, and the partition's ledger (ledger.ts) skips what
 * ClickHouse already holds, so nothing is lost and nothing counts twice.
 */
export class Ingester {
  private consumer: BatchConsumer | undefined;
  private producer: Producer | undefined;
  private readonly sinks: Map<string, Sink>;
  private readonly ledgers: LedgerStore;
  private readonly inserts: InsertCoalescer;
  private readonly tracer = trace.getTracer('ccfed-ingester');
  private readonly ingested: Counter;
  /** Consumer lag per partition after its last committed batch, for the lag gauge. */
  private readonly lag = new Map<string, { topic: string; partition: number; lag: number }>();

  constructor(private readonly deps: IngesterDeps) {
    this.sinks = new Map(sinksFor(deps.topics).map((s) => [s.topic, s]));
    this.ledgers = new LedgerStore(deps.clickhouse);
    this.inserts = new InsertCoalescer(deps.clickhouse, deps.log, deps.afterInsert);
    const meter = metrics.getMeter('ccfed-ingester');
    this.ingested = meter.createCounter(METRIC_NAMES.eventsIngested, {
      description: 'Events stored in ClickHouse, per topic',
    });
    meter
      .createObservableGauge(METRIC_NAMES.consumerLag, {
        description: "Messages after the ingester's committed offset, per topic and partition",
      })
      .addCallback((observer) => {
        for (const l of this.lag.values())
          observer.observe(l.lag, {
            'messaging.destination.name': l.topic,
            partition: l.partition,
          });
      });
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
    this.consumer = (this.deps.consumer ?? kafkajsConsumer(kafka))({
      groupId,
      topics: consumed,
      maxBytesPerPartition: this.deps.maxBatchBytes ?? MAX_BATCH_BYTES,
      maxWaitMs: MAX_WAIT_MS,
      concurrency: this.deps.concurrency ?? CONCURRENCY,
    });
    await this.consumer.run({
      onBatch: (batch) => this.ingestBatch(batch),
      // After a rebalance another ingester may have stored batches: reload from ClickHouse.
      onRebalance: () => this.ledgers.forgetAll(),
    });
    log.info({ event: 'ingester_started', groupId, topics: consumed });
  }

  private async ingestBatch(batch: ConsumedBatch): Promise<void> {
    if (batch.messages.length === 0 || !batch.isCurrent()) return;
    const spans = this.deps.traced ? this.openSpans(batch) : [];
    try {
      await this.storeBatch(batch);
    } catch (err) {
      for (const span of spans)
        span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
      throw err;
    } finally {
      for (const span of spans) span.end();
    }
  }

  /** One span per message that carries a trace, a child of the span that published it. */
  private openSpans(batch: ConsumedBatch): Span[] {
    const spans: Span[] = [];
    for (const m of batch.messages) {
      const traceparent = m.headers().get(KAFKA_HEADERS.traceparent)?.toString();
      if (!traceparent) continue;
      spans.push(
        this.tracer.startSpan(
          SPAN_NAMES.ingestPrefix + batch.topic,
          {
            kind: SpanKind.CONSUMER,
            attributes: {
              'messaging.system': 'kafka',
              'messaging.operation.type': 'process',
              'messaging.destination.name': batch.topic,
              'messaging.destination.partition.id': String(batch.partition),
              'messaging.kafka.offset': Number(m.offset),
            },
          },
          contextFromTraceparent(traceparent),
        ),
      );
    }
    return spans;
  }

  private async storeBatch(batch: ConsumedBatch): Promise<void> {
    const sink = this.sinks.get(batch.topic);
    if (!sink) throw new Error(`no table for topic ${batch.topic}`);
    const ledger = await this.ledgers.ledger(sink.table, batch.partition);

    // One ingested_at for the whole batch, the version ReplacingMergeTree(ingested_at) keeps.
    const body = new TsvWriter({ ingested_at: formatDateTime(new Date()) });
    const stored: LedgerEntry[] = [];
    const dead: DeadLetter[] = [];
    const inBatch = new Set<string>();
    let replayed = 0;
    let duplicates = 0;
    for (const m of batch.messages) {
      const offset = m.offset;
      if (ledger.isReplayed(offset)) {
        replayed++;
        continue;
      }
      const r = sink.toRows(m.value, { partition: batch.partition, offset: String(offset) });
      if (!r.ok) {
        dead.push({
          sourceTopic: batch.topic,
          partition: batch.partition,
          offset: String(offset),
          key: m.key,
          value: m.value,
          reason: r.reason,
        });
      } else if (inBatch.has(r.eventId) || ledger.verdict(offset, r.eventId) === 'duplicate') {
        duplicates++;
      } else {
        inBatch.add(r.eventId);
        stored.push({ offset, eventId: r.eventId });
        for (const row of r.rows) body.writeRow(row);
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
    if (body.rows > 0) {
      try {
        await this.inserts.insert(sink.table, body);
      } catch (err) {
        // The INSERT may or may not have landed: reload the ledger from ClickHouse next time.
        this.ledgers.forget(sink.table, batch.partition);
        throw err;
      }
      ledger.stored(stored);
    }

    await batch.commit();
    this.ingested.add(stored.length, { 'messaging.destination.name': batch.topic });
    if (batch.highWatermark !== undefined) {
      const next = batch.messages.at(-1)!.offset + 1n;
      const lag = batch.highWatermark > next ? Number(batch.highWatermark - next) : 0;
      this.lag.set(`${batch.topic}/${batch.partition}`, {
        topic: batch.topic,
        partition: batch.partition,
        lag,
      });
    }
    const outcome: BatchOutcome = {
      topic: batch.topic,
      partition: batch.partition,
      stored: stored.length,
      rows: body.rows,
      replayed,
      duplicates,
      dead: dead.length,
    };
    if (replayed + duplicates > 0) this.deps.log.info({ event: 'batch_deduplicated', ...outcome });
    else {
      const lastOffset = String(batch.messages.at(-1)!.offset);
      this.deps.log.debug({ event: 'batch_ingested', ...outcome, lastOffset });
    }
  }

  /** Stops taking batches; the batches in flight finish and are committed first. */
  async stopIntake(): Promise<void> {
    await this.consumer?.stop();
  }

  async close(): Promise<void> {
    await this.consumer?.close();
    await this.producer?.disconnect();
  }
}
