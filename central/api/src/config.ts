import { clickhouseEnvSchema, kafkaEnvSchema } from '@ccfed/common';
import { z } from 'zod';
import { MIN_SECRET_BYTES } from './auth/token.js';

/** The API's variables one by one; apiConfigSchema adds the checks across them. */
const apiEnvironment = z.object({
  CCFED_API_HOST: z.string().min(1).default('127.0.0.1'),
  CCFED_API_PORT: z.coerce
    .number({ error: 'expected a port number' })
    .int()
    .min(0)
    .max(65535, 'expected a port number (0-65535)')
    .default(8080),
  CCFED_API_SECRET: z
    .string({ error: `required: the token signing secret, at least ${MIN_SECRET_BYTES} bytes` })
    .refine(
      (s) => Buffer.byteLength(s, 'utf8') >= MIN_SECRET_BYTES,
      `must be at least ${MIN_SECRET_BYTES} bytes (e.g. openssl rand -base64 48)`,
    ),
  CCFED_API_USERS: z.string({ error: 'required: path of the users file (YAML)' }).min(1),
  CCFED_API_TOKEN_TTL_SECONDS: z.coerce
    .number()
    .int()
    .positive()
    .default(8 * 3600),
  ...clickhouseEnvSchema,
  /**
   * Without brokers the live wall's stream answers 503; every other route works. With them, the
   * API's Kafka user (api) and the CA are required too (kafkaEnvSchema).
   */
  CCFED_KAFKA_BROKERS: kafkaEnvSchema.CCFED_KAFKA_BROKERS.optional(),
  CCFED_KAFKA_USERNAME: kafkaEnvSchema.CCFED_KAFKA_USERNAME.optional(),
  CCFED_KAFKA_PASSWORD: kafkaEnvSchema.CCFED_KAFKA_PASSWORD.optional(),
  CCFED_TLS_CA: kafkaEnvSchema.CCFED_TLS_CA.optional(),
  CCFED_TOPIC_PREFIX: z.string().min(1).default('ccfed'),
  /** The topology file: agents' tenants and skills for the live wall, the topology page. */
  CCFED_TOPOLOGY: z.string().min(1).optional(),
  /** The built console (npm run console:build); served at / when the directory exists. */
  CCFED_CONSOLE_DIR: z.string().min(1).optional(),
});

/** The API's environment, parsed once at start-up. */
export const apiConfigSchema = apiEnvironment.superRefine((env, ctx) => {
  if (env.CCFED_KAFKA_BROKERS === undefined) return;
  for (const name of ['CCFED_KAFKA_USERNAME', 'CCFED_KAFKA_PASSWORD', 'CCFED_TLS_CA'] as const)
    if (env[name] === undefined)
      ctx.addIssue({
        code: 'custom',
        path: [name],
        message: 'required with CCFED_KAFKA_BROKERS: Kafka takes only SCRAM users over TLS',
      });
});

export type ApiConfig = z.output<typeof apiConfigSchema>;
