// Scores every customer not churned as of now and stores it as a new complete run: each tenant with
// the model fitted on its own history by central/modeling/churn_job.py (churn-modeling.ts:
// runChurnModeling), or with the hand-set model when it has too little history; holds back
// CCFED_RETENTION_CONTROL_SHARE of the customers from the call-back list (retention.ts), adds the
// run's call-back candidates (risk ≥ CCFED_CALLBACK_RISK) to the retention study, removes the runs
// beyond the newest CCFED_CHURN_KEEP_RUNS, then exits. It needs the venv scripts/install.sh builds
// (.ccfed/venv-models). The call-back list reads the newest complete run, so this runs
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
import { runChurnFit } from './churn-fit.js';
import { runChurnModeling } from './churn-modeling.js';
import { DEFAULT_KEEP_RUNS } from './churn-scoring.js';
import { DEFAULT_CALLBACK_RISK, DEFAULT_CONTROL_SHARE } from './retention.js';

const configSchema = z.object({
  ...clickhouseEnvSchema,
  CCFED_CHURN_KEEP_RUNS: z.coerce
    .number({ error: 'expected a whole number of runs ≥ 1' })
    .int('expected a whole number of runs ≥ 1')
    .min(1, 'expected a whole number of runs ≥ 1')
    .default(DEFAULT_KEEP_RUNS),
  CCFED_RETENTION_CONTROL_SHARE: z.coerce
    .number({ error: 'expected a share from 0 to 0.5' })
    .min(0, 'expected a share from 0 to 0.5')
    .max(0.5, 'expected a share from 0 to 0.5')
    .default(DEFAULT_CONTROL_SHARE),
  CCFED_CALLBACK_RISK: z.coerce
    .number({ error: 'expected a risk between 0 and 1' })
    .gt(0, 'expected a risk between 0 and 1')
    .lt(1, 'expected a risk between 0 and 1')
    .default(DEFAULT_CALLBACK_RISK),
});

await startProcess('score-churn', async () => {
  const log = createLogger('score-churn');
  const config = parseEnvConfig(configSchema);
  const client = createClient(clickhouseClientOptions(config));
  try {
    // The fitter logs in as this job does.
    const login = {
      CCFED_CLICKHOUSE_URL: config.CCFED_CLICKHOUSE_URL,
      CCFED_CLICKHOUSE_DATABASE: config.CCFED_CLICKHOUSE_DATABASE,
      CCFED_CLICKHOUSE_USER: config.CCFED_CLICKHOUSE_USER,
      CCFED_CLICKHOUSE_PASSWORD: config.CCFED_CLICKHOUSE_PASSWORD,
    };
    const run = await runChurnModeling(
      {
        command: async (q: Sql) => {
          await client.command({ query: q.text });
        },
        rows: async <T>(q: Sql) =>
          (await client.query({ query: q.text, format: 'JSONEachRow' })).json<T>(),
        fit: (request) => runChurnFit(request, login),
      },
      {
        scoredAt: new Date(Math.floor(Date.now() / 1000) * 1000),
        keep: config.CCFED_CHURN_KEEP_RUNS,
        controlShare: config.CCFED_RETENTION_CONTROL_SHARE,
        callbackRisk: config.CCFED_CALLBACK_RISK,
      },
    );
    for (const t of run.tenants)
      log.info(
        {
          event: 'churn_model',
          tenant: t.tenant_id,
          decision: t.decision,
          reason: t.reason,
          modelVersion: t.model_version,
          auc: t.auc,
          handSetAuc: t.hand_set_auc,
          calibrationError: t.calibration?.error,
        },
        t.decision === 'fitted' ? 'churn model fitted' : 'churn model: hand-set fallback',
      );
    log.info(
      {
        event: 'churn_scored',
        scoredAt: run.scoredAt.toISOString(),
        tenants: run.tenants.length,
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
