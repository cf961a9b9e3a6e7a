// What each hub process is given to prove who it is and to log in: its certificate (a cert-manager
// Certificate for its principal, identity.ts), its own ClickHouse user and its own Kafka user,
// the passwords in the hub's Secret and reaching the container only by reference. Grafana's
// ClickHouse login gets a Secret of its own for the SREs' Grafana to take as env.
import type { ClickHouseClusterPlan } from './clickhouse-cluster.js';
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { CLICKHOUSE_USERNAMES, parseSipSecrets, type ClickHouseRole } from '@ccfed/common';
import { principalCertificate, type IssuerRef } from './identity.js';
import {
  API_SIP_SECRETS_KEY,
  API_USERS_KEY,
  ccfedLabels,
  plainEnv,
  secretData,
  secretEnv,
} from './kube.js';

/** The hub's Kafka users (SASL/SCRAM), one per process that talks to Kafka. */
export const HUB_KAFKA_USERS = ['router', 'ingester', 'api'] as const;
export type HubKafkaUser = (typeof HUB_KAFKA_USERS)[number];

/** The ClickHouse roles hub processes log in as (Grafana's login has its own Secret). */
export const HUB_CLICKHOUSE_ROLES = ['admin', 'ingester', 'analytics', 'api'] as const;
export type HubClickHouseRole = (typeof HUB_CLICKHOUSE_ROLES)[number];

/** Keys of the hub's Secret. */
export const HUB_SECRET_KEYS = {
  apiSecret: 'api-secret',
  apiUsers: API_USERS_KEY,
  sipSecrets: API_SIP_SECRETS_KEY,
  clickhousePassword: (role: ClickHouseRole) => `clickhouse-${role}-password`,
  kafkaPassword: (user: HubKafkaUser) => `kafka-${user}-password`,
} as const;

/** The Secret Grafana's deployment takes its ClickHouse env from (dashboards/src/provisioning.ts). */
export const GRAFANA_SECRET = 'ccfed-grafana-clickhouse';

export interface HubCredentialsArgs {
  readonly namespace: pulumi.Output<string>;
  readonly brokers: pulumi.Input<string>;
  readonly clickhouseUrl: pulumi.Input<string>;
  readonly database: string;
  /** The cluster the ingester and the migration write to, when ClickHouse is one. */
  readonly clickhouseCluster?: ClickHouseClusterPlan | undefined;
  readonly clickhousePasswords: Readonly<Record<ClickHouseRole, pulumi.Input<string>>>;
  readonly kafkaPasswords: Readonly<Record<HubKafkaUser, pulumi.Input<string>>>;
  readonly apiSecret: pulumi.Input<string>;
  readonly apiUsersYaml: pulumi.Input<string>;
  readonly sipSecrets?: pulumi.Input<Record<string, string>>;
  readonly tlsIssuer: IssuerRef;
  readonly parent: pulumi.Resource;
}

export interface HubCredentials {
  readonly secret: k8s.core.v1.Secret;
  /** ClickHouse as `role`: the URL, the database, the user and its password by reference. */
  clickhouseEnv(role: HubClickHouseRole): k8s.types.input.core.v1.EnvVar[];
  /** Kafka as `user` (SASL/SCRAM over TLS; the CA is the process's CCFED_TLS_CA). */
  kafkaEnv(user: HubKafkaUser): k8s.types.input.core.v1.EnvVar[];
  /**
   * Issues the certificate of a central service, valid for the Service names `hosts` (default
   * ccfed-<service>) in the namespace; returns the name of its Secret.
   */
  certificate(service: 'router' | 'ingester' | 'api', hosts?: readonly string[]): string;
}

