import {
  clickhouseEnvSchema,
  clickhouseShardsSchema,
  KAFKA_GROUP_PREFIXES,
  kafkaEnvSchema,
} from '@ccfed/common';
import { z } from 'zod';
import { KAFKA_CLIENTS } from './consumer.js';

/** The ingester's environment, parsed once at start-up. */
export const ingesterConfigSchema = z.object({
  /** Kafka and the ingester's credentials there (user ingester): CCFED_KAFKA_*, CCFED_TLS_CA. */
  ...kafkaEnvSchema,
  CCFED_TOPIC_PREFIX: z.string().default('ccfed'),
  ...clickhouseEnvSchema,
  /**
   * A cluster's members, `url,url;url,url` (common/src/config.ts): each partition's rows go to the
   * replicated tables of its shard, with a quorum of every replica (shards.ts). Unset: the one
   * server of CCFED_CLICKHOUSE_URL, which then only names the cluster for logs.
   */
  CCFED_CLICKHOUSE_SHARDS: clickhouseShardsSchema,
  /** The ingester's ACLs cover only groups named `ccfed-ingester…` (services/src/kafka/acls.ts). */
  CCFED_CONSUMER_GROUP: z
    .string()
    .startsWith(
      KAFKA_GROUP_PREFIXES.ingester,
      `expected a group name starting with ${KAFKA_GROUP_PREFIXES.ingester}: the ingester's Kafka user may use only those`,
    )
    .default(KAFKA_GROUP_PREFIXES.ingester),
  /**
   * The library that consumes the topics. bench:ingest measured both (bench/results/ingest.json,
   * 2026-11-23 04:26, three runs each): kafkajs median 64,392 events/s (runs 62,694 / 64,392 /
   * 68,190), freshness p99 1.6 s at 20,000/s (runs 1.55 / 1.80 / 1.60 s); @platformatic/kafka
   * 57,520 events/s (56,411 / 57,520 / 59,709), p99 1.66 s (2.01 / 1.63 / 1.66 s), with ~35 % more
   * ingester CPU for the backlog. kafkajs stays the default.
   *
   * @platformatic/kafka is for measuring only: it has no hook before it rejoins the group, so when
   * partitions move between ingesters under traffic, batches it took may still be sent after the
   * new owner read what ClickHouse holds, and some events are counted twice (tests/ingester/
   * rebalance.test.ts: 76 of 6,000 calls in one run of two in CI, 2026-11-23). The ingester warns
   * at start when it runs with it.
   */
  CCFED_KAFKA_CLIENT: z.enum(KAFKA_CLIENTS).default('kafkajs'),
  /**
   * The consumer group's session timeout: a crashed ingester's partitions go to the others (or
   * to its restart) after this long. kafkajs's 30 s by default; the broker accepts 6 s to 300 s
   * (group.min/max.session.timeout.ms). Shorter moves partitions sooner after a crash and sooner
   * after a long pause of a live member (a GC or a stalled disk), which costs a rebalance.
   */
  CCFED_KAFKA_SESSION_TIMEOUT_MS: z.coerce.number().int().min(6_000).max(300_000).default(30_000),
  /**
   * Fault injection for tests only: the process dies (exit 137, like SIGKILL) right after its
   * Nth INSERT, before committing that batch's offsets: the worst moment to crash.
   */
  CCFED_FAILPOINT_EXIT_AFTER_INSERTS: z.coerce.number().int().positive().optional(),
});

export type IngesterConfig = z.output<typeof ingesterConfigSchema>;
