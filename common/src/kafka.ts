import { hostname } from 'node:os';
import {
  Kafka,
  logLevel,
  type Admin,
  type Consumer,
  type KafkaConfig,
  type LogEntry,
} from 'kafkajs';
import type { Logger } from 'pino';
import { errorMessage } from './errors.js';
import type { KafkaCredentials } from './kafka-auth.js';

export interface KafkaClientOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  /** Who this client is: SCRAM-SHA-512 over TLS, the only way the brokers let anyone in. */
  readonly credentials: KafkaCredentials;
  readonly log: Logger;
  /** How long to keep retrying a failed request before giving up (kafkajs's own retry). */
  readonly retry?: KafkaConfig['retry'];
}

/**
 * A kafkajs client that logs in as `credentials` over TLS (the broker's certificate must come
 * from the federation CA and name the address dialled), its log lines going to the process's
 * structured logger.
 */
export function createKafka(opts: KafkaClientOptions): Kafka {
  const log = opts.log.child({ component: 'kafkajs' });
  const { username, password, ca } = opts.credentials;
  return new Kafka({
    clientId: opts.clientId,
    brokers: [...opts.brokers],
    ssl: { ca: [ca] },
    sasl: { mechanism: 'scram-sha-512', username, password },
    connectionTimeout: 3_000,
    requestTimeout: 10_000,
    retry: opts.retry ?? { retries: 8, initialRetryTime: 100, maxRetryTime: 3_000 },
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, log: entry }: LogEntry) => {
        const { message, ...fields } = entry;
        const event = { event: 'kafkajs', ...fields };
        if (level === logLevel.ERROR) log.error(event, message);
        else if (level === logLevel.WARN) log.warn(event, message);
        else log.debug(event, message);
      },
  });
}

export interface TopicSpec {
  readonly topic: string;
  readonly partitions: number;
  /** Keep only the latest message per key (cleanup.policy=compact): for state, not events. */
  readonly compacted?: boolean;
  /** Copies of each partition; the brokers' default.replication.factor when omitted. */
  readonly replicationFactor?: number;
  /** Copies a write needs before acks=all acknowledges it; the brokers' default when omitted. */
  readonly minInsyncReplicas?: number;
}

/** Creates the topics that do not exist yet; existing ones are left as they are. */
export async function ensureTopics(kafka: Kafka, topics: readonly TopicSpec[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t.topic));
    if (missing.length === 0) return;
    await admin.createTopics({
      // Waited for below: kafkajs's own wait gives up when a broker of a cluster has not yet
      // heard of the new topic (UNKNOWN_TOPIC_OR_PARTITION), which is a moment's lag, not an error.
      waitForLeaders: false,
      topics: missing.map((t) => ({
        topic: t.topic,
        numPartitions: t.partitions,
        ...(t.replicationFactor !== undefined && { replicationFactor: t.replicationFactor }),
        configEntries: [
          ...(t.compacted ? [{ name: 'cleanup.policy', value: 'compact' }] : []),
          ...(t.minInsyncReplicas !== undefined
            ? [{ name: 'min.insync.replicas', value: String(t.minInsyncReplicas) }]
            : []),
        ],
      })),
    });
    await waitForLeaders(
      admin,
      missing.map((t) => t.topic),
    );
  } finally {
    await admin.disconnect();
  }
}

/** Polls the metadata until every partition of `topics` has a leader; fails after 30 s naming them. */
async function waitForLeaders(admin: Admin, topics: readonly string[]): Promise<void> {
  const deadline = Date.now() + 30_000;
  let last: unknown;
  for (;;) {
    try {
      const { topics: described } = await admin.fetchTopicMetadata({ topics: [...topics] });
      if (
        described.length === topics.length &&
        described.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))
      )
        return;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(
        `Kafka topics ${topics.join(', ')} were created but have no leader after 30 s${last ? `: ${errorMessage(last)}` : ''}`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** How many partitions `topic` has, as the brokers' metadata says. */
export async function partitionCount(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    return topics[0]?.partitions.length ?? 0;
  } finally {
    await admin.disconnect();
  }
}

/**
 * Fails, naming them, when any of `topics` does not exist or this client's user may not see it.
 * Processes do not create topics (the admin does: the local federation's start, the tests,
 * Pulumi), so a process started before its topics, or without the ACLs for them, stops here with
 * that said instead of failing later in a consumer.
 */
export async function requireTopics(kafka: Kafka, topics: readonly string[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    // The brokers list only the topics this user may describe.
    const visible = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !visible.has(t));
    if (missing.length > 0)
      throw new Error(
        `Kafka topics ${missing.join(', ')} do not exist or this process's Kafka user may not use them: the admin creates the topics and grants each user its ACLs (docs/security.md, "Kafka")`,
      );
  } finally {
    await admin.disconnect();
  }
}

/**
 * Whether consumer group `groupId` has committed every message of `topics`, i.e. it has no lag.
 * A partition no message ever went to has nothing to commit.
 */
