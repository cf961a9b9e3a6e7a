// NetworkPolicies: every ccfed namespace denies all traffic in and out by default, and each
// workload is then allowed exactly the flows the architecture has (docs/security.md, "Deploy"):
//
//   callers, peer sites  → site Kamailio (SIP)       sites → router (gRPC)
//   operators, desktops  → site agent (gRPC)         sites, router, ingester, API → Kafka
//   ingress controller   → API (HTTP)                ingester, API, jobs (and Grafana) → ClickHouse
//   site Kamailio        → peer sites, phones (SIP)  every process → DNS, the OTLP collector
//
// What lies outside the namespace (Kafka, ClickHouse, the ingress controller, Grafana, the
// collector) is named in stack config as a NetworkPeer: a namespace (and pod labels) in the
// cluster, or CIDRs outside it. A pod on the node's network (hostNetwork) is outside
// NetworkPolicy on most network plugins: its flows are the node firewall's to hold.
import * as k8s from '@pulumi/kubernetes';
import type * as pulumi from '@pulumi/pulumi';
import { ccfedLabels } from './kube.js';

/** Something ccfed talks to or hears from, in the cluster (namespace, pod labels) or outside (CIDRs). */
export interface NetworkPeer {
  readonly cidrs?: readonly string[];
  readonly namespace?: string;
  readonly podLabels?: Readonly<Record<string, string>>;
}

/** A peer and the TCP ports ccfed reaches it on. */
export interface NetworkService extends NetworkPeer {
  readonly ports: readonly number[];
}

type PolicyPeer = k8s.types.input.networking.v1.NetworkPolicyPeer;
type PolicyPort = k8s.types.input.networking.v1.NetworkPolicyPort;
/** Who may talk (peers; anyone when absent) on which ports. */
export type PolicyRule = { peers?: PolicyPeer[]; ports: PolicyPort[] };

/** The policy peers of a NetworkPeer. */
export function policyPeers(p: NetworkPeer): PolicyPeer[] {
  const peers: PolicyPeer[] = (p.cidrs ?? []).map((cidr) => ({ ipBlock: { cidr } }));
  if (p.namespace !== undefined) {
    peers.push({
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': p.namespace } },
      ...(p.podLabels ? { podSelector: { matchLabels: { ...p.podLabels } } } : {}),
    });
  } else if (p.podLabels) {
    peers.push({ podSelector: { matchLabels: { ...p.podLabels } } });
  }
  return peers;
}

export const tcp = (...ports: readonly number[]): PolicyPort[] =>
  ports.map((port) => ({ protocol: 'TCP', port }));

/** The pods of one ccfed component in the same namespace. */
export const component = (name: string, extra: Record<string, string> = {}): PolicyPeer => ({
  podSelector: { matchLabels: { 'app.kubernetes.io/component': name, ...extra } },
});

/** An egress rule to `service` on its ports. */
export function to(service: NetworkService): PolicyRule {
  return { peers: policyPeers(service), ports: tcp(...service.ports) };
}

/**
 * One policy for the pods matching `podLabels`: only the listed ingress and egress rules (each
 * side is closed when its list is empty, since the policy names both types). Without `egress` it
 * is an ingress policy only, and leaves the pods' outgoing traffic to others (for pods that are
 * not ccfed's own, such as ClickHouse).
 */
export function workloadPolicy(
  name: string,
  args: {
    readonly metadataName: string;
    readonly namespace: pulumi.Input<string>;
    readonly podLabels: Record<string, string>;
    readonly ingress: readonly PolicyRule[];
    readonly egress?: readonly PolicyRule[];
  },
  opts: pulumi.CustomResourceOptions,
): k8s.networking.v1.NetworkPolicy {
  const rule = (r: PolicyRule, side: 'from' | 'to') => ({
    ...(r.peers !== undefined ? { [side]: r.peers } : {}),
    ports: r.ports,
  });
  return new k8s.networking.v1.NetworkPolicy(
    name,
    {
      metadata: {
        name: args.metadataName,
        namespace: args.namespace,
        labels: ccfedLabels('network-policy'),
      },
      spec: {
        podSelector: { matchLabels: args.podLabels },
        policyTypes: args.egress ? ['Ingress', 'Egress'] : ['Ingress'],
        ingress: args.ingress.map((r) => rule(r, 'from')),
        ...(args.egress ? { egress: args.egress.map((r) => rule(r, 'to')) } : {}),
      },
    },
    opts,
  );
}

