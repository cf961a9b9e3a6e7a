// The kafkajs adapter: kafkajs already hands over one partition's batch at a time and runs
// several partitions at once; this only maps its payload onto ConsumedBatch.
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

  constructor(
    kafka: Kafka,
    private readonly spec: ConsumerSpec,
  ) {
    this.consumer = kafka.consumer({
      groupId: spec.groupId,
      allowAutoTopicCreation: false,
      maxBytesPerPartition: spec.maxBytesPerPartition,
      maxWaitTimeInMs: spec.maxWaitMs,
    });
  }

  async run(handlers: BatchHandlers): Promise<void> {
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
    const { batch, resolveOffset, heartbeat, isRunning, isStale } = payload;
    if (batch.messages.length === 0 || !isRunning() || isStale()) return;
    const messages: ConsumedMessage[] = batch.messages.map((m) => ({
      offset: BigInt(m.offset),
      key: m.key,
      value: m.value,
      headers: () => headerMap(m.headers),
    }));
    await handlers.onBatch({
      topic: batch.topic,
      partition: batch.partition,
      messages,
      highWatermark: BigInt(batch.highWatermark),
      isCurrent: () => isRunning() && !isStale(),
      commit: async () => {
        // lastOffset() covers control records and compacted gaps after the last message too.
        const last = batch.lastOffset();
        resolveOffset(last);
        await this.consumer.commitOffsets([
          {
            topic: batch.topic,
            partition: batch.partition,
            offset: (BigInt(last) + 1n).toString(),
          },
        ]);
        await heartbeat();
      },
    });
  }

  async stop(): Promise<void> {
    await this.consumer.stop();
  }

  async close(): Promise<void> {
    await this.consumer.disconnect();
  }
}
