// The @platformatic/kafka adapter. That client hands over a stream of single messages; this
// gathers what has arrived into one batch per partition, hands at most `concurrency` batches over
// at once (a partition's next batch only once the ingester has taken the previous one, so offsets
// stay in order), and keeps fetching meanwhile, pausing the stream when too much is waiting.
//
// A batch that could not be stored cannot simply be fetched again from a live stream (later
// messages of the same partition are already buffered), so rewinding drops the client and starts
// a fresh one from the committed offsets, as kafkajs restarts its consumer; the ingester's ledger
// skips whatever the failed attempt did store.
import {
  Consumer,
  MessagesStreamFallbackModes,
  MessagesStreamModes,
  type Message,
  type MessagesStream,
} from '@platformatic/kafka';
import { errorMessage, type KafkaCredentials } from '@ccfed/common';
import type { Logger } from 'pino';
import type {
  BatchConsumer,
  BatchHandlers,
  ConsumedBatch,
  ConsumerFactory,
  ConsumerSpec,
} from './consumer.js';

/** Messages waiting beyond this pause the stream until the batches in flight drain them. */
const MAX_WAITING_MESSAGES = 100_000;
const RESTART_BACKOFF_MS = 1_000;

export interface PlatformaticOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  /** SCRAM-SHA-512 over TLS, as every ccfed Kafka client (common/src/kafka-auth.ts). */
  readonly credentials: KafkaCredentials;
  readonly log: Logger;
}

export function platformaticConsumer(opts: PlatformaticOptions): ConsumerFactory {
  return (spec) => new PlatformaticBatchConsumer(opts, spec);
}

type Msg = Message<Buffer, Buffer, Buffer, Buffer>;

class PlatformaticBatchConsumer implements BatchConsumer {
  private client: Consumer<Buffer, Buffer, Buffer, Buffer> | undefined;
  private stream: MessagesStream<Buffer, Buffer, Buffer, Buffer> | undefined;
  private handlers: BatchHandlers | undefined;
  /** Messages arrived and not yet handed over, by topic-partition, in offset order. */
  private waiting = new Map<string, Msg[]>();
  private waitingCount = 0;
  /** Topic-partitions with a batch being handed over right now. */
  private readonly busy = new Set<string>();
  private inFlight = 0;
  private readonly idle: (() => void)[] = [];
  private stopping = false;
  /** Bumped when the client is replaced: what the old one delivered is ignored. */
  private incarnation = 0;
  private restarting = false;

  constructor(
    private readonly opts: PlatformaticOptions,
    private readonly spec: ConsumerSpec,
  ) {}

  async run(handlers: BatchHandlers): Promise<void> {
    this.handlers = handlers;
    await this.open();
  }

  private async open(): Promise<void> {
    const incarnation = ++this.incarnation;
    const client = new Consumer({
      clientId: this.opts.clientId,
      bootstrapBrokers: [...this.opts.brokers],
      tls: { ca: this.opts.credentials.ca },
      sasl: {
        mechanism: 'SCRAM-SHA-512',
        username: this.opts.credentials.username,
        password: this.opts.credentials.password,
      },
      groupId: this.spec.groupId,
      autocommit: false,
      maxBytesPerPartition: this.spec.maxBytesPerPartition,
      maxWaitTime: this.spec.maxWaitMs,
      // As the kafkajs adapter, so both clients ride out the same broker hiccups.
      sessionTimeout: this.spec.sessionTimeoutMs,
      heartbeatInterval: Math.min(3_000, Math.floor(this.spec.sessionTimeoutMs / 3)),
    });
    client.on('consumer:group:join', () => this.handlers!.onRebalance());
    this.client = client;
    const stream = await client.consume({
      topics: [...this.spec.topics],
      autocommit: false,
      mode: MessagesStreamModes.COMMITTED,
      fallbackMode: MessagesStreamFallbackModes.EARLIEST,
      maxBytesPerPartition: this.spec.maxBytesPerPartition,
      maxWaitTime: this.spec.maxWaitMs,
    });
    this.stream = stream;
    stream.on('data', (m: Msg) => {
      if (incarnation === this.incarnation) this.arrived(m);
    });
    stream.on('error', (err) => {
      if (incarnation === this.incarnation) this.restart(err);
    });
  }

