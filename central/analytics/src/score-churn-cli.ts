// Scores every customer not churned as of now with the churn model and stores it as a new complete
// run (churn-scoring.ts: runChurnScoring), removes the runs beyond the newest
// CCFED_CHURN_KEEP_RUNS, then exits. The call-back list reads the newest complete run, so this runs
// on a schedule: a CronJob in the deployment (deploy/src/central-hub.ts), every ten minutes in the
// local federation (scripts/federation.ts).
//
//   CCFED_CLICKHOUSE_URL=http://clickhouse:8123 CCFED_CLICKHOUSE_DATABASE=ccfed \
//   CCFED_CLICKHOUSE_USER=ccfed_analytics CCFED_CLICKHOUSE_PASSWORD=... \
//     node --import tsx central/analytics/src/score-churn-cli.ts
import { createClient } from '@clickhouse/client';
import {
  clickhouseClientOptions,
  clickhouseEnvSchema,
  createLogger,
  parseEnvConfig,
  startProcess,
  type Sql,
} from '@ccfed/common';
import { z } from 'zod';
import { DEFAULT_KEEP_RUNS, runChurnScoring } from './churn-scoring.js';

const configSchema = z.object({
  ...clickhouseEnvSchema,
  CCFED_CHURN_KEEP_RUNS: z.coerce
    .number({ error: 'expected a whole number of runs ≥ 1' })
    .int('expected a whole number of runs ≥ 1')
    .min(1, 'expected a whole number of runs ≥ 1')
    .default(DEFAULT_KEEP_RUNS),
});

await startProcess('score-churn', async () => {
  const log = createLogger('score-churn');
  const config = parseEnvConfig(configSchema);
  const client = createClient(clickhouseClientOptions(config));
  try {
    const run = await runChurnScoring(
      {
        command: async (q: Sql) => {
          await client.command({ query: q.text });
        },
        rows: async <T>(q: Sql) =>
          (await client.query({ query: q.text, format: 'JSONEachRow' })).json<T>(),
      },
      {
        scoredAt: new Date(Math.floor(Date.now() / 1000) * 1000),
        keep: config.CCFED_CHURN_KEEP_RUNS,
      },
    );
    log.info(
      {
        event: 'churn_scored',
        scoredAt: run.scoredAt.toISOString(),
        tenants: run.tenants,
        customers: run.customers,
        seconds: run.seconds,
        removedRuns: run.removedRuns,
      },
      'churn scoring stored',
    );
  } finally {
    await client.close();
  }
});
