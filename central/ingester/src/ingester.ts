import type { ClickHouseClient } from '@clickhouse/client';
import { contextFromTraceparent, errorMessage, formatDateTime, requireTopics } from '@ccfed/common';
import { KAFKA_HEADERS, METRIC_NAMES, SPAN_NAMES, type TopicNames } from '@ccfed/proto';
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
import { rowsRequest, selectRows, type RowsResult } from './batch-rows.js';
import type { BatchConsumer, ConsumedBatch, ConsumedMessage, ConsumerFactory } from './consumer.js';
import { kafkajsConsumer } from './consumer-kafkajs.js';
import { sendToDeadLetter, type DeadLetter } from './dead-letter.js';
import { DecodeThread } from './decode-thread.js';
import type { LedgerEntry, PartitionLedger } from './ledger.js';
import type { InsertBody } from './insert-coalescer.js';
import { PartitionLane, type LaneOutcome } from './partition-lane.js';
import { shardOfPartition, shardStores, type ShardStores } from './shards.js';
import { sinksFor, type Sink } from './sinks.js';

export interface IngesterDeps {
  /** Creates the topics and sends dead letters; consumes too unless `consumer` is given. */
  readonly kafka: Kafka;
  /** The client that reads the topics (consumer-*.ts); kafkajs on `kafka` by default. */
  readonly consumer?: ConsumerFactory;
  readonly clickhouse: ClickHouseClient;
  /**
   * A cluster's replicas, shard by shard, as its remote_servers lists them: each partition's rows
   * then go to the replicated tables of its shard (shards.ts), and `clickhouse` is not written.
   */
  readonly shards?: readonly (readonly ClickHouseClient[])[];
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
  /** The consumer group's session timeout (CCFED_KAFKA_SESSION_TIMEOUT_MS); 30 s by default. */
  readonly sessionTimeoutMs?: number;
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

/** A batch sorted by the ledger: what to insert, and what was skipped or is a dead letter. */
interface Decoded {
  /** The rows to insert; undefined when the batch has none. */
  readonly body: InsertBody | undefined;
  readonly stored: readonly LedgerEntry[];
  readonly dead: readonly DeadLetter[];
  readonly replayed: number;
  readonly duplicates: number;
}

/** A taken batch on its partition's lane; the decode thread may still be working on it. */
interface LaneBatch {
  readonly batch: ConsumedBatch;
  readonly decoded: Promise<Decoded>;
}

function batchBytes(batch: ConsumedBatch): number {
  let bytes = 0;
  for (const m of batch.messages) bytes += (m.value?.length ?? 0) + (m.key?.length ?? 0);
  return bytes;
}

/**
 * Most a partition hands over in one fetch (kafkajs also caps a whole fetch at 10 MB). Larger
 * batches make fewer, larger INSERTs, which ClickHouse stores for much less CPU per event.
 */
const MAX_BATCH_BYTES = 2 * 1024 * 1024;
const CONCURRENCY = 32;
/**
 * Most raw bytes of one partition's batches taken and not yet stored: those being inserted, and
 * those decoded meanwhile, which go together into the next INSERT. Bounds the memory a partition
 * holds; enough that live traffic never waits for room while an INSERT is under way.
 */
const LANE_BYTES = 4 * MAX_BATCH_BYTES;
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
  private readonly stores: ShardStores[];
  private readonly decodeThread: DecodeThread;
  private readonly tracer = trace.getTracer('ccfed-ingester');
  private readonly ingested: Counter;
  private readonly lanes = new Map<string, PartitionLane<LaneBatch>>();
  private stopping = false;
  /** Consumer lag per partition after its last committed batch, for the lag gauge. */
  private readonly lag = new Map<string, { topic: string; partition: number; lag: number }>();

