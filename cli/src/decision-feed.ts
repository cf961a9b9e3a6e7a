// Reads RouteDecision events from Kafka for the CLI: from the first message at or after a time,
// either up to the end the topic had when we started (then stop) or on and on (follow).
//
// A fresh consumer group per run that never commits: an operator's tail must not move anyone's
// offsets. Start offsets come from the brokers' time index (offsets for a timestamp), so
// `--since 5m` does not read the whole topic.
import { randomBytes } from 'node:crypto';
import { KAFKA_GROUP_PREFIXES } from '@ccfed/common';
import { routing } from '@ccfed/proto';
import type { Kafka } from 'kafkajs';

export interface DecisionFeedOptions {
  readonly kafka: Kafka;
  readonly topic: string;
  /** Read messages whose Kafka timestamp is at or after this. */
  readonly sinceMs: number;
  /** Keep reading new decisions until `signal` aborts; otherwise stop at the current end. */
  readonly follow: boolean;
  readonly signal: AbortSignal;
  /** One decoded decision, in order within its partition, with the Kafka message time. */
  readonly onDecision: (decision: routing.RouteDecision, messageTime: Date) => void;
  /** A message that is not a RouteDecision: where it is and why. */
  readonly onUndecodable: (where: string, reason: string) => void;
  /** Progress for a person watching (to stderr). */
  readonly onProgress: (message: string) => void;
  /** Without follow: give up when no message came for this long. Default 30 s. */
  readonly stallTimeoutMs?: number;
}

/** Feeds every decision since `sinceMs` to onDecision; resolves with how many messages were read. */
export async function readDecisions(opts: DecisionFeedOptions): Promise<number> {
  const { kafka, topic } = opts;
  const admin = kafka.admin();
  await admin.connect();
  let starts: { partition: number; offset: string }[];
  let ends: Map<number, bigint>;
  try {
    const topics = await admin.listTopics();
    if (!topics.includes(topic)) {
      // The brokers list only the topics this Kafka user may see.
      throw new Error(
        `topic ${topic} does not exist or this Kafka user may not read it (is CCFED_TOPIC_PREFIX right?)`,
      );
    }
    starts = await admin.fetchTopicOffsetsByTimestamp(topic, opts.sinceMs);
    ends = new Map(
      (await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, BigInt(p.high)]),
    );
  } finally {
    await admin.disconnect();
  }

  // Partitions that still have messages to read before the end we stop at.
  const open = new Set(
    starts.filter((s) => BigInt(s.offset) < (ends.get(s.partition) ?? 0n)).map((s) => s.partition),
  );
  if (!opts.follow && open.size === 0) return 0;

  const consumer = kafka.consumer({
    // The operator's Kafka user may use only groups with this prefix.
    groupId: `${KAFKA_GROUP_PREFIXES.operator}${randomBytes(6).toString('hex')}`,
    allowAutoTopicCreation: false,
    // The first fetch may go out before the seeks below land; a short wait keeps it from holding
    // the run for kafkajs's default 5 s on partitions with nothing new.
    maxWaitTimeInMs: 500,
  });
  let read = 0;
  let lastProgressMs = Date.now();
  let done = false;
  let crashed: Error | undefined;
  try {
    // kafkajs restarts the consumer after retriable errors by itself; anything else ends the run.
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart) crashed = payload.error;
    });
    // Said once the group has its partitions: from then on a new decision is printed at once.
    consumer.on(consumer.events.GROUP_JOIN, () => {
      if (opts.follow) opts.onProgress(`waiting for decisions on ${topic}… (Ctrl-C to stop)`);
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: false });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        lastProgressMs = Date.now();
        const end = ends.get(partition) ?? 0n;
        // Without follow the run ends where the topic ended when it began.
        if (!opts.follow && BigInt(message.offset) >= end) return;
        read += 1;
        const time = new Date(Number(message.timestamp));
        let decision: routing.RouteDecision | undefined;
        try {
          decision = routing.RouteDecision.decode(message.value ?? Buffer.alloc(0));
        } catch (err) {
          opts.onUndecodable(
            `partition ${partition} offset ${message.offset}`,
            (err as Error).message,
          );
        }
        if (decision) opts.onDecision(decision, time);
        if (!opts.follow && BigInt(message.offset) + 1n >= end) {
          open.delete(partition);
          if (open.size === 0) done = true;
        }
      },
    });
    for (const s of starts) consumer.seek({ topic, partition: s.partition, offset: s.offset });

    // Polled: a CLI can afford a fifth of a second, and one loop covers done, Ctrl-C and a stall.
    const stallMs = opts.stallTimeoutMs ?? 30_000;
    while (!done && !opts.signal.aborted) {
      await new Promise((r) => setTimeout(r, 200));
      if (crashed) throw crashed;
      if (!opts.follow && Date.now() - lastProgressMs > stallMs) {
        throw new Error(`no message from ${topic} for ${stallMs / 1000} s; stopped`);
      }
    }
  } finally {
    await consumer.disconnect();
  }
  return read;
}
