// The central hub's arguments for the deploy tests: every password a distinct, recognisable value
// (so a test can look for it where it must not be), every neighbour named.
import type { Topology } from '@ccfed/topology';
import type { CentralHubArgs } from '../central-hub.js';

export const SECRETS = {
  apiSecret: 'api-signing-secret-3c8e0b5f4a7d2e1f9b6c',
  apiUsersYaml:
    'users:\n  - username: li.wei\n    passwordHash: scrypt$hash-7f3a91\n    role: hq\n',
  clickhousePasswords: {
    admin: 'ch-admin-pass-91d2a7',
    ingester: 'ch-ingester-pass-5c3e',
    analytics: 'ch-analytics-pass-0b7f',
    api: 'ch-api-pass-6d1a',
    grafana: 'ch-grafana-pass-8e2c',
  },
  kafkaPasswords: {
    router: 'kafka-router-pass-1f4b',
    ingester: 'kafka-ingester-pass-7a9d',
    api: 'kafka-api-pass-3e6c',
  },
};
/** Every password and secret value above, to look for where they must not be. */
export const SECRET_VALUES = [
  SECRETS.apiSecret,
  'hash-7f3a91',
  ...Object.values(SECRETS.clickhousePasswords),
  ...Object.values(SECRETS.kafkaPasswords),
];
export const BROKERS = ['kafka-0.kafka:9092', 'kafka-1.kafka:9092', 'kafka-2.kafka:9092'];
export const CLICKHOUSE_URL = 'http://clickhouse.ccfed-data.svc:8123';
const NETWORK: CentralHubArgs['network'] = {
  kafka: { namespace: 'ccfed-data', podLabels: { app: 'kafka' }, ports: [9093] },
  clickhouse: { namespace: 'ccfed-data', podLabels: { app: 'clickhouse' }, ports: [8123] },
  ingressController: { namespace: 'ingress-nginx' },
  grafana: { namespace: 'monitoring', podLabels: { 'app.kubernetes.io/name': 'grafana' } },
};
export const INGRESS = {
  host: 'ccfed.example.com',
  tlsSecretName: 'ccfed-example-com-tls',
  trustedProxyCidrs: ['10.42.0.0/16'],
};

/** CentralHub arguments for `topology` with every secret and peer set; `extra` overrides. */
export function hubArgs(topology: Topology, extra: Partial<CentralHubArgs> = {}): CentralHubArgs {
  return {
    topology,
    images: { ccfed: 'registry.test/ccfed:1.2.3' },
    namespace: 'ccfed',
    kafkaBrokers: BROKERS,
    clickhouseUrl: CLICKHOUSE_URL,
    tlsIssuer: { kind: 'ClusterIssuer', name: 'ccfed-federation-ca' },
    network: NETWORK,
    apiIngress: INGRESS,
    ...SECRETS,
    ...extra,
  };
}
