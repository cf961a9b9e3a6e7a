// The hub's jobs: the ClickHouse migration (a Job the image's version reruns) and the scheduled
// analytics jobs (CronJobs), each with only the ClickHouse login it needs.
import * as k8s from '@pulumi/kubernetes';
import type * as pulumi from '@pulumi/pulumi';
import { ccfedCommand, ccfedLabels } from './kube.js';
import type { HubClickHouseRole } from './hub-credentials.js';
import { podTemplate, type HubProcess } from './hub-workloads.js';
import type { Component, ResourceOverrides } from './resources.js';

/** What the cross-sell refresh CronJob runs, and when (hourly, at minute 17). */
export const CROSS_SELL_REFRESH_COMMAND = ccfedCommand(
  'central/analytics/src/refresh-cross-sell-cli.ts',
);
export const CROSS_SELL_REFRESH_SCHEDULE = '17 * * * *';

/** What the churn scoring CronJob runs, and when (hourly, at minute 47). */
export const CHURN_SCORING_COMMAND = ccfedCommand('central/analytics/src/score-churn-cli.ts');
export const CHURN_SCORING_SCHEDULE = '47 * * * *';

/** What the migration Job runs: services/src/clickhouse/migrate-cli.ts, from the image's /app. */
export const MIGRATE_COMMAND = ccfedCommand('services/src/clickhouse/migrate-cli.ts');

export function hubJobs(
  name: string,
  args: {
    readonly image: pulumi.Input<string>;
    readonly namespace: pulumi.Input<string>;
    readonly clickhouseEnv: (role: HubClickHouseRole) => k8s.types.input.core.v1.EnvVar[];
    readonly resources: ResourceOverrides | undefined;
    readonly parent: pulumi.Resource;
  },
): {
  migration: k8s.batch.v1.Job;
  crossSellRefresh: k8s.batch.v1.CronJob;
  churnScoring: k8s.batch.v1.CronJob;
} {
  // The migration logs in as admin (it runs DDL); the scheduled jobs as analytics.
  const job = (component: Component, command: string[]): HubProcess => ({
    component,
    image: args.image,
    command,
    env: args.clickhouseEnv(component === 'migrate' ? 'admin' : 'analytics'),
    resources: args.resources,
  });
  const migrateLabels = ccfedLabels('migrate');
  const migration = new k8s.batch.v1.Job(
    `${name}-migrate`,
    {
      metadata: {
        name: 'ccfed-clickhouse-migrate',
        namespace: args.namespace,
        labels: migrateLabels,
      },
      spec: {
        backoffLimit: 4,
        template: podTemplate(job('migrate', MIGRATE_COMMAND), migrateLabels, {
          restartPolicy: 'Never',
        }),
      },
    },
    // A changed image (new migrations) replaces the Job, which then runs again.
    { parent: args.parent, replaceOnChanges: ['spec'], deleteBeforeReplace: true },
  );

  // The next best offer and the rules read the newest stored cross-sell rules: mine them again
  // every hour. The churn call-back list reads the newest stored scoring: score every hour too.
  const scheduled = (component: Component, schedule: string, command: string[]) => {
    const labels = ccfedLabels(component);
    return new k8s.batch.v1.CronJob(
      `${name}-${component}`,
      {
        metadata: { name: `ccfed-${component}`, namespace: args.namespace, labels },
        spec: {
          schedule,
          concurrencyPolicy: 'Forbid',
          jobTemplate: {
            spec: {
              backoffLimit: 2,
              template: podTemplate(job(component, command), labels, { restartPolicy: 'Never' }),
            },
          },
        },
      },
      { parent: args.parent, dependsOn: [migration] },
    );
  };
  const crossSellRefresh = scheduled(
    'cross-sell-refresh',
    CROSS_SELL_REFRESH_SCHEDULE,
    CROSS_SELL_REFRESH_COMMAND,
  );
  const churnScoring = scheduled('churn-scoring', CHURN_SCORING_SCHEDULE, CHURN_SCORING_COMMAND);

  return { migration, crossSellRefresh, churnScoring };
}