/**
 * What every namespace ccfed deploys into gets first: all traffic of every pod refused, in and
 * out, then DNS allowed out (to kube-dns), since every process resolves service names.
 */
export function namespaceBaseline(
  name: string,
  namespace: pulumi.Input<string>,
  opts: pulumi.CustomResourceOptions,
): k8s.networking.v1.NetworkPolicy[] {
  const metadata = (n: string) => ({
    name: n,
    namespace,
    labels: ccfedLabels('network-policy'),
  });
  return [
    new k8s.networking.v1.NetworkPolicy(
      `${name}-default-deny`,
      {
        metadata: metadata('ccfed-default-deny'),
        spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'], ingress: [], egress: [] },
      },
      opts,
    ),
    new k8s.networking.v1.NetworkPolicy(
      `${name}-dns`,
      {
        metadata: metadata('ccfed-allow-dns'),
        spec: {
          podSelector: {},
          policyTypes: ['Egress'],
          egress: [
            {
              to: [
                {
                  namespaceSelector: {
                    matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' },
                  },
                  podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
                },
              ],
              ports: [
                { protocol: 'UDP', port: 53 },
                { protocol: 'TCP', port: 53 },
              ],
            },
          ],
        },
      },
      opts,
    ),
  ];
}

const CIDR = /^([0-9]{1,3}\.){3}[0-9]{1,3}\/\d{1,2}$|^[0-9a-fA-F:]+\/\d{1,3}$/;
const LABEL = /^([a-z0-9.-]+\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const NAMESPACE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** A NetworkPeer (or, with `ports`, a NetworkService) from stack config, checked. */
export function parsePeer(value: unknown, where: string, withPorts: true): NetworkService;
export function parsePeer(value: unknown, where: string, withPorts?: false): NetworkPeer;
export function parsePeer(
  value: unknown,
  where: string,
  withPorts = false,
): NetworkPeer | NetworkService {
  const fail = (why: string): never => {
    throw new Error(
      `${where}: ${why}; expected {"cidrs": ["10.0.0.0/16"]} or {"namespace": "ccfed-data", "podLabels": {"app": "x"}}${withPorts ? ' with "ports": [8123]' : ''}, got ${JSON.stringify(value)}`,
    );
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail('not a map');
  const { cidrs, namespace, podLabels, ports, ...rest } = value as Record<string, unknown>;
  if (Object.keys(rest).length > 0) fail(`unknown key ${Object.keys(rest).join(', ')}`);
  if (cidrs !== undefined && !(Array.isArray(cidrs) && cidrs.every((c) => CIDR.test(String(c)))))
    fail('cidrs must be a list of CIDRs');
  if (namespace !== undefined && !(typeof namespace === 'string' && NAMESPACE.test(namespace)))
    fail('namespace must be a namespace name');
  if (
    podLabels !== undefined &&
    !(
      typeof podLabels === 'object' &&
      podLabels !== null &&
      Object.entries(podLabels).every(([k, v]) => LABEL.test(k) && typeof v === 'string')
    )
  )
    fail('podLabels must map label names to strings');
  if (cidrs === undefined && namespace === undefined && podLabels === undefined)
    fail('names nothing');
  if (withPorts) {
    if (
      !Array.isArray(ports) ||
      ports.length === 0 ||
      !ports.every((p) => Number.isInteger(p) && p > 0 && p < 65536)
    )
      fail('ports must be a non-empty list of port numbers');
  } else if (ports !== undefined) fail('takes no ports');
  return value as NetworkPeer;
}