export async function groupCaughtUp(
  kafka: Kafka,
  groupId: string,
  topics: readonly string[],
): Promise<boolean> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const committed = await admin.fetchOffsets({ groupId, topics: [...topics] });
    for (const topic of topics) {
      const mine = committed.find((c) => c.topic === topic)?.partitions ?? [];
      for (const end of await admin.fetchTopicOffsets(topic)) {
        const c = mine.find((p) => p.partition === end.partition);
        if (Number(end.high) > 0 && Number(c?.offset ?? -1) < Number(end.high)) return false;
      }
    }
    return true;
  } finally {
    await admin.disconnect();
  }
}

/**
 * A consumer group only this process uses, `<prefix>-<host>-<pid>`: every replica reads every
 * message (live state, not work to share out).
 */
export function processGroupId(prefix: string): string {
  return `${prefix}-${hostname().replace(/[^A-Za-z0-9._-]/g, '-')}-${process.pid}`;
}

/**
 * A consumer for a process's own group that follows live state: polls answer within 100 ms, and
 * a short session so that a process that died leaves no partitions unread for long (its group
 * is gone with it anyway). Never creates a topic by subscribing to it.
 */
export function followerConsumer(kafka: Kafka, groupId: string): Consumer {
  return kafka.consumer({
    groupId,
    allowAutoTopicCreation: false,
    maxWaitTimeInMs: 100,
    sessionTimeout: 10_000,
    heartbeatInterval: 1_000,
  });
}

/**
 * Follows `topics` from their end in a followerConsumer of its own group, handing each message to
 * `onMessage` (partitions read side by side, offsets never committed: the state is rebuilt from
 * what follows); resolves with the consumer once the group has given it partitions.
 */
export async function followTopics(opts: {
  readonly kafka: Kafka;
  readonly groupId: string;
  readonly topics: readonly string[];
  readonly partitionsConsumedConcurrently?: number;
  readonly onMessage: (message: {
    topic: string;
    partition: number;
    offset: string;
    value: Buffer | null;
  }) => void;
}): Promise<Consumer> {
  const consumer = followerConsumer(opts.kafka, opts.groupId);
  const joined = new Promise<void>((resolve) => {
    const off = consumer.on(consumer.events.GROUP_JOIN, () => {
      off();
      resolve();
    });
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [...opts.topics], fromBeginning: false });
  await consumer.run({
    autoCommit: false,
    ...(opts.partitionsConsumedConcurrently && {
      partitionsConsumedConcurrently: opts.partitionsConsumedConcurrently,
    }),
    eachMessage: async ({ topic, partition, message }) =>
      opts.onMessage({ topic, partition, offset: message.offset, value: message.value }),
  });
  await joined;
  return consumer;
}

export interface CompactedTopicFollowerOptions {
  readonly kafka: Kafka;
  /** A one-partition compacted topic holding state (e.g. the routing policy). */
  readonly topic: string;
  /** A group only this process uses: every process reads every message. */
  readonly groupId: string;
  readonly log: Logger;
  /** Called with each message, in order, from the oldest the topic still holds. */
  readonly onMessage: (value: Buffer | null, offset: string, key: Buffer | null) => void;
}

/**
 * Follows a compacted state topic from its beginning until stopped. `caughtUp` resolves once
 * every message that was on the topic at start has been handed to onMessage (at once when the
 * topic is empty), so a process can start serving with the latest state rather than its default.
 * Offsets are never committed: each start reads the topic again, which compaction keeps short.
 */
export async function followCompactedTopic(opts: CompactedTopicFollowerOptions): Promise<{
  readonly caughtUp: Promise<void>;
  stop(): Promise<void>;
}> {
  const { kafka, topic, groupId, log, onMessage } = opts;
  const admin = kafka.admin();
  await admin.connect();
  let ends: Map<number, bigint>;
  try {
    // Asked first so that reading offsets never makes a broker that auto-creates topics create
    // this one with its defaults (uncompacted): whoever creates it must say compacted.
    if (!(await admin.listTopics()).includes(topic))
      throw new Error(`topic ${topic} does not exist yet`);
    ends = new Map(
      (await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, BigInt(p.high)]),
    );
  } finally {
    await admin.disconnect();
  }
  // Partitions still behind the end they had at start.
  const behind = new Set([...ends].filter(([, high]) => high > 0n).map(([p]) => p));
  let markCaughtUp!: () => void;
  const caughtUp = new Promise<void>((resolve) => (markCaughtUp = resolve));
  if (behind.size === 0) markCaughtUp();

  const consumer = followerConsumer(kafka, groupId);
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      onMessage(message.value, message.offset, message.key);
      if (behind.has(partition) && BigInt(message.offset) + 1n >= ends.get(partition)!) {
        behind.delete(partition);
        if (behind.size === 0) markCaughtUp();
      }
    },
  });
  log.info({ event: 'state_topic_following', topic, groupId }, 'following a state topic');
  return { caughtUp, stop: () => consumer.disconnect() };
}
