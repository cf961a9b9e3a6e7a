// A site's trust boundaries as declared: its certificate names the site, both its containers mount
// it read-only; both have limits; its pod's NetworkPolicy lets callers and peers reach SIP, only
// the control networks reach gRPC, and lets it reach the router, Kafka, the peer sites and its
// phones; a site on the node's network gets no policy it would escape anyway.
import { loadTopology, parseTopology, type Topology } from '@ccfed/topology';
import { beforeAll, describe, expect, it } from 'vitest';
import { ContactCenterSite, type ContactCenterSiteArgs } from './contact-center-site.js';
import { CONTAINER_PATHS } from './kube.js';
import { DEFAULT_RESOURCES } from './resources.js';
import { byMetadataName, container, envValue, writeClusterTopology } from './testing/fixtures.js';
import {
  ofType,
  promiseOf,
  recordResources,
  settled,
  type DeclaredResource,
} from './testing/pulumi-mocks.js';

let declared: DeclaredResource[];
let topology: Topology;

beforeAll(async () => {
  declared = await recordResources();
  topology = loadTopology(writeClusterTopology());
});

const NETWORK: ContactCenterSiteArgs['network'] = {
  kafka: { cidrs: ['10.5.0.0/24'], ports: [9093] },
  router: {
    namespace: 'ccfed',
    podLabels: { 'app.kubernetes.io/component': 'router' },
    ports: [50051],
  },
  control: { cidrs: ['10.9.0.0/16'] },
  phones: { cidrs: ['192.168.10.0/24'] },
};

let count = 0;
async function declare(siteId: string, extra: Partial<ContactCenterSiteArgs> = {}) {
  await settled();
  declared.length = 0;
  const site = new ContactCenterSite(`sec-${siteId}-${++count}`, {
    topology,
    siteId,
    images: {
      ccfed: 'registry.test/ccfed:1.2.3',
      kamailio: 'registry.test/kamailio:5.8.4',
      rtpengine: 'registry.test/rtpengine:10.5',
    },
    namespace: 'ccfed',
    routerAddress: 'ccfed-router.ccfed.svc.cluster.local:50051',
    kafkaBrokers: ['kafka-0.kafka:9092'],
    tlsIssuer: { kind: 'ClusterIssuer', name: 'ccfed-federation-ca' },
    kafkaPassword: 'site-kafka-pass-2b8e',
    federationKey: 'federation-key-0123456789abcdef0123456789abcdef',
    agentSecret: 'agentSecret0123456789abcdef',
    network: NETWORK,
    ...extra,
  });
  await promiseOf(site.workloadName);
  await settled();
  return { site, declared: [...declared] };
}

const statefulSet = (list: DeclaredResource[]) =>
  ofType(list, 'kubernetes:apps/v1:StatefulSet')[0]!;
const policies = (list: DeclaredResource[]) =>
  ofType(list, 'kubernetes:networking.k8s.io/v1:NetworkPolicy');

