// Applies the ClickHouse migrations that a database has not had yet, then exits: what the
// deployment's migration Job runs before the ingester and API start.
//
//   CCFED_CLICKHOUSE_URL=http://clickhouse:8123 CCFED_CLICKHOUSE_DATABASE=ccfed \
//   CCFED_CLICKHOUSE_USER=ccfed_admin CCFED_CLICKHOUSE_PASSWORD=... \
//     node --import tsx services/src/clickhouse/migrate-cli.ts
import { clickhouseEnvSchema, createLogger, parseEnvConfig, startProcess } from '@ccfed/common';
import { z } from 'zod';
import { migrate } from './migrate.js';

const configSchema = z.object({
  ...clickhouseEnvSchema,
});

await startProcess('migrate', async () => {
  const log = createLogger('migrate');
  const config = parseEnvConfig(configSchema);
  const applied = await migrate(
    {
      url: config.CCFED_CLICKHOUSE_URL,
      username: config.CCFED_CLICKHOUSE_USER,
      password: config.CCFED_CLICKHOUSE_PASSWORD,
    },
    config.CCFED_CLICKHOUSE_DATABASE,
  );
  log.info(
    { event: 'migrations_applied', database: config.CCFED_CLICKHOUSE_DATABASE, applied },
    applied.length > 0 ? `applied migrations ${applied.join(', ')}` : 'schema already up to date',
  );
});
