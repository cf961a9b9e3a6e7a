// What the ingester needs from a Kafka consumer, whichever client library reads the topics:
// batches of one partition's messages in offset order, handed over as soon as they are fetched;
// an explicit commit the ingester calls once a batch is safe in ClickHouse; a way back to a
// batch that could not be stored; and a graceful stop. The exactly-once logic (ledger, dead
// letters first, commit after the INSERT, in order per partition) lives once, in ingester.ts and
// partition-lane.ts; an adapter only moves bytes.

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
  /**
   * Commits the whole batch (the offset after its last message); only once it is stored, and
   * after the partition's earlier batches.
   */
  commit(): Promise<void>;
  /**
   * The batch could not be stored: consume its partition again from its first message. Batches
   * of the partition fetched before that are handed over stale (isCurrent false) or not at all.
   */
  rewind(): void;
}

export interface BatchHandlers {
  /**
   * Takes one batch. Resolves true once the batch is taken: the consumer fetches on past it,
   * while the ingester stores and commits it (or rewinds to it). Resolves false if the batch was
   * not taken: it must be delivered again. A throw is the same, after the client's retry pause.
   */
  onBatch(batch: ConsumedBatch): Promise<boolean>;
  /**
   * Called when the group's assignment changes: batches taken and not yet sent to ClickHouse
   * must be dropped, since another member may take their partitions.
   */
  onRebalance(): void;
  /** Resolves once every batch taken has been stored and committed, or dropped. */
  settled(): Promise<void>;
}

export interface BatchConsumer {
  /** Joins the group and starts handing over batches; resolves once consuming has started. */
  run(handlers: BatchHandlers): Promise<void>;
  /**
   * Stops fetching and handing over batches, still a member of the group (so batches taken can
   * still be committed); resolves once no hand-over is under way.
   */
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
  /**
   * How long the group waits for a silent member before giving its partitions to the others:
   * how long a crashed ingester's partitions go unread.
   */
  readonly sessionTimeoutMs: number;
}

export type ConsumerFactory = (spec: ConsumerSpec) => BatchConsumer;
