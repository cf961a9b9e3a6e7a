import { clickhouseEnvSchema, kafkaBrokersSchema } from '@ccfed/common';
import { z } from 'zod';
import { KAFKA_CLIENTS } from './consumer.js';

/** The ingester's environment, parsed once at start-up. */
export const ingesterConfigSchema = z.object({
  CCFED_KAFKA_BROKERS: kafkaBrokersSchema,
  CCFED_TOPIC_PREFIX: z.string().default('ccfed'),
  ...clickhouseEnvSchema,
  CCFED_CONSUMER_GROUP: z.string().min(1).default('ccfed-ingester'),
  /**
   * The library that consumes the topics. bench:ingest measured both (bench/results/ingest.json,
   * 2026-11-22, three runs each): kafkajs median 34,158 events/s (runs 41,433 / 34,158 / 29,955),
   * freshness p99 2.3 s at ~17,000/s (runs 2.4 / 2.3 / 1.6 s); @platformatic/kafka 31,955 events/s
   * (29,854 / 31,955 / 36,695) with freshness p99 6.8 s (5.0 / 6.8 / 6.9 s) and ~40 % more
   * ingester CPU per event. kafkajs stays the default.
   */
  CCFED_KAFKA_CLIENT: z.enum(KAFKA_CLIENTS).default('kafkajs'),
  /**
   * Fault injection for tests only: the process dies (exit 137, like SIGKILL) right after its
   * Nth INSERT, before committing that batch's offsets: the worst moment to crash.
   */
  CCFED_FAILPOINT_EXIT_AFTER_INSERTS: z.coerce.number().int().positive().optional(),
});

export type IngesterConfig = z.output<typeof ingesterConfigSchema>;
