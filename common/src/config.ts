import { z } from 'zod';

/** Configuration that cannot be used; names each variable and what was expected. */
export class ConfigError extends Error {
  constructor(source: string, problems: readonly string[]) {
    super(`invalid configuration from ${source}:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Parses a process's configuration once, at start-up, from environment variables. The schema's
 * keys are the variable names; the result is frozen.
 */
export function parseEnvConfig<S extends z.ZodType>(
  schema: S,
  env: NodeJS.ProcessEnv = process.env,
): Readonly<z.output<S>> {
  const result = schema.safeParse(env);
  if (!result.success) {
    throw new ConfigError(
      'the environment',
      result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`),
    );
  }
  return Object.freeze(result.data);
}

/** CCFED_KAFKA_BROKERS: a comma-separated host:port list, parsed to an array. */
export const kafkaBrokersSchema = z
  .string({ error: 'required: comma-separated host:port list of Kafka brokers' })
  .transform((s) =>
    s
      .split(',')
      .map((b) => b.trim())
      .filter(Boolean),
  )
  .refine(
    (list) => list.length > 0 && list.every((b) => /^[\w.-]+:\d+$/.test(b)),
    'expected host:port[,host:port...]',
  );

/**
 * CCFED_CLICKHOUSE_*: where a process reads or writes analytics, and the ClickHouse user it logs in
 * as. Every process has its own user with only the rights it needs (docs/security.md, ClickHouse);
 * there is no anonymous access, so the user and a non-empty password are required. They are given
 * apart from the URL, which is logged and printed, never inside it.
 */
export const clickhouseEnvSchema = {
  CCFED_CLICKHOUSE_URL: z
    .url({ error: 'required: ClickHouse HTTP URL, e.g. http://127.0.0.1:8123' })
    .refine(
      // Runs on text the url check refused too; that check reports it.
      (u) => !URL.canParse(u) || (new URL(u).username === '' && new URL(u).password === ''),
      'must not carry a user or password: give them in CCFED_CLICKHOUSE_USER and CCFED_CLICKHOUSE_PASSWORD',
    ),
  CCFED_CLICKHOUSE_DATABASE: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected a database name')
    .default('ccfed'),
  CCFED_CLICKHOUSE_USER: z
    .string({ error: 'required: the ClickHouse user this process logs in as' })
    .regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/, 'expected a ClickHouse user name'),
  CCFED_CLICKHOUSE_PASSWORD: z
    .string({ error: 'required: the password of CCFED_CLICKHOUSE_USER' })
    .min(1, 'must not be empty: every ClickHouse user has a password'),
};

/**
 * CCFED_CLICKHOUSE_SHARDS: a ClickHouse cluster's members as `url,url;url,url` — shards separated
 * by `;` in the order of the cluster's remote_servers, each shard's replicas by `,`. The process
 * logs in to every member as CCFED_CLICKHOUSE_USER (a cluster's members share their users). Unset,
 * the process uses the one server of CCFED_CLICKHOUSE_URL (docs/clickhouse-cluster.md).
 */
export const clickhouseShardsSchema = z
  .string()
  .optional()
  .transform((text, ctx) => {
    if (text === undefined || text.trim() === '') return undefined;
    const shards = text.split(';').map((shard) => shard.split(',').map((u) => u.trim()));
    for (const url of shards.flat()) {
      if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) {
        ctx.addIssue({ code: 'custom', message: `${JSON.stringify(url)} is not an http(s) URL` });
        return z.NEVER;
      }
      if (new URL(url).username !== '' || new URL(url).password !== '') {
        ctx.addIssue({ code: 'custom', message: 'must not carry a user or password' });
        return z.NEVER;
      }
    }
    if (new Set(shards.flat()).size !== shards.flat().length) {
      ctx.addIssue({ code: 'custom', message: 'a member is listed twice' });
      return z.NEVER;
    }
    return shards;
  });

/** What clickhouseEnvSchema parses to. */
export interface ClickHouseEnv {
  readonly CCFED_CLICKHOUSE_URL: string;
  readonly CCFED_CLICKHOUSE_DATABASE: string;
  readonly CCFED_CLICKHOUSE_USER: string;
  readonly CCFED_CLICKHOUSE_PASSWORD: string;
}

/** The options of @clickhouse/client's createClient for a process's ClickHouse env. */
export function clickhouseClientOptions(config: ClickHouseEnv): {
  url: string;
  database: string;
  username: string;
  password: string;
} {
  return {
    url: config.CCFED_CLICKHOUSE_URL,
    database: config.CCFED_CLICKHOUSE_DATABASE,
    username: config.CCFED_CLICKHOUSE_USER,
    password: config.CCFED_CLICKHOUSE_PASSWORD,
  };
}
