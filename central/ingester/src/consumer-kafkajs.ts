// The kafkajs adapter: kafkajs hands over one partition's batch at a time and runs several
// partitions at once, and fetches again only once every batch of its last fetch is handed over.
// A batch the ingester takes is resolved at once, so the next fetch goes on past it while
// ClickHouse stores it; it is committed later, explicitly. Rewinding is kafkajs's seek, which
// without auto-commit only moves the fetch position.
import type { Consumer, EachBatchPayload, IHeaders, Kafka } from 'kafkajs';
import type {
  BatchConsumer,
  BatchHandlers,
  ConsumedMessage,
  ConsumerFactory,
  ConsumerSpec,
} from './consumer.js';

export function kafkajsConsumer(kafka: Kafka): ConsumerFactory {
  return (spec) => new KafkajsBatchConsumer(kafka, spec);
}

function headerMap(headers: IHeaders | undefined): ReadonlyMap<string, Buffer> {
  const map = new Map<string, Buffer>();
  for (const [name, value] of Object.entries(headers ?? {})) {
    const first = Array.isArray(value) ? value[0] : value;
    if (first !== undefined) map.set(name, Buffer.from(first));
  }
  return map;
}

class KafkajsBatchConsumer implements BatchConsumer {
  private readonly consumer: Consumer;
  private handingOver = 0;
  private readonly handedOver: (() => void)[] = [];

  constructor(
    kafka: Kafka,
    private readonly spec: ConsumerSpec,
  ) {
    this.consumer = kafka.consumer({
      groupId: spec.groupId,
      allowAutoTopicCreation: false,
      maxBytesPerPartition: spec.maxBytesPerPartition,
      maxWaitTimeInMs: spec.maxWaitMs,
      sessionTimeout: spec.sessionTimeoutMs,
      // kafkajs's 3 s, or a third of a shorter session (Kafka's rule for heartbeats).
      heartbeatInterval: Math.min(3_000, Math.floor(spec.sessionTimeoutMs / 3)),
    });
  }

  async run(handlers: BatchHandlers): Promise<void> {
    // Before rejoining (so that nothing taken under the old assignment is sent after it), and on
    // every join, the first included.
    this.consumer.on(this.consumer.events.REBALANCING, () => handlers.onRebalance());
    this.consumer.on(this.consumer.events.GROUP_JOIN, () => handlers.onRebalance());
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [...this.spec.topics], fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.spec.concurrency,
      eachBatch: (payload) => this.handOver(payload, handlers),
    });
  }

  private async handOver(payload: EachBatchPayload, handlers: BatchHandlers): Promise<void> {
    this.handingOver++;
    try {
      await this.handOverBatch(payload, handlers);
    } finally {
      this.handingOver--;
      if (this.handingOver === 0) for (const wake of this.handedOver.splice(0)) wake();
    }
  }

  private async handOverBatch(payload: EachBatchPayload, handlers: BatchHandlers): Promise<void> {
    const { batch, resolveOffset, heartbeat, isRunning, isStale } = payload;
    if (batch.messages.length === 0 || !isRunning() || isStale()) return;
    const { topic, partition } = batch;
    const messages: ConsumedMessage[] = batch.messages.map((m) => ({
      offset: BigInt(m.offset),
      key: m.key,
      value: m.value,
      headers: () => headerMap(m.headers),
    }));
    // lastOffset() covers control records and compacted gaps after the last message too.
    const last = batch.lastOffset();
    const taken = await handlers.onBatch({
      topic,
      partition,
      messages,
      highWatermark: BigInt(batch.highWatermark),
      isCurrent: () => isRunning() && !isStale(),
      commit: async () => {
        await this.consumer.commitOffsets([
          { topic, partition, offset: (BigInt(last) + 1n).toString() },
        ]);
      },
      rewind: () => {
        try {
          this.consumer.seek({ topic, partition, offset: batch.firstOffset()! });
        } catch {
          // Not running: it starts again from the committed offset, which is before this batch.
        }
      },
    });
    // Not taken, the fetch position stays, and the next fetch brings the batch again.
    if (taken) resolveOffset(last);
    // kafkajs sends heartbeats only from its fetch loop; a rebalance surfaces here as a throw,
    // and kafkajs rejoins the group as soon as it returns: first, nothing more is sent, and what
    // is under way lands and is committed while this member still holds its partitions.
    try {
      await heartbeat();
    } catch (err) {
      handlers.onRebalance();
      await handlers.settled();
      throw err;
    }
  }

  /** Pauses every topic (still a member of the group) and waits out the hand-overs under way. */
  async stop(): Promise<void> {
    this.consumer.pause(this.spec.topics.map((topic) => ({ topic })));
    while (this.handingOver > 0) await new Promise<void>((r) => this.handedOver.push(r));
  }

  /** Leaves the group (kafkajs stops its fetch loop first) and closes the connections. */
  async close(): Promise<void> {
    await this.consumer.disconnect();
  }
}
