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
   * 2026-11-23, three runs each): kafkajs median 43,267 events/s (runs 43,267 / 33,660 / 47,693),
   * freshness p99 2.5 s at 20,000/s (runs 2.5 / 3.0 / 2.0 s); @platformatic/kafka 31,139 events/s
   * (32,360 / 29,949 / 31,139) with freshness p99 2.6 s at ~15,600/s and ~60 % more ingester CPU
   * per event. kafkajs stays the default.
   */
  CCFED_KAFKA_CLIENT: z.enum(KAFKA_CLIENTS).default('kafkajs'),
  /**
   * Fault injection for tests only: the process dies (exit 137, like SIGKILL) right after its
   * Nth INSERT, before committing that batch's offsets: the worst moment to crash.
   */
  CCFED_FAILPOINT_EXIT_AFTER_INSERTS: z.coerce.number().int().positive().optional(),
});

export type IngesterConfig = z.output<typeof ingesterConfigSchema>;
