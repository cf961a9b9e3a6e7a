import { clickhouseEnvSchema, kafkaEnvSchema, tlsEnvSchema } from '@ccfed/common';
import { z } from 'zod';
import { DEFAULT_LOGIN_LIMITS } from './auth/login-throttle.js';
import { MIN_SECRET_BYTES } from './auth/token.js';
import { trustedProxies } from './http/client-address.js';
import { DEFAULT_TIMEOUTS } from './http/timeouts.js';

const milliseconds = (fallback: number) =>
  z.coerce
    .number({ error: 'expected a number of milliseconds' })
    .int('expected a whole number of milliseconds')
    .positive('expected a number of milliseconds > 0')
    .default(fallback);
const count = (fallback: number) =>
  z.coerce
    .number({ error: 'expected a whole number ≥ 1' })
    .int('expected a whole number ≥ 1')
    .min(1, 'expected a whole number ≥ 1')
    .default(fallback);

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
  /**
   * The API's certificate (spiffe://ccfed/service/api), for fetching recordings from the sites
   * over mutual TLS; with CCFED_TOPOLOGY, recordings play, else their audio answers 503.
   */
  CCFED_TLS_CERT: tlsEnvSchema.CCFED_TLS_CERT.optional(),
  CCFED_TLS_KEY: tlsEnvSchema.CCFED_TLS_KEY.optional(),
  CCFED_TOPIC_PREFIX: z.string().min(1).default('ccfed'),
  /** The topology file: agents' tenants and skills for the live wall, the topology page. */
  CCFED_TOPOLOGY: z.string().min(1).optional(),
  /**
   * Each site's secret for its browser agents' SIP credentials (JSON { "<site>": "<base64>" },
   * mode 0600): with CCFED_TOPOLOGY, agents get their softphone's credentials.
   */
  CCFED_SIP_SECRETS_FILE: z.string().min(1).optional(),
  /** The built console (npm run console:build); served at / when the directory exists. */
  CCFED_CONSOLE_DIR: z.string().min(1).optional(),
  /** The built desktop (npm run desktop:build); served at /desktop/ when the directory exists. */
  CCFED_DESKTOP_DIR: z.string().min(1).optional(),
  /**
   * Proxies (addresses or CIDRs, comma-separated) whose X-Forwarded-For names the client: the
   * Ingress in front of the API. Without it every client is its TCP peer.
   */
  CCFED_API_TRUSTED_PROXIES: z
    .string()
    .default('')
    .transform((s, ctx) => {
      const cidrs = s
        .split(',')
        .map((c) => c.trim())
        .filter(Boolean);
      try {
        trustedProxies(cidrs);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
      }
      return cidrs;
    }),
  /** Deadlines for receiving a request (http/timeouts.ts); the live stream stays open under them. */
  CCFED_API_HEADERS_TIMEOUT_MS: milliseconds(DEFAULT_TIMEOUTS.headersMs),
  CCFED_API_REQUEST_TIMEOUT_MS: milliseconds(DEFAULT_TIMEOUTS.requestMs),
  CCFED_API_KEEP_ALIVE_TIMEOUT_MS: milliseconds(DEFAULT_TIMEOUTS.keepAliveMs),
  CCFED_API_IDLE_TIMEOUT_MS: milliseconds(DEFAULT_TIMEOUTS.idleMs),
  /** Failed log-ins allowed per source address and per user name, one more every refill. */
  CCFED_API_LOGIN_FAILURES_PER_SOURCE: count(DEFAULT_LOGIN_LIMITS.perSource.burst),
  CCFED_API_LOGIN_FAILURES_PER_USER: count(DEFAULT_LOGIN_LIMITS.perUser.burst),
  CCFED_API_LOGIN_REFILL_SECONDS: count(DEFAULT_LOGIN_LIMITS.perSource.refillSeconds),
});

/** The API's environment, parsed once at start-up. */
export const apiConfigSchema = apiEnvironment.superRefine((env, ctx) => {
  if (env.CCFED_API_HEADERS_TIMEOUT_MS > env.CCFED_API_REQUEST_TIMEOUT_MS)
    ctx.addIssue({
      code: 'custom',
      path: ['CCFED_API_HEADERS_TIMEOUT_MS'],
      message: 'must not exceed CCFED_API_REQUEST_TIMEOUT_MS',
    });
  if ((env.CCFED_TLS_CERT === undefined) !== (env.CCFED_TLS_KEY === undefined))
    ctx.addIssue({
      code: 'custom',
      path: [env.CCFED_TLS_CERT === undefined ? 'CCFED_TLS_CERT' : 'CCFED_TLS_KEY'],
      message: 'CCFED_TLS_CERT and CCFED_TLS_KEY go together (with CCFED_TLS_CA)',
    });
  if (env.CCFED_TLS_CERT !== undefined && env.CCFED_TLS_CA === undefined)
    ctx.addIssue({
      code: 'custom',
      path: ['CCFED_TLS_CA'],
      message: "required with CCFED_TLS_CERT: the federation CA the sites' certificates come from",
    });
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