export function hubCredentials(name: string, args: HubCredentialsArgs): HubCredentials {
  const secret = new k8s.core.v1.Secret(
    `${name}-secrets`,
    {
      metadata: {
        name: 'ccfed-hub-secrets',
        namespace: args.namespace,
        labels: ccfedLabels('hub'),
      },
      type: 'Opaque',
      stringData: secretData({
        [HUB_SECRET_KEYS.apiSecret]: args.apiSecret,
        [HUB_SECRET_KEYS.apiUsers]: args.apiUsersYaml,
        ...(args.sipSecrets !== undefined && {
          [HUB_SECRET_KEYS.sipSecrets]: pulumi.output(args.sipSecrets).apply(sipSecretsFile),
        }),
        ...Object.fromEntries(
          HUB_CLICKHOUSE_ROLES.map((r) => [
            HUB_SECRET_KEYS.clickhousePassword(r),
            args.clickhousePasswords[r],
          ]),
        ),
        ...Object.fromEntries(
          HUB_KAFKA_USERS.map((u) => [HUB_SECRET_KEYS.kafkaPassword(u), args.kafkaPasswords[u]]),
        ),
      }),
    },
    { parent: args.parent },
  );
  // Grafana is deployed by the SREs; this is what its pod takes as env (envFrom).
  new k8s.core.v1.Secret(
    `${name}-grafana-clickhouse`,
    {
      metadata: { name: GRAFANA_SECRET, namespace: args.namespace, labels: ccfedLabels('grafana') },
      type: 'Opaque',
      stringData: secretData({
        CCFED_CLICKHOUSE_HOST: pulumi.output(args.clickhouseUrl).apply((u) => new URL(u).hostname),
        CCFED_CLICKHOUSE_PASSWORD: args.clickhousePasswords.grafana,
      }),
    },
    { parent: args.parent },
  );
  const clickhouseEnv = (role: HubClickHouseRole) => [
    ...plainEnv({
      CCFED_CLICKHOUSE_URL: args.clickhouseUrl,
      CCFED_CLICKHOUSE_DATABASE: args.database,
      CCFED_CLICKHOUSE_USER: CLICKHOUSE_USERNAMES[role],
      // Who writes or migrates needs every member; readers are served by any one.
      ...(args.clickhouseCluster &&
        (role === 'ingester' || role === 'admin') && {
          CCFED_CLICKHOUSE_SHARDS: args.clickhouseCluster.shardsEnv,
          CCFED_CLICKHOUSE_CLUSTER: args.clickhouseCluster.name,
        }),
    }),
    ...secretEnv(secret.metadata.name, {
      CCFED_CLICKHOUSE_PASSWORD: HUB_SECRET_KEYS.clickhousePassword(role),
    }),
  ];
  const kafkaEnv = (user: HubKafkaUser) => [
    ...plainEnv({ CCFED_KAFKA_BROKERS: args.brokers, CCFED_KAFKA_USERNAME: user }),
    ...secretEnv(secret.metadata.name, {
      CCFED_KAFKA_PASSWORD: HUB_SECRET_KEYS.kafkaPassword(user),
    }),
  ];
  const certificate = (
    service: 'router' | 'ingester' | 'api',
    hosts: readonly string[] = [`ccfed-${service}`],
  ) => {
    const secretName = `ccfed-${service}-tls`;
    principalCertificate(
      `${name}-${service}-certificate`,
      {
        principal: { kind: 'service', service },
        secretName,
        namespace: args.namespace,
        issuer: args.tlsIssuer,
        dnsNames: hosts.flatMap((host) => [
          host,
          pulumi.interpolate`${host}.${args.namespace}.svc`,
          pulumi.interpolate`${host}.${args.namespace}.svc.cluster.local`,
        ]),
        labels: ccfedLabels(service),
      },
      { parent: args.parent },
    );
    return secretName;
  };

  return { secret, clickhouseEnv, kafkaEnv, certificate };
}

/** The central API's file of every site's SIP secret (CCFED_SIP_SECRETS_FILE), checked. */
export function sipSecretsFile(secrets: Readonly<Record<string, string>>): string {
  const text = `${JSON.stringify(secrets)}\n`;
  parseSipSecrets(text, 'config sipSecrets');
  return text;
}
