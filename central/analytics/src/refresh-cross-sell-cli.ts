// Mines every tenant's cross-sell rules from the current holdings and stores them as a new
// refresh (refreshCrossSellRulesQuery), then exits. The next best offer reads the newest refresh,
// so this runs on a schedule: a CronJob in the deployment (deploy/src/central-hub.ts), every ten
// minutes in the local federation (scripts/federation.ts).
//
//   CCFED_CLICKHOUSE_URL=http://clickhouse:8123 CCFED_CLICKHOUSE_DATABASE=ccfed \
//   CCFED_CLICKHOUSE_USER=ccfed_analytics CCFED_CLICKHOUSE_PASSWORD=... \
//     node --import tsx central/analytics/src/refresh-cross-sell-cli.ts
import { createClient } from '@clickhouse/client';
import {
  clickhouseClientOptions,
  clickhouseEnvSchema,
  createLogger,
  parseEnvConfig,
  startProcess,
} from '@ccfed/common';
import { z } from 'zod';
import { refreshCrossSellRulesQuery } from './cross-sell.js';

const configSchema = z.object({
  ...clickhouseEnvSchema,
});

await startProcess('refresh-cross-sell', async () => {
  const log = createLogger('refresh-cross-sell');
  const config = parseEnvConfig(configSchema);
  const client = createClient(clickhouseClientOptions(config));
  try {
    const computedAt = new Date(Math.floor(Date.now() / 1000) * 1000);
    const started = Date.now();
    await client.command({ query: refreshCrossSellRulesQuery({ computedAt }).text });
    const rs = await client.query({
      query:
        'SELECT uniqExact(tenant_id) AS tenants, count() AS rules FROM cross_sell_rules FINAL WHERE computed_at = (SELECT max(computed_at) FROM cross_sell_rules)',
      format: 'JSONEachRow',
    });
    const [counts] = await rs.json<{ tenants: string; rules: string }>();
    log.info(
      {
        event: 'cross_sell_rules_refreshed',
        computedAt: computedAt.toISOString(),
        tenants: Number(counts?.tenants ?? 0),
        rules: Number(counts?.rules ?? 0),
        ms: Date.now() - started,
      },
      'cross-sell rules refreshed',
    );
  } finally {
    await client.close();
  }
});
