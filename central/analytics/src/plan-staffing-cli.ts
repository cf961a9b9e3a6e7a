// Makes the staffing plan of the next 14 days (staffing-plan.ts: runStaffingPlan): forecasts every
// tenant, site and skill from the rollups' last 8 weeks with central/modeling/forecast_job.py,
// sizes each interval with Erlang A for the skill's service level in the topology file, stores it
// as a new complete run, removes the runs beyond the newest CCFED_STAFFING_KEEP_RUNS, then exits.
// The plan is read from the newest run, so this runs on a schedule: daily in the deployment,
// every hour under `npm start`. It needs the venv scripts/install.sh builds (.ccfed/venv-models).
//
//   CCFED_CLICKHOUSE_URL=http://clickhouse:8123 CCFED_CLICKHOUSE_DATABASE=ccfed \
//   CCFED_CLICKHOUSE_USER=ccfed_analytics CCFED_CLICKHOUSE_PASSWORD=... \
//   CCFED_TOPOLOGY=topology/example.yaml \
//     node --import tsx central/analytics/src/plan-staffing-cli.ts
import { createClient } from '@clickhouse/client';
import {
  clickhouseClientOptions,
  clickhouseEnvSchema,
  createLogger,
  parseEnvConfig,
  startProcess,
  type Sql,
} from '@ccfed/common';
import { loadTopology } from '@ccfed/topology';
import { z } from 'zod';
import { runModelingJob } from './churn-fit.js';
import {
  DEFAULT_KEEP_STAFFING_RUNS,
  runStaffingPlan,
  type ForecastResult,
} from './staffing-plan.js';

const configSchema = z.object({
  ...clickhouseEnvSchema,
  CCFED_TOPOLOGY: z
    .string({ error: 'expected the topology file' })
    .min(1, 'expected the topology file'),
  CCFED_STAFFING_KEEP_RUNS: z.coerce
    .number({ error: 'expected a whole number of runs ≥ 1' })
    .int('expected a whole number of runs ≥ 1')
    .min(1, 'expected a whole number of runs ≥ 1')
    .default(DEFAULT_KEEP_STAFFING_RUNS),
});

await startProcess('plan-staffing', async () => {
  const log = createLogger('plan-staffing');
  const config = parseEnvConfig(configSchema);
  const topology = loadTopology(config.CCFED_TOPOLOGY);
  const client = createClient(clickhouseClientOptions(config));
  const login = {
    CCFED_CLICKHOUSE_URL: config.CCFED_CLICKHOUSE_URL,
    CCFED_CLICKHOUSE_DATABASE: config.CCFED_CLICKHOUSE_DATABASE,
    CCFED_CLICKHOUSE_USER: config.CCFED_CLICKHOUSE_USER,
    CCFED_CLICKHOUSE_PASSWORD: config.CCFED_CLICKHOUSE_PASSWORD,
  };
  try {
    const run = await runStaffingPlan(
      {
        command: async (q: Sql) => {
          await client.command({ query: q.text });
        },
        rows: async <T>(q: Sql) =>
          (await client.query({ query: q.text, format: 'JSONEachRow' })).json<T>(),
        insert: async (table, values) => {
          if (values.length > 0)
            await client.insert({ table, values: [...values], format: 'JSONEachRow' });
        },
        forecast: (request) => runModelingJob<ForecastResult>('forecast_job.py', request, login),
      },
      {
        runAt: new Date(Math.floor(Date.now() / 1000) * 1000),
        topology,
        keep: config.CCFED_STAFFING_KEEP_RUNS,
      },
    );
    log.info(
      {
        event: 'staffing_planned',
        runAt: run.runAt.toISOString(),
        series: run.series,
        intervals: run.intervals,
        seconds: run.seconds,
        removedRuns: run.removedRuns,
      },
      'staffing plan stored',
    );
  } finally {
    await client.close();
  }
});