  private arrived(m: Msg): void {
    const key = `${m.topic}\u0000${m.partition}`;
    const list = this.waiting.get(key);
    if (list) list.push(m);
    else this.waiting.set(key, [m]);
    this.waitingCount++;
    if (this.waitingCount >= MAX_WAITING_MESSAGES) this.stream?.pause();
    // Everything one fetch response brings is pushed in the same tick: batch it, then hand over.
    if (this.waitingCount === 1) setImmediate(() => this.handOver());
  }

  /** Starts a batch for every partition that has messages waiting and none in flight. */
  private handOver(): void {
    if (this.stopping || this.restarting) return;
    for (const [key, messages] of this.waiting) {
      if (this.inFlight >= this.spec.concurrency) return;
      if (this.busy.has(key)) continue;
      this.waiting.delete(key);
      this.waitingCount -= messages.length;
      if (this.waitingCount < MAX_WAITING_MESSAGES / 2 && this.stream?.isPaused())
        this.stream.resume();
      this.busy.add(key);
      this.inFlight++;
      const incarnation = this.incarnation;
      void this.handlers!.onBatch(this.batch(messages, incarnation))
        .then(
          (taken) => {
            // Not taken: the ingester is stopping, or the batch went stale; either way this
            // client's stream is done with.
            if (!taken && incarnation === this.incarnation && !this.stopping)
              this.restart(new Error('batch not taken'));
          },
          (err: unknown) => {
            if (incarnation === this.incarnation) this.restart(err);
          },
        )
        .finally(() => {
          this.busy.delete(key);
          this.inFlight--;
          if (this.inFlight === 0) for (const wake of this.idle.splice(0)) wake();
          this.handOver();
        });
    }
  }

  private batch(messages: Msg[], incarnation: number): ConsumedBatch {
    const first = messages[0]!;
    const last = messages.at(-1)!;
    const generation = first.metadata.consumer as { generationId?: number } | undefined;
    return {
      topic: first.topic,
      partition: first.partition,
      messages: messages.map((m) => ({
        offset: m.offset,
        key: m.key ?? null,
        value: m.value ?? null,
        headers: () => new Map([...m.headers].map(([k, v]) => [k.toString(), v])),
      })),
      // Fetched under the current group generation, by the current client, and not stopping.
      isCurrent: () =>
        !this.stopping &&
        incarnation === this.incarnation &&
        generation?.generationId === this.client?.generationId,
      commit: async () => {
        await last.commit();
      },
      rewind: () => {
        if (incarnation === this.incarnation) this.restart(new Error('rewind'));
      },
    };
  }

  /** After a batch that was not stored: a fresh client from the committed offsets, after a pause. */
  private restart(err: unknown): void {
    if (this.stopping || this.restarting) return;
    this.restarting = true;
    this.opts.log.error(
      { event: 'consumer_restart', err: errorMessage(err) },
      'batch failed: restarting the consumer from the committed offsets',
    );
    const old = this.client;
    const oldStream = this.stream;
    this.incarnation++;
    this.waiting = new Map();
    this.waitingCount = 0;
    void (async () => {
      await this.whenIdle();
      await oldStream?.close().catch(() => undefined);
      if (old) await new Promise<void>((r) => old.close(true, () => r()));
      await new Promise((r) => setTimeout(r, RESTART_BACKOFF_MS));
      this.restarting = false;
      if (this.stopping) return;
      await this.open().catch((e: unknown) => this.restart(e));
    })();
  }

  private whenIdle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((r) => this.idle.push(r));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.stream?.pause();
    await this.whenIdle();
  }

  async close(): Promise<void> {
    this.stopping = true;
    this.incarnation++;
    await this.stream?.close();
    await this.client?.close();
  }
}
