// Drains the outbox to Kafka, in order, one batch at a time, acknowledging a batch only after
// Kafka has acknowledged it. While Kafka is away it retries the same batch until Kafka is back.
import {
  Partitioners,
  type Message,
  type PartitionMetadata,
  type Producer,
  type ProducerConfig,
  type TopicMessages,
} from 'kafkajs';
import type { Logger } from 'pino';
import type { Outbox, OutboxBatch } from './outbox.js';

/**
 * How the sender's producer must be created (`kafka.producer(OUTBOX_PRODUCER_CONFIG)`).
 *
 * Idempotent, one request in flight: the broker numbers each producer's batches per partition
 * and drops a batch it has already written. kafkajs rolls its sequence numbers back when a
 * produce request fails, so resending the *same* records on the *same* producer reuses the
 * same numbers, and a batch the broker wrote before the connection died is not written twice.
 *
 * kafkajs's own retries are bounded (about 8 s of back-off per send) instead of its idempotent
 * default of unlimited, because an unlimited send cannot be stopped at shutdown and would keep
 * sending after the site agent believes it has stopped. When kafkajs gives up, the sender
 * reconnects the same producer and resends the same batch, which keeps the producer id and the
 * sequence numbers. kafkajs warns at creation that limited retries "may invalidate EoS
 * guarantees": that is true of a caller that moves on to other records after a failure, which
 * the sender never does.
 */
export const OUTBOX_PRODUCER_CONFIG: ProducerConfig = Object.freeze({
  idempotent: true,
  maxInFlightRequests: 1,
  allowAutoTopicCreation: false,
  // Murmur2 on the key, as the Java client: a call's or agent's events land on the same partition
  // whichever client produced them.
  createPartitioner: Partitioners.DefaultPartitioner,
  retry: { retries: 5, initialRetryTime: 300, maxRetryTime: 3_000 },
});

export interface OutboxSenderDeps {
  readonly outbox: Outbox;
  /**
   * Makes a producer with OUTBOX_PRODUCER_CONFIG; the sender connects it, is its only user, and
   * disconnects it at stop. It makes a new one only after the broker rejected the producer's
   * identity or sequence (see `producerStateErrors`).
   */
  readonly createProducer: () => Producer;
  /**
   * How many partitions `topic` has (asked once per topic). With it, each batch is sent as one
   * request per partition, which a cluster needs: kafkajs 2.2.4 can report a request spanning
   * several partition leaders as sent when one leader died and its partitions moved to a broker
   * that had already answered, and those records are lost (tulios/kafkajs#1303; seen in
   * tests/engines/kafka-cluster.test.ts). Without it the whole batch goes in one request: for a
   * single broker, and for the unit tests.
   */
  readonly partitionsOf?: (topic: string) => Promise<number>;
  readonly log: Logger;
  /** Most records per batch. Default 500. */
  readonly maxBatchRecords?: number;
  /** Most bytes of records per batch (one record larger than this goes alone). Default 768 KiB, under Kafka's 1 MiB default per partition batch. */
  readonly maxBatchBytes?: number;
  /** First wait after a failed send; doubles up to retryMaxMs. Defaults 500 and 5000. */
  readonly retryInitialMs?: number;
  readonly retryMaxMs?: number;
  /** Called once if the sender cannot go on (the outbox failed); the process should shut down. */
  readonly onFatal?: (err: unknown) => void;
}

export interface OutboxSenderStats {
  /** Events in the outbox not yet acknowledged by Kafka (GetStatus `buffered_events`). */
  readonly pending: number;
  /** Whether the latest attempt to reach Kafka succeeded (GetStatus `kafka_connected`). */
  readonly connected: boolean;
  /** Since start: events Kafka acknowledged. */
  readonly sent: number;
  /** Since start: sends that failed and were retried. */
  readonly failedSends: number;
  /** Since start: events Kafka refused as malformed, moved to the outbox's rejected file. */
  readonly rejected: number;
  /** Since start: producers replaced after the broker rejected their identity. */
  readonly producerResets: number;
}

