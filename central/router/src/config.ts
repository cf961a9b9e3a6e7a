import { hostname } from 'node:os';
import { kafkaEnvSchema, tlsEnvSchema } from '@ccfed/common';
import { z } from 'zod';

/** The router's environment, parsed once at start-up. */
export const routerConfigSchema = z.object({
  CCFED_TOPOLOGY: z.string({ error: 'required: path of the federation topology file' }).min(1),
  /** Kafka and the router's credentials there (user router): CCFED_KAFKA_*, CCFED_TLS_CA. */
  ...kafkaEnvSchema,
  CCFED_TOPIC_PREFIX: z.string().default('ccfed'),
  CCFED_ROUTER_HOST: z
    .string()
    .regex(/^[A-Za-z0-9.:-]{1,253}$/, 'expected a host name, IPv4 or IPv6 address to bind')
    .default('127.0.0.1'),
  CCFED_ROUTER_PORT: z.coerce
    .number({ error: 'expected a port number' })
    .int('expected a whole port number')
    .min(0, 'expected a port from 0 (any free port) to 65535')
    .max(65535, 'expected a port from 0 (any free port) to 65535')
    .default(50051),
  /**
   * This router's name in the decisions it publishes: the two routers of a pair each hold the
   * other's reservations and recognise their own decisions by it, so the two must differ.
   */
  CCFED_ROUTER_ID: z
    .string()
    .regex(
      /^[A-Za-z0-9._-]{1,64}$/,
      'expected 1 to 64 letters, digits, ".", "_" or "-" naming this router of the pair',
    )
    .default(() => `${hostname().slice(0, 50)}-${process.pid}`),
  /** The router's certificate (service:router) and the federation CA: gRPC is mutual TLS only. */
  ...tlsEnvSchema,
});

export type RouterConfig = z.output<typeof routerConfigSchema>;
