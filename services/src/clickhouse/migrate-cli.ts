// Applies the ClickHouse migrations that a database has not had yet, then exits: what the
// deployment's migration Job runs before the ingester and API start.
//
//   CCFED_CLICKHOUSE_URL=http://clickhouse:8123 CCFED_CLICKHOUSE_DATABASE=ccfed \
//     node --import tsx services/src/clickhouse/migrate-cli.ts
import { createLogger, parseEnvConfig, startProcess } from '@ccfed/common';
import { z } from 'zod';
import { migrate } from './migrate.js';

const configSchema = z.object({
  CCFED_CLICKHOUSE_URL: z.url({
    error: 'required: ClickHouse HTTP URL, e.g. http://127.0.0.1:8123',
  }),
  CCFED_CLICKHOUSE_DATABASE: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected a database name')
    .default('ccfed'),
});

await startProcess('migrate', async () => {
  const log = createLogger('migrate');
  const config = parseEnvConfig(configSchema);
  const applied = await migrate(config.CCFED_CLICKHOUSE_URL, config.CCFED_CLICKHOUSE_DATABASE);
  log.info(
    { event: 'migrations_applied', database: config.CCFED_CLICKHOUSE_DATABASE, applied },
    applied.length > 0 ? `applied migrations ${applied.join(', ')}` : 'schema already up to date',
  );
});
