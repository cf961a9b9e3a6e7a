// Applies the ClickHouse migrations that a database has not had yet, then exits: what the
// deployment's migration Job runs before the ingester and API start.
//
//   CCFED_CLICKHOUSE_URL=http://clickhouse:8123 CCFED_CLICKHOUSE_DATABASE=ccfed \
//   CCFED_CLICKHOUSE_USER=ccfed_admin CCFED_CLICKHOUSE_PASSWORD=... \
//     node --import tsx services/src/clickhouse/migrate-cli.ts
//
// On a cluster, CCFED_CLICKHOUSE_SHARDS lists every member (`url,url;url,url`) and
// CCFED_CLICKHOUSE_CLUSTER names it in remote_servers: each member gets the cluster form of the
// migrations (cluster-migrate.ts, docs/clickhouse-cluster.md).
import {
  clickhouseEnvSchema,
  clickhouseShardsSchema,
  createLogger,
  parseEnvConfig,
  startProcess,
} from '@ccfed/common';
import { z } from 'zod';
import { migrateCluster } from './cluster-migrate.js';
import { migrate } from './migrate.js';

const configSchema = z.object({
  ...clickhouseEnvSchema,
  CCFED_CLICKHOUSE_SHARDS: clickhouseShardsSchema,
  CCFED_CLICKHOUSE_CLUSTER: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected a cluster name')
    .default('ccfed'),
});

await startProcess('migrate', async () => {
  const log = createLogger('migrate');
  const config = parseEnvConfig(configSchema);
  const login = {
    username: config.CCFED_CLICKHOUSE_USER,
    password: config.CCFED_CLICKHOUSE_PASSWORD,
  };
  if (config.CCFED_CLICKHOUSE_SHARDS) {
    const members = config.CCFED_CLICKHOUSE_SHARDS.flatMap((replicas, i) =>
      replicas.map((url) => ({ shard: i + 1, target: { url, ...login } })),
    );
    const applied = await migrateCluster(members, {
      cluster: config.CCFED_CLICKHOUSE_CLUSTER,
      database: config.CCFED_CLICKHOUSE_DATABASE,
    });
    log.info(
      {
        event: 'migrations_applied',
        database: config.CCFED_CLICKHOUSE_DATABASE,
        cluster: config.CCFED_CLICKHOUSE_CLUSTER,
        applied: Object.fromEntries(members.map((m, i) => [m.target.url, applied[i]])),
      },
      `cluster ${config.CCFED_CLICKHOUSE_CLUSTER}: ${members.length} members migrated`,
    );
    return;
  }
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