  constructor(private readonly deps: IngesterDeps) {
    this.sinks = new Map(sinksFor(deps.topics).map((s) => [s.topic, s]));
    this.stores = shardStores(deps.shards ?? deps.clickhouse, deps.log, deps.afterInsert);
    this.decodeThread = new DecodeThread(deps.topics);
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
    await requireTopics(kafka, [...consumed, topics.deadLetter]);
    this.producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: true });
    await this.producer.connect();
    this.consumer = (this.deps.consumer ?? kafkajsConsumer(kafka))({
      groupId,
      topics: consumed,
      maxBytesPerPartition: this.deps.maxBatchBytes ?? MAX_BATCH_BYTES,
      maxWaitMs: MAX_WAIT_MS,
      concurrency: this.deps.concurrency ?? CONCURRENCY,
      sessionTimeoutMs: this.deps.sessionTimeoutMs ?? 30_000,
    });
    await this.consumer.run({
      onBatch: (batch) => this.ingestBatch(batch),
      // Batches taken under the old assignment and not yet sent are dropped, and every ledger is
      // reloaded once its lane is idle: another ingester may store these partitions meanwhile.
      onRebalance: () => {
        for (const lane of this.lanes.values()) lane.break();
      },
      settled: () => this.settled(),
    });
    log.info({ event: 'ingester_started', groupId, topics: consumed });
  }

  /**
   * Takes one batch: hands it to the decode thread and queues it on its partition's lane, which
   * stores and commits it in order while the consumer fetches on. Resolves once the batch is taken
   * (true), or false if it was not: the ingester is stopping, the batch is stale, or its lane broke
   * (a rebalance, a failed INSERT) while it waited for room, so it was fetched under what no longer
   * holds. A batch taken and then not stored is dropped by its lane and fetched again: a failed
   * batch rewinds its partition to itself, and after a rebalance Kafka hands out the committed
   * offsets.
   */
  private async ingestBatch(batch: ConsumedBatch): Promise<boolean> {
    if (this.stopping || batch.messages.length === 0 || !batch.isCurrent()) return false;
    const sink = this.sinks.get(batch.topic);
    if (!sink) throw new Error(`no table for topic ${batch.topic}`);
    const lane = this.lane(sink, batch.partition);
    const breaks = lane.breaks;
    const bytes = batchBytes(batch);
    await lane.room(bytes);
    const { ledgers } = this.store(batch.partition);
    if (await lane.ledgerReloadDue()) ledgers.forget(sink.table, batch.partition);
    const ledger = await ledgers.ledger(sink.table, batch.partition);
    if (this.stopping || !batch.isCurrent() || lane.breaks !== breaks) return false;
    // The decode thread answers in the order it is asked, so each batch is sorted (sort()) after
    // the batches of its partition taken before it have counted in the ledger. The replays known
    // now are not even decoded; sort() checks again for those the batches before make.
    const fresh = batch.messages.filter((m) => !ledger.isReplayed(m.offset));
    const rows =
      fresh.length === 0
        ? Promise.resolve(undefined)
        : this.decodeThread.rows(
            // One ingested_at for the whole batch, the version ReplacingMergeTree(ingested_at) keeps.
            rowsRequest(batch.topic, batch.partition, formatDateTime(new Date()), fresh),
          );
    const decoded = rows.then((r) => {
      const d = this.sort(batch, fresh, r, ledger);
      // Counted as stored now, so that the next batch's duplicates are caught; if this batch is
      // not stored after all, the lane breaks and the ledger is reloaded from ClickHouse.
      ledger.stored(d.stored);
      return d;
    });
    // A failed decode fails the batch's store (the lane rewinds it); not an unhandled rejection.
    decoded.catch(() => undefined);
    const spans = this.deps.traced ? this.openSpans(batch) : [];
    void lane
      .take({ batch, decoded }, bytes, decoded)
      .then((outcome) => this.settle(batch, decoded, outcome, spans));
    return true;
  }

  /**
   * Sorts a batch's messages that were not replays when it was taken into replays, rows to insert,
   * duplicates and dead letters, given what the decode thread made of them. Runs once the batches
   * taken before it have counted in the ledger: one of them may have held these same offsets (a
   * client that fetched again from the committed offset), which makes them replays now.
   */
  private sort(
    batch: ConsumedBatch,
    fresh: readonly ConsumedMessage[],
    rows: RowsResult | undefined,
    ledger: PartitionLedger,
  ): Decoded {
    const stored: LedgerEntry[] = [];
    const dead: DeadLetter[] = [];
    const inBatch = new Set<string>();
    const keep = new Uint8Array(fresh.length);
    let replayed = batch.messages.length - fresh.length;
    let duplicates = 0;
    for (let i = 0; i < fresh.length; i++) {
      const m = fresh[i]!;
      const eventId = rows?.eventIds[i] ?? null;
      if (ledger.isReplayed(m.offset)) {
        replayed++;
      } else if (eventId === null) {
        dead.push({
          sourceTopic: batch.topic,
          partition: batch.partition,
          offset: String(m.offset),
          key: m.key,
          value: m.value,
          reason: rows?.reasons[i] ?? 'not decoded',
        });
      } else if (inBatch.has(eventId) || ledger.verdict(m.offset, eventId) === 'duplicate') {
        duplicates++;
      } else {
        inBatch.add(eventId);
        stored.push({ offset: m.offset, eventId });
        keep[i] = 1;
      }
    }
    return {
      body: rows && selectRows(rows, (i) => keep[i] === 1),
      stored,
      dead,
      replayed,
      duplicates,
    };
  }

  /**
   * Stores batches of one partition, in offset order, all or none. Dead letters first: if that
   * fails, nothing is stored and all of it is retried. Then the rows of all of them, in one INSERT
   * (with the other partitions' batches of the table that are ready at the same moment).
   */
  private async storeBatches(
    table: string,
    partition: number,
    taken: readonly LaneBatch[],
  ): Promise<boolean> {
    const decoded = await Promise.all(taken.map((t) => t.decoded));
    if (!taken.every((t) => t.batch.isCurrent())) return false;
    await sendToDeadLetter(
      {
        producer: this.producer!,
        topic: this.deps.topics.deadLetter,
        consumer: this.deps.groupId,
        log: this.deps.log,
      },
      decoded.flatMap((d) => d.dead),
    );
    const bodies = decoded.flatMap((d) => (d.body ? [d.body] : []));
    const { inserts } = this.store(partition);
    await Promise.all(bodies.map((body) => inserts.insert(table, body)));
    return true;
  }

  /** What a batch's lane made of it: metrics and logs, and a rewind if it failed. */
  private async settle(
    batch: ConsumedBatch,
    decoded: Promise<Decoded>,
    outcome: LaneOutcome,
    spans: Span[],
  ): Promise<void> {
    const { log } = this.deps;
    const where = { topic: batch.topic, partition: batch.partition };
    const firstOffset = String(batch.messages[0]!.offset);
    for (const span of spans) {
      if (outcome.kind === 'failed' || outcome.kind === 'dropped')
        span.setStatus({ code: SpanStatusCode.ERROR, message: `batch ${outcome.kind}` });
      span.end();
    }
    if (outcome.kind === 'failed') {
      // The INSERT may or may not have landed: the lane reloads the ledger before going on.
      log.error(
        { event: 'batch_failed', ...where, firstOffset, err: errorMessage(outcome.error) },
        'batch not stored: consuming its partition again from its first offset',
      );
      batch.rewind();
      return;
    }
    if (outcome.kind === 'dropped') {
      log.info({ event: 'batch_dropped', ...where, firstOffset });
      return;
    }
    if (outcome.kind === 'commit-failed')
      log.warn({ event: 'commit_failed', ...where, err: errorMessage(outcome.error) });
    // Stored, so decoded.
    const d = await decoded;
    this.ingested.add(d.stored.length, { 'messaging.destination.name': batch.topic });
    if (batch.highWatermark !== undefined) {
      const next = batch.messages.at(-1)!.offset + 1n;
      const lag = batch.highWatermark > next ? Number(batch.highWatermark - next) : 0;
      this.lag.set(`${batch.topic}/${batch.partition}`, { ...where, lag });
    }
    const outcomeLog: BatchOutcome = {
      ...where,
      stored: d.stored.length,
      rows: d.body?.rows ?? 0,
      replayed: d.replayed,
      duplicates: d.duplicates,
      dead: d.dead.length,
    };
    if (d.replayed + d.duplicates > 0) log.info({ event: 'batch_deduplicated', ...outcomeLog });
    else {
      const lastOffset = String(batch.messages.at(-1)!.offset);
      log.debug({ event: 'batch_ingested', ...outcomeLog, lastOffset });
    }
  }

  private lane(sink: Sink, partition: number): PartitionLane<LaneBatch> {
    const key = `${sink.topic}/${partition}`;
    let lane = this.lanes.get(key);
    if (!lane) {
      lane = new PartitionLane<LaneBatch>(LANE_BYTES, {
        ready: () => this.store(partition).inserts.nextRound(),
        store: (taken) => this.storeBatches(sink.table, partition, taken),
        commit: (last) => last.batch.commit(),
      });
      this.lanes.set(key, lane);
    }
    return lane;
  }

  /** Where a partition's rows are stored: the server, or its shard of the cluster. */
  private store(partition: number): ShardStores {
    return this.stores[shardOfPartition(partition, this.stores.length)]!;
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

  /**
   * Stops taking batches; the batches taken finish and are committed first, while the consumer is
   * still a member of the group and so may commit.
   */
  async stopIntake(): Promise<void> {
    this.stopping = true;
    await this.consumer?.stop();
    await this.settled();
  }

  private async settled(): Promise<void> {
    await Promise.all([...this.lanes.values()].map((lane) => lane.idle()));
  }

  async close(): Promise<void> {
    await this.consumer?.close();
    await this.producer?.disconnect();
    await this.decodeThread.close();
  }
}