/** Broker errors that mean the producer's id or sequence numbers are no longer valid. */
const producerStateErrors = new Set([
  'OUT_OF_ORDER_SEQUENCE_NUMBER',
  'UNKNOWN_PRODUCER_ID',
  'INVALID_PRODUCER_EPOCH',
  'INVALID_PRODUCER_ID_MAPPING',
  'PRODUCER_FENCED',
]);

/** Broker errors about the records themselves: sending them again can never succeed. */
const recordErrors = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_RECORD']);

type Verdict = 'transient' | 'producer-state' | 'records' | 'refused';

const STILL_FAILING_LOG_EVERY_MS = 30_000;

/**
 * Sends the outbox's records to Kafka in outbox order, one batch in flight: records of one key
 * reach their partition in the order they were appended.
 *
 * Duplicates: a batch is retried unchanged on the same producer until Kafka acknowledges it,
 * so the broker's idempotence drops a copy it already has: across connection resets, silent
 * connections, broker restarts and kafkajs giving up (tests/site/outbox-kafka.test.ts shows
 * each). Kafka can hold a record twice only when the producer changes between the broker
 * writing a batch and the sender learning of it: the site agent stopped (past the stop timeout)
 * or crashed with a send in flight, so the next process resends it under a new producer id;
 * the broker rejected the producer's id or sequence (`producerStateErrors`); or a record Kafka
 * refuses split its batch. With several brokers, a batch goes as one request per partition
 * (`partitionsOf`), and only the parts not acknowledged are resent: a leader lost mid-batch
 * neither loses nor doubles a record (tests/engines/kafka-cluster.test.ts). Consumers drop
 * copies by event id.
 */
export class OutboxSender {
  private producer: Producer | undefined;
  private producerReady = false;
  private healthy = false;
  private running: Promise<void> | undefined;
  private stopRequested = false;
  private abandoned = false;
  private stopping: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  private readonly drainWaiters = new Set<() => void>();
  private outage: { since: number; attempts: number; lastLogMs: number } | undefined;
  private batchLimit: number;
  private sent = 0;
  private failedSends = 0;
  private rejected = 0;
  private producerResets = 0;
  private readonly maxBatchRecords: number;
  private readonly maxBatchBytes: number;
  private readonly retryInitialMs: number;
  private readonly retryMaxMs: number;
  private readonly log: Logger;
  /** Partitions of each topic, asked once (`partitionsOf`). */
  private readonly partitionCounts = new Map<string, number>();
  private readonly partitioner = Partitioners.DefaultPartitioner();

  constructor(private readonly deps: OutboxSenderDeps) {
    this.maxBatchRecords = deps.maxBatchRecords ?? 500;
    this.maxBatchBytes = deps.maxBatchBytes ?? 768 * 1024;
    this.retryInitialMs = deps.retryInitialMs ?? 500;
    this.retryMaxMs = deps.retryMaxMs ?? 5_000;
    this.batchLimit = this.maxBatchRecords;
    this.log = deps.log.child({ component: 'outbox-sender' });
  }

  /** Starts draining in the background; Kafka need not be reachable yet. */
  start(): void {
    if (this.running) throw new Error('the outbox sender is already started');
    this.log.info({ event: 'outbox_sender_started', pending: this.pending });
    this.running = this.run();
  }

  get pending(): number {
    return this.deps.outbox.pending;
  }

  get connected(): boolean {
    return this.healthy;
  }

  stats(): OutboxSenderStats {
    return {
      pending: this.pending,
      connected: this.healthy,
      sent: this.sent,
      failedSends: this.failedSends,
      rejected: this.rejected,
      producerResets: this.producerResets,
    };
  }

