// What the ingester needs from a Kafka consumer, whichever client library reads the topics:
// batches of one partition's messages in offset order, an explicit commit the ingester calls once
// the batch is safe in ClickHouse, and a graceful stop. The exactly-once logic (ledger, dead
// letters first, commit after the INSERT) lives once, in ingester.ts; an adapter only moves bytes.

/** The Kafka client libraries the ingester can consume with (CCFED_KAFKA_CLIENT). */
export const KAFKA_CLIENTS = ['kafkajs', 'platformatic'] as const;
export type KafkaClientName = (typeof KAFKA_CLIENTS)[number];

export interface ConsumedMessage {
  readonly offset: bigint;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  /** Header values by name; read on demand, since the ingester rarely needs them. */
  headers(): ReadonlyMap<string, Buffer>;
}

/** Messages of one topic-partition, in offset order, none of them committed yet. */
export interface ConsumedBatch {
  readonly topic: string;
  readonly partition: number;
  readonly messages: readonly ConsumedMessage[];
  /** The partition's high watermark (the offset after its last message) when fetched, if known. */
  readonly highWatermark?: bigint;
  /** False once the consumer is stopping or lost the partition: the batch must not be stored. */
  isCurrent(): boolean;
  /** Commits the whole batch (the offset after its last message); only once it is stored. */
  commit(): Promise<void>;
}

export interface BatchHandlers {
  /** Handles one batch; a throw makes the consumer deliver the batch again (at-least-once). */
  onBatch(batch: ConsumedBatch): Promise<void>;
  /** Called when the group's assignment changes: other members may have stored batches. */
  onRebalance(): void;
}

export interface BatchConsumer {
  /** Joins the group and starts handing over batches; resolves once consuming has started. */
  run(handlers: BatchHandlers): Promise<void>;
  /** Stops taking batches; resolves when the batches in flight have finished. */
  stop(): Promise<void>;
  /** Leaves the group and closes the connections. */
  close(): Promise<void>;
}

/** What the ingester asks of a consumer; the adapter maps it onto its library's options. */
export interface ConsumerSpec {
  readonly groupId: string;
  readonly topics: readonly string[];
  /** Most bytes one partition hands over per fetch: bounds a batch, and so memory. */
  readonly maxBytesPerPartition: number;
  /** How long a fetch waits on the broker for data: the floor of freshness when idle. */
  readonly maxWaitMs: number;
  /** Partitions ingested at once. */
  readonly concurrency: number;
}

export type ConsumerFactory = (spec: ConsumerSpec) => BatchConsumer;
