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

/** CCFED_CLICKHOUSE_URL and CCFED_CLICKHOUSE_DATABASE: where a process reads or writes analytics. */
export const clickhouseEnvSchema = {
  CCFED_CLICKHOUSE_URL: z.url({
    error: 'required: ClickHouse HTTP URL, e.g. http://127.0.0.1:8123',
  }),
  CCFED_CLICKHOUSE_DATABASE: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected a database name')
    .default('ccfed'),
};