describe('ContactCenterSite security', () => {
  it("issues the site's certificate for its principal and mounts it read-only in both containers", async () => {
    const { declared } = await declare('beijing');
    const cert = byMetadataName(
      ofType(declared, 'kubernetes:cert-manager.io/v1:Certificate'),
      'ccfed-site-beijing-tls',
    ).inputs.spec as any;
    expect(cert.uris).toEqual(['spiffe://ccfed/site/beijing']);
    expect(cert.usages).toEqual(['digital signature', 'server auth', 'client auth']);
    const sts = statefulSet(declared);
    for (const name of ['site-agent', 'kamailio']) {
      expect(container(sts, name).volumeMounts).toContainEqual({
        name: 'tls',
        mountPath: CONTAINER_PATHS.tlsDir,
        readOnly: true,
      });
    }
    const agent = container(sts, 'site-agent');
    expect(envValue(agent, 'CCFED_TLS_CERT')).toBe(`${CONTAINER_PATHS.tlsDir}/tls.crt`);
    const spec = (sts.inputs.spec as any).template.spec;
    expect(spec.securityContext.fsGroup).toBe(1000);
    expect(spec.automountServiceAccountToken).toBe(false);
    expect((container(sts, 'kamailio') as any).resources).toEqual(DEFAULT_RESOURCES.kamailio);
    expect((agent as any).resources).toEqual(DEFAULT_RESOURCES['site-agent']);
  });

  it('lets callers reach SIP and RTP, only the control networks reach gRPC, and the site reach only its peers', async () => {
    const { declared } = await declare('beijing');
    const [policy] = policies(declared);
    const spec = policy!.inputs.spec as any;
    const beijing = topology.sites.find((s) => s.id === 'beijing')!;
    expect(spec.podSelector.matchLabels['ccfed.io/site']).toBe('beijing');
    expect(spec.ingress).toEqual([
      {
        ports: [
          { protocol: 'UDP', port: beijing.sip.port },
          { protocol: 'TCP', port: beijing.sip.port },
        ],
      },
      // RTP from anyone (no media peers given) to the site's rtpengine range
      {
        ports: [
          {
            protocol: 'UDP',
            port: beijing.media.rtpPorts.min,
            endPort: beijing.media.rtpPorts.max,
          },
        ],
      },
      {
        from: [{ ipBlock: { cidr: '10.9.0.0/16' } }],
        ports: [{ protocol: 'TCP', port: beijing.grpc.port }],
      },
    ]);
    expect(spec.egress).toEqual([
      {
        to: [
          {
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ccfed' } },
            podSelector: { matchLabels: { 'app.kubernetes.io/component': 'router' } },
          },
        ],
        ports: [{ protocol: 'TCP', port: 50051 }],
      },
      { to: [{ ipBlock: { cidr: '10.5.0.0/24' } }], ports: [{ protocol: 'TCP', port: 9093 }] },
      // 0.0.0.0 in the cluster topology is no address to send to: no peer rules from it.
      {
        to: [{ ipBlock: { cidr: '192.168.10.0/24' } }],
        ports: [{ protocol: 'UDP' }, { protocol: 'TCP' }],
      },
      // RTP to wherever each party's SDP says
      { ports: [{ protocol: 'UDP' }] },
    ]);
  });

  it('limits RTP to the media peers the stack names', async () => {
    const { declared } = await declare('beijing', {
      network: { ...NETWORK, media: { cidrs: ['203.0.113.0/24'] } },
    });
    const spec = policies(declared)[0]!.inputs.spec as any;
    const beijing = topology.sites.find((s) => s.id === 'beijing')!;
    expect(spec.ingress).toContainEqual({
      from: [{ ipBlock: { cidr: '203.0.113.0/24' } }],
      ports: [
        { protocol: 'UDP', port: beijing.media.rtpPorts.min, endPort: beijing.media.rtpPorts.max },
      ],
    });
    expect(spec.egress).toContainEqual({
      to: [{ ipBlock: { cidr: '203.0.113.0/24' } }],
      ports: [{ protocol: 'UDP' }],
    });
  });

  it("reaches the other sites' SIP addresses when the topology gives them", async () => {
    const text = JSON.stringify(topology)
      .replace('"sip":{"host":"0.0.0.0","port":5060', '"sip":{"host":"10.1.0.10","port":5060')
      .replace('"sip":{"host":"0.0.0.0","port":5080', '"sip":{"host":"10.3.0.10","port":5080');
    const { declared } = await declare('beijing', { topology: parseTopology(text, 'peers.yaml') });
    const egress = (policies(declared)[0]!.inputs.spec as any).egress;
    expect(egress).toContainEqual({
      to: [{ ipBlock: { cidr: '10.1.0.10/32' } }],
      ports: [
        { protocol: 'UDP', port: 5060 },
        { protocol: 'TCP', port: 5060 },
      ],
    });
    expect(egress).toContainEqual({
      to: [{ ipBlock: { cidr: '10.3.0.10/32' } }],
      ports: [
        { protocol: 'UDP', port: 5080 },
        { protocol: 'TCP', port: 5080 },
      ],
    });
  });

  it("declares no policy for a site on its node's network, which NetworkPolicy does not reach", async () => {
    const { declared } = await declare('beijing', { hostNetwork: true });
    expect(policies(declared)).toEqual([]);
  });
});
