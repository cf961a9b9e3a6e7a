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
   * The library that consumes the topics. bench:ingest measured both (bench/results/ingest.json):
   * a tie within 2 % (median 8,955 vs 8,849 events/s), so the longer-proven kafkajs stays default.
   */
  CCFED_KAFKA_CLIENT: z.enum(KAFKA_CLIENTS).default('kafkajs'),
  /** Consumer group members in this process (Ingester's `consumers`). */
  CCFED_INGESTER_CONSUMERS: z.coerce.number().int().min(1).max(16).default(1),
  /**
   * Fault injection for tests only: the process dies (exit 137, like SIGKILL) right after its
   * Nth INSERT, before committing that batch's offsets: the worst moment to crash.
   */
  CCFED_FAILPOINT_EXIT_AFTER_INSERTS: z.coerce.number().int().positive().optional(),
});

export type IngesterConfig = z.output<typeof ingesterConfigSchema>;
