// A site's NetworkPolicy (network-policy.ts says what the namespace refuses first): callers and
// peer sites reach its Kamailio on SIP; only the operators' and desktops' networks reach its site
// agent's gRPC; it reaches the router, Kafka, the other sites' SIP and its own phones, and nothing
// else.
import type * as k8s from '@pulumi/kubernetes';
import type * as pulumi from '@pulumi/pulumi';
import { isIP } from 'node:net';
import type { Site, Topology } from '@ccfed/topology';
import {
  policyPeers,
  tcp,
  to,
  workloadPolicy,
  type NetworkPeer,
  type NetworkService,
  type PolicyRule,
} from './network-policy.js';

/** Where a site's neighbours are. */
export interface SiteNetwork {
  readonly kafka: NetworkService;
  /** The router: its pods in the hub's namespace, or its load balancer's address from elsewhere. */
  readonly router: NetworkService;
  /** Who may use the site agent's control API (operators' CLI, agents' desktops); nobody when absent. */
  readonly control?: NetworkPeer;
  /**
   * The agents' browsers (their offices' networks, or the proxy they come through), which reach
   * the site's Kamailio on SIP over secure WebSocket (sip.wssPort); nobody when absent.
   */
  readonly agents?: NetworkPeer;
  /** The central API's pods, which fetch recordings from the site agent's gRPC (FetchRecording). */
  readonly api?: NetworkPeer;
  /** The site's phones and SBCs, which Kamailio rings and relays to (any port, UDP and TCP). */
  readonly phones?: NetworkPeer;
  /**
   * Who exchanges RTP with the site's rtpengine (callers' SBCs, agents' phones, the other sites'
   * rtpengines for overflowed calls); anyone when absent, as callers may come from anywhere.
   */
  readonly media?: NetworkPeer;
  readonly telemetry?: NetworkService;
}

const both = (port?: number) =>
  (['UDP', 'TCP'] as const).map((protocol) => ({
    protocol,
    ...(port !== undefined ? { port } : {}),
  }));

/** Addresses a site may bind but another cannot send to: any-address and loopback. */
const NOT_A_PEER = /^(0\.0\.0\.0|::|127\.\d+\.\d+\.\d+|::1)$/;

/**
 * The other sites' SIP addresses, where they are IP literals a peer can send to (a name cannot be
 * a policy peer: such a site's address goes in network.sitePhones or the node firewall).
 */
export function peerSipRules(topology: Topology, site: Site): PolicyRule[] {
  return topology.sites
    .filter((s) => s.id !== site.id && isIP(s.sip.host) !== 0 && !NOT_A_PEER.test(s.sip.host))
    .map((s) => ({
      peers: [{ ipBlock: { cidr: `${s.sip.host}/${isIP(s.sip.host) === 4 ? 32 : 128}` } }],
      ports: both(s.sip.port),
    }));
}

/** The site's RTP ports (rtpengine's range), as one NetworkPolicy port range. */
function rtpRange(site: Site): { protocol: 'UDP'; port: number; endPort: number } {
  return { protocol: 'UDP', port: site.media.rtpPorts.min, endPort: site.media.rtpPorts.max };
}

function mediaPeers(network: SiteNetwork): { peers?: ReturnType<typeof policyPeers> } {
  return network.media ? { peers: policyPeers(network.media) } : {};
}

/** The policy of one site's pod. */
export function siteNetworkPolicy(
  name: string,
  args: {
    readonly topology: Topology;
    readonly site: Site;
    readonly namespace: pulumi.Input<string>;
    readonly podLabels: Record<string, string>;
    readonly network: SiteNetwork;
  },
  opts: pulumi.CustomResourceOptions,
): k8s.networking.v1.NetworkPolicy {
  const { site, network } = args;
  return workloadPolicy(
    name,
    {
      metadataName: `ccfed-site-${site.id}`,
      namespace: args.namespace,
      podLabels: args.podLabels,
      ingress: [
        // Callers, trunks and peer sites: SIP is the site's public face.
        { ports: both(site.sip.port) },
        // RTP to the site's rtpengine, which anchors every call's media.
        { ...mediaPeers(network), ports: [rtpRange(site)] },
        ...(network.control
          ? [{ peers: policyPeers(network.control), ports: tcp(site.grpc.port) }]
          : []),
        ...(network.api ? [{ peers: policyPeers(network.api), ports: tcp(site.grpc.port) }] : []),
        // Browser agents register and take calls over wss; their media is RTP above.
        ...(network.agents && site.sip.wssPort !== undefined
          ? [{ peers: policyPeers(network.agents), ports: tcp(site.sip.wssPort) }]
          : []),
      ],
      egress: [
        to(network.router),
        to(network.kafka),
        ...peerSipRules(args.topology, site),
        ...(network.phones ? [{ peers: policyPeers(network.phones), ports: both() }] : []),
        // RTP from rtpengine to whatever port each party's SDP names.
        { ...mediaPeers(network), ports: [{ protocol: 'UDP' }] },
        ...(network.telemetry ? [to(network.telemetry)] : []),
      ],
    },
    opts,
  );
}
