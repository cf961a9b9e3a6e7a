// The central hub's NetworkPolicies (network-policy.ts says what the namespace refuses first):
// the router hears sites on gRPC; the API hears the ingress controller and reaches the sites' gRPC
// (recordings); the router, ingester and API reach Kafka; the ingester, API and jobs reach ClickHouse; and when ClickHouse runs in the
// cluster, its own namespace lets in only those and Grafana.
import type * as k8s from '@pulumi/kubernetes';
import type * as pulumi from '@pulumi/pulumi';
import {
  component,
  policyPeers,
  tcp,
  to,
  workloadPolicy,
  type NetworkPeer,
  type NetworkService,
  type PolicyRule,
} from './network-policy.js';

/** Where the hub's neighbours are. */
export interface HubNetwork {
  readonly kafka: NetworkService;
  readonly clickhouse: NetworkService;
  /** Where the API's Ingress controller runs; required with an Ingress. */
  readonly ingressController?: NetworkPeer;
  /** Grafana, let into ClickHouse's namespace beside the ingester, API and jobs. */
  readonly grafana?: NetworkPeer;
  /** The OTLP collector, when the processes export telemetry. */
  readonly telemetry?: NetworkService;
}

/** The scheduled and one-shot jobs: ClickHouse only. */
export const JOB_COMPONENTS = ['migrate', 'cross-sell-refresh', 'churn-scoring'] as const;

/** Every hub NetworkPolicy; returns them in declaration order. */
export function hubNetworkPolicies(
  name: string,
  args: {
    readonly namespace: pulumi.Input<string>;
    readonly network: HubNetwork;
    readonly routerPort: number;
    readonly apiPort: number;
    /** CIDRs allowed to the router besides the site pods of this namespace (remote sites). */
    readonly routerSourceRanges: readonly string[];
    /** Whether the API has an Ingress (without one, nothing may reach it). */
    readonly apiIngress: boolean;
    /** The site agents' gRPC ports: the API fetches recordings from the sites' pods there. */
    readonly siteGrpcPorts?: readonly number[];
  },
  opts: pulumi.CustomResourceOptions,
): k8s.networking.v1.NetworkPolicy[] {
  const { namespace, network } = args;
  const telemetry = network.telemetry ? [to(network.telemetry)] : [];
  const policy = (who: string, ingress: readonly PolicyRule[], egress: readonly PolicyRule[]) =>
    workloadPolicy(
      `${name}-netpol-${who}`,
      {
        metadataName: `ccfed-${who}`,
        namespace,
        podLabels: { 'app.kubernetes.io/component': who },
        ingress,
        egress,
      },
      opts,
    );
  const policies = [
    policy(
      'router',
      [
        {
          peers: [
            component('site'),
            ...args.routerSourceRanges.map((cidr) => ({ ipBlock: { cidr } })),
          ],
          ports: tcp(args.routerPort),
        },
      ],
      [to(network.kafka), ...telemetry],
    ),
    policy('ingester', [], [to(network.kafka), to(network.clickhouse), ...telemetry]),
    policy(
      'api',
      args.apiIngress && network.ingressController
        ? [{ peers: policyPeers(network.ingressController), ports: tcp(args.apiPort) }]
        : [],
      [
        to(network.kafka),
        to(network.clickhouse),
        // Recordings are streamed from the site that keeps them (FetchRecording).
        ...(args.siteGrpcPorts?.length
          ? [{ peers: [component('site')], ports: tcp(...new Set(args.siteGrpcPorts)) }]
          : []),
        ...telemetry,
      ],
    ),
    ...JOB_COMPONENTS.map((job) => policy(job, [], [to(network.clickhouse)])),
  ];

  // ClickHouse in the cluster: its side of the flows, so nothing else there reaches it.
  const ch = network.clickhouse;
  if (ch.namespace !== undefined && ch.podLabels !== undefined) {
    policies.push(
      workloadPolicy(
        `${name}-netpol-clickhouse`,
        {
          metadataName: 'ccfed-clickhouse-clients',
          namespace: ch.namespace,
          podLabels: { ...ch.podLabels },
          ingress: [
            {
              peers: [
                {
                  namespaceSelector: {
                    matchLabels: { 'kubernetes.io/metadata.name': namespace },
                  },
                  podSelector: {
                    matchExpressions: [
                      {
                        key: 'app.kubernetes.io/component',
                        operator: 'In',
                        values: ['ingester', 'api', ...JOB_COMPONENTS],
                      },
                    ],
                  },
                },
                ...(network.grafana ? policyPeers(network.grafana) : []),
              ],
              ports: tcp(...ch.ports),
            },
          ],
        },
        opts,
      ),
    );
  }
  return policies;
}
