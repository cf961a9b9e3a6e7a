import { randomBytes } from 'node:crypto';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { ensureTopics, type ClickHouseRole, type ClickHouseTarget } from '@ccfed/common';
import { topicCreations, topicNames, type TopicNames } from '@ccfed/proto';
import { clickhouseProcessEnv, migrate } from '@ccfed/services';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { inject } from 'vitest';
import { adminKafka, kafkaBrokers, READER_MAX_WAIT_MS } from './kafka.js';

export { kafkaBrokers };

/** A name no other test uses: each test gets its own topics and database. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
}

export function clickhouseUrl(): string {
  return inject('clickhouseUrl');
}

/**
 * The shared server as `role` logs in to it. Tests log in as the role of what they stand for: a
 * process under test as its own (clickhouseEnv), fixtures and checks as admin.
 */
export function clickhouseAs(role: ClickHouseRole): ClickHouseTarget {
  return { url: clickhouseUrl(), ...inject('clickhouseLogins')[role] };
}

/** A client of the shared server as `role`, bound to `database` when given. */
export function clickhouseClient(role: ClickHouseRole, database?: string): ClickHouseClient {
  return createClient({ ...clickhouseAs(role), ...(database !== undefined && { database }) });
}

/** The CCFED_CLICKHOUSE_* a process gets to use `database` as `role` (url: a proxy in between). */
export function clickhouseEnv(
  role: ClickHouseRole,
  database: string,
  url = clickhouseUrl(),
): Record<string, string> {
  return clickhouseProcessEnv({ ...clickhouseAs(role), url }, database);
}

/**
 * Fresh topics under a unique prefix, created on the shared broker by the admin, as the local
 * federation's start and Pulumi create them (processes do not). Users get their ACLs on them
 * with kafkaEnv() / kafkaAs() (tests/support/kafka.ts).
 */
export async function freshTopics(partitions = 3): Promise<{ prefix: string; topics: TopicNames }> {
  const prefix = uniqueName('t');
  const topics = topicNames(prefix);
  await ensureTopics(adminKafka('ccfed-test-setup'), topicCreations(topics, partitions));
  return { prefix, topics };
}

/**
 * A fresh, migrated database on the shared ClickHouse server, and an admin client bound to it
 * (for fixtures and checks; the process under test gets its own role's login).
 */
export async function freshDatabase(): Promise<{ database: string; client: ClickHouseClient }> {
  const database = uniqueName('db');
  await migrate(clickhouseAs('admin'), database);
  return { database, client: clickhouseClient('admin', database) };
}

/** Polls until `check` returns a value that is not undefined, or fails after timeoutMs. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Runs a query and returns its rows as objects. */
export async function rows<T>(client: ClickHouseClient, query: string): Promise<T[]> {
  const rs = await client.query({ query, format: 'JSONEachRow' });
  return rs.json<T>();
}

/**
 * Reads `topics` from the beginning with a fresh consumer group, as the admin, until `until`
 * holds for what was decoded so far (polled; fails after timeoutMs), and returns it all in
 * arrival order.
 */
export async function readTopics<T>(opts: {
  readonly topics: readonly string[];
  readonly decode: (value: Buffer, topic: string, message: KafkaMessage) => T;
  readonly until: (seen: readonly T[]) => boolean;
  /** The client to read with; the shared broker's admin by default. */
  readonly kafka?: Kafka;
  readonly timeoutMs?: number;
}): Promise<T[]> {
  const seen: T[] = [];
  const consumer = (opts.kafka ?? adminKafka('test-reader')).consumer({
    groupId: uniqueName('reader'),
    maxWaitTimeInMs: READER_MAX_WAIT_MS,
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [...opts.topics], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ topic, message }) =>
        void seen.push(opts.decode(message.value ?? Buffer.alloc(0), topic, message)),
    });
    await waitFor(
      `messages on ${opts.topics.join(', ')}`,
      async () => (opts.until(seen) ? true : undefined),
      opts.timeoutMs ?? 60_000,
    );
  } finally {
    await consumer.disconnect();
  }
  return seen;
}

/** Items grouped by key, each group in the items' order. */
export function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const group = groups.get(key(item));
    if (group) group.push(item);
    else groups.set(key(item), [item]);
  }
  return groups;
}