  /**
   * Resolves true once the outbox is empty, false if it is not within timeoutMs (Kafka away).
   * For shutdown, after intake has stopped: whatever is left stays on disk for the next start.
   */
  flush(timeoutMs: number): Promise<boolean> {
    if (this.pending === 0) return Promise.resolve(true);
    return new Promise((resolveFlush) => {
      const done = () => {
        clearTimeout(timer);
        this.drainWaiters.delete(done);
        resolveFlush(true);
      };
      const timer = setTimeout(() => {
        this.drainWaiters.delete(done);
        this.log.warn(
          { event: 'outbox_flush_timeout', timeoutMs, pending: this.pending },
          'events remain in the outbox; they will be sent after the next start',
        );
        resolveFlush(false);
      }, timeoutMs);
      this.drainWaiters.add(done);
    });
  }

  /**
   * Stops after the send in flight, if any, has finished (at most timeoutMs), then disconnects
   * the producer. Unsent events stay in the outbox. A send still in flight at the timeout is
   * abandoned: its records stay unacknowledged and are sent again by the next process, and if
   * Kafka had written them they arrive twice.
   */
  stop(timeoutMs = 10_000): Promise<void> {
    this.stopping ??= this.shutdown(timeoutMs);
    return this.stopping;
  }

  private async shutdown(timeoutMs: number): Promise<void> {
    this.stopRequested = true;
    this.wakeUp?.();
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([
      (this.running ?? Promise.resolve()).then(() => true),
      new Promise<false>((r) => (timer = setTimeout(() => r(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    if (!finished) {
      this.abandoned = true;
      this.log.warn(
        { event: 'outbox_sender_stop_timeout', timeoutMs, pending: this.pending },
        'a send to Kafka was still in flight at stop; its events will be sent again at the next start',
      );
    }
    await this.disconnectProducer();
    this.log.info({ event: 'outbox_sender_stopped', pending: this.pending, sent: this.sent });
  }

  private async run(): Promise<void> {
    const { outbox } = this.deps;
    try {
      while (!this.stopRequested) {
        const batch = outbox.read({ maxRecords: this.batchLimit, maxBytes: this.maxBatchBytes });
        if (batch.records.length === 0) {
          this.notifyDrained();
          await this.waitForAppend();
          continue;
        }
        await this.deliver(batch);
      }
    } catch (err) {
      this.log.fatal(
        { event: 'outbox_sender_failed', err, pending: this.pending },
        'the outbox sender stopped: events are no longer sent to Kafka',
      );
      this.deps.onFatal?.(err);
    }
  }

  /**
   * Sends one batch until Kafka acknowledges it or the sender stops; never sends the next one
   * before. Split by partition (see `partitionsOf`), a part Kafka acknowledged is not sent again
   * when another part is retried.
   */
  private async deliver(batch: OutboxBatch): Promise<void> {
    let unsent: TopicMessages[][] | undefined;
    let attempt = 0;
    while (!this.stopRequested) {
      try {
        const producer = await this.readyProducer();
        unsent ??= await this.requestsOf(batch);
        const parts = unsent;
        const results = await Promise.allSettled(
          parts.map((topicMessages) => producer.sendBatch({ acks: -1, topicMessages })),
        );
        unsent = parts.filter((_, i) => results[i]!.status === 'rejected');
        const failure = results.find((r) => r.status === 'rejected');
        if (failure) throw failure.reason;
      } catch (err) {
        attempt += 1;
        const verdict = classify(err);
        this.failing(err, verdict, attempt, batch);
        if (verdict === 'producer-state') {
          await this.replaceProducer();
        } else if (verdict === 'transient') {
          await this.reconnectProducer();
        } else if (verdict === 'records') {
          this.narrowDown(batch, err);
          return;
        }
        await this.sleep(verdict === 'refused' ? this.retryMaxMs : this.backoff(attempt));
        continue;
      }
      if (this.abandoned) {
        // stop() gave up waiting and the outbox may be closed: the next process resends these.
        this.log.warn({ event: 'outbox_batch_sent_after_stop', records: batch.records.length });
        return;
      }
      this.deps.outbox.acknowledge(batch);
      this.sent += batch.records.length;
      this.batchLimit = Math.min(this.maxBatchRecords, this.batchLimit * 2);
      this.recovered();
      if (this.pending === 0) this.notifyDrained();
      return;
    }
  }

  /**
   * The produce requests of a batch: one for all of it, or with `partitionsOf` one per partition, each
   * message given the partition kafkajs's DefaultPartitioner picks for its key (murmur2, as the
   * Java client), so a key's events land where they always did.
   */
  private async requestsOf(batch: OutboxBatch): Promise<TopicMessages[][]> {
    const byTopic = toTopicMessages(batch);
    const { partitionsOf } = this.deps;
    if (!partitionsOf) return [byTopic];
    const requests: TopicMessages[][] = [];
    for (const { topic, messages } of byTopic) {
      let count = this.partitionCounts.get(topic);
      if (count === undefined) {
        count = await partitionsOf(topic);
        if (!Number.isInteger(count) || count < 1)
          throw new Error(`Kafka reports ${count} partitions for topic ${topic}`);
        this.partitionCounts.set(topic, count);
      }
      const metadata = Array.from({ length: count }, (_, partitionId) => ({
        partitionId,
        leader: 0,
      })) as PartitionMetadata[];
      const byPartition = new Map<number, Message[]>();
      for (const message of messages) {
        const partition = this.partitioner({ topic, partitionMetadata: metadata, message });
        let list = byPartition.get(partition);
        if (!list) byPartition.set(partition, (list = []));
        list.push({ ...message, partition });
      }
      for (const list of byPartition.values()) requests.push([{ topic, messages: list }]);
    }
    return requests;
  }

  /**
   * Kafka refused the batch's records. Halve the batch until the culprit is alone, then set it
   * aside (outbox.quarantine): one record Kafka never takes must not hold back all the others.
   */
  private narrowDown(batch: OutboxBatch, err: unknown): void {
    if (batch.records.length > 1) {
      this.batchLimit = Math.max(1, Math.floor(batch.records.length / 2));
      return;
    }
    const record = batch.records[0]!;
    this.deps.outbox.quarantine(batch);
    this.rejected += 1;
    this.batchLimit = this.maxBatchRecords;
    this.log.error(
      {
        event: 'outbox_record_rejected',
        err,
        topic: record.topic,
        key: record.key,
        offset: record.offset,
        bytes: record.value.length,
      },
      'Kafka refused an event; it was moved to rejected.seg in the outbox directory',
    );
  }

  private async readyProducer(): Promise<Producer> {
    this.producer ??= this.deps.createProducer();
    if (!this.producerReady) {
      // For an idempotent producer connect() also obtains its producer id; until it succeeds
      // nothing may be sent, or the records would go out without sequence numbers.
      await this.producer.connect();
      this.producerReady = true;
    }
    return this.producer;
  }

  /**
   * Drops the producer's connections but keeps the producer, so its id and sequence numbers
   * stay and the resent batch is still recognised by the broker. kafkajs retries a timed-out
   * request on the same connection; a connection that went silent (a NAT or firewall dropped
   * it without a reset) would otherwise keep timing out until TCP keepalive notices, minutes on.
   */
  private async reconnectProducer(): Promise<void> {
    if (!this.producerReady) return;
    this.producerReady = false;
    await this.producer?.disconnect().catch((err: unknown) => {
      this.log.warn({ event: 'kafka_producer_disconnect_failed', err });
    });
  }

  private async replaceProducer(): Promise<void> {
    this.producerResets += 1;
    this.log.error(
      { event: 'kafka_producer_replaced', pending: this.pending },
      'Kafka rejected the producer identity; a new producer resends the batch (Kafka may hold some of its events twice)',
    );
    await this.disconnectProducer();
  }

  private async disconnectProducer(): Promise<void> {
    const producer = this.producer;
    this.producer = undefined;
    this.producerReady = false;
    await producer?.disconnect().catch((err: unknown) => {
      this.log.warn({ event: 'kafka_producer_disconnect_failed', err });
    });
  }

  private failing(err: unknown, verdict: Verdict, attempt: number, batch: OutboxBatch): void {
    this.healthy = false;
    this.failedSends += 1;
    const now = Date.now();
    const fields = {
      err,
      verdict,
      attempt,
      pending: this.pending,
      batchRecords: batch.records.length,
      firstOffset: batch.records[0]?.offset,
    };
    if (!this.outage) {
      this.outage = { since: now, attempts: 1, lastLogMs: now };
      const log = verdict === 'transient' ? this.log.warn : this.log.error;
      log.call(
        this.log,
        { event: 'kafka_send_failing', ...fields },
        'cannot deliver events to Kafka; they wait in the outbox',
      );
      return;
    }
    this.outage.attempts += 1;
    if (now - this.outage.lastLogMs >= STILL_FAILING_LOG_EVERY_MS) {
      this.outage.lastLogMs = now;
      this.log.warn(
        { event: 'kafka_send_still_failing', failingForMs: now - this.outage.since, ...fields },
        'still cannot deliver events to Kafka',
      );
    } else {
      this.log.debug({ event: 'kafka_send_retry', ...fields });
    }
  }

  private recovered(): void {
    this.healthy = true;
    if (!this.outage) return;
    this.log.info(
      {
        event: 'kafka_send_recovered',
        failedForMs: Date.now() - this.outage.since,
        attempts: this.outage.attempts,
        pending: this.pending,
      },
      'events flow to Kafka again',
    );
    this.outage = undefined;
  }

  private backoff(attempt: number): number {
    const ceiling = Math.min(this.retryMaxMs, this.retryInitialMs * 2 ** (attempt - 1));
    // Jitter keeps many site agents from returning to a restarted broker in lockstep.
    return Math.round(ceiling * (0.5 + Math.random() / 2));
  }

  private notifyDrained(): void {
    for (const done of [...this.drainWaiters]) done();
  }

  /** A wait that stop() cuts short. One waker at a time: the loop only ever waits on one thing. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolveSleep) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeUp = undefined;
        resolveSleep();
      };
      const timer = setTimeout(done, ms);
      this.wakeUp = done;
    });
  }

  private waitForAppend(): Promise<void> {
    return new Promise((resolveWait) => {
      const done = () => {
        this.wakeUp = undefined;
        resolveWait();
      };
      this.wakeUp = done;
      void this.deps.outbox.whenAppended().then(done);
    });
  }
}

/** Kafka messages of a batch, grouped by topic; within a topic in outbox order. */
function toTopicMessages(batch: OutboxBatch): { topic: string; messages: Message[] }[] {
  const byTopic = new Map<string, Message[]>();
  for (const r of batch.records) {
    let messages = byTopic.get(r.topic);
    if (!messages) byTopic.set(r.topic, (messages = []));
    // The append time, not the send time: after an outage Kafka still shows when it happened.
    messages.push({
      key: r.key,
      value: r.value,
      headers: r.headers,
      timestamp: String(r.timestamp),
    });
  }
  return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
}

/**
 * What a failed send means. kafkajs wraps errors (retries exhausted, non-retriable) around the
 * broker's, so the whole cause chain is looked at.
 */
function classify(err: unknown): Verdict {
  const chain: { name?: string; type?: string; retriable?: boolean }[] = [];
  for (let e: unknown = err; e && typeof e === 'object' && chain.length < 8;) {
    chain.push(e as (typeof chain)[number]);
    const cause = (e as { cause?: unknown }).cause;
    e = cause === e ? undefined : cause;
  }
  if (chain.some((e) => e.type && producerStateErrors.has(e.type))) return 'producer-state';
  if (chain.some((e) => e.type && recordErrors.has(e.type))) return 'records';
  const top = chain[0];
  if (top?.name === 'KafkaJSNumberOfRetriesExceeded' || top?.retriable !== false) {
    return 'transient';
  }
  return 'refused';
}
