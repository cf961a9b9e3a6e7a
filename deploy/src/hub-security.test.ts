// The central hub's trust boundaries as declared: a certificate per process for its principal,
// mounted read-only; its own Kafka login per process; the API only behind a TLS Ingress; the
// router only behind an internal load balancer limited to the sites' ranges; limits on every
// container; NetworkPolicies that allow each workload its flows and nothing else.
import { loadTopology, type Topology } from '@ccfed/topology';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  API_PORT,
  CentralHub,
  HUB_SECRET_KEYS,
  INTERNAL_LB_ANNOTATIONS,
  ROUTER_PORT,
  type CentralHubArgs,
} from './central-hub.js';
import { CONTAINER_PATHS } from './kube.js';
import { DEFAULT_RESOURCES } from './resources.js';
import {
  byMetadataName,
  container,
  containersOf,
  envSecretRef,
  envValue,
  writeClusterTopology,
} from './testing/fixtures.js';
import { hubArgs } from './testing/hub-fixture.js';
import {
  MOCK_LOAD_BALANCER_IP,
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

let count = 0;
async function declare(extra: Partial<CentralHubArgs> = {}) {
  await settled();
  declared.length = 0;
  const hub = new CentralHub(`sec-hub-${++count}`, hubArgs(topology, extra));
  await promiseOf(hub.routerAddress);
  await settled();
  return { hub, declared: [...declared] };
}

const deployment = (list: DeclaredResource[], name: string) =>
  byMetadataName(ofType(list, 'kubernetes:apps/v1:Deployment'), name);
const podSpec = (r: DeclaredResource) => (r.inputs.spec as any).template.spec;
const policy = (list: DeclaredResource[], name: string) =>
  byMetadataName(ofType(list, 'kubernetes:networking.k8s.io/v1:NetworkPolicy'), name).inputs
    .spec as any;

describe('CentralHub security', () => {
  it('gives the router, the ingester and the API a certificate for their principal, mounted read-only', async () => {
    const { declared } = await declare();
    const certs = ofType(declared, 'kubernetes:cert-manager.io/v1:Certificate');
    for (const service of ['router', 'ingester', 'api'] as const) {
      const cert = byMetadataName(certs, `ccfed-${service}-tls`).inputs.spec as any;
      expect(cert.uris).toEqual([`spiffe://ccfed/service/${service}`]);
      expect(cert.issuerRef).toEqual({
        group: 'cert-manager.io',
        kind: 'ClusterIssuer',
        name: 'ccfed-federation-ca',
      });
      expect(cert.usages).toEqual(['digital signature', 'server auth', 'client auth']);
      expect(cert.privateKey).toMatchObject({ algorithm: 'ECDSA', size: 256 });
      expect(cert.secretName).toBe(`ccfed-${service}-tls`);
      // One router certificate, valid under both routers' Service names.
      if (service === 'router')
        expect(cert.dnsNames).toEqual(
          ['a', 'b'].flatMap((r) => [
            `ccfed-router-${r}`,
            `ccfed-router-${r}.ccfed.svc`,
            `ccfed-router-${r}.ccfed.svc.cluster.local`,
          ]),
        );

      const d = deployment(declared, service === 'router' ? 'ccfed-router-a' : `ccfed-${service}`);
      const c = container(d, service);
      expect(envValue(c, 'CCFED_TLS_CA')).toBe(`${CONTAINER_PATHS.tlsDir}/ca.crt`);
      expect(envValue(c, 'CCFED_TLS_CERT')).toBe(`${CONTAINER_PATHS.tlsDir}/tls.crt`);
      expect(envValue(c, 'CCFED_TLS_KEY')).toBe(`${CONTAINER_PATHS.tlsDir}/tls.key`);
      expect(c.volumeMounts).toContainEqual({
        name: 'tls',
        mountPath: CONTAINER_PATHS.tlsDir,
        readOnly: true,
      });
      const volume = podSpec(d).volumes.find((v: any) => v.name === 'tls');
      expect(volume.secret.secretName).toBe(`ccfed-${service}-tls`);
      expect(volume.secret.defaultMode).toBe(0o440);
    }
    // The migration and the scheduled jobs talk to ClickHouse only: no certificate.
    expect(certs).toHaveLength(3);
  });

  it('gives each Kafka client its own SASL user, the password by reference', async () => {
    const { declared } = await declare();
    for (const [name, user] of [
      ['ccfed-router-a', 'router'],
      ['ccfed-router-b', 'router'],
      ['ccfed-ingester', 'ingester'],
      ['ccfed-api', 'api'],
    ] as const) {
      const c = container(deployment(declared, name), user);
      expect(envValue(c, 'CCFED_KAFKA_USERNAME')).toBe(user);
      expect(envSecretRef(c, 'CCFED_KAFKA_PASSWORD')).toEqual({
        name: 'ccfed-hub-secrets',
        key: HUB_SECRET_KEYS.kafkaPassword(user),
      });
    }
  });

  it('serves the API outside the cluster only through a TLS Ingress, and trusts its proxies only', async () => {
    const { hub, declared } = await declare();
    const ingress = byMetadataName(
      ofType(declared, 'kubernetes:networking.k8s.io/v1:Ingress'),
      'ccfed-api',
    ).inputs as any;
    expect(ingress.spec.tls).toEqual([
      { hosts: ['ccfed.example.com'], secretName: 'ccfed-example-com-tls' },
    ]);
    expect(ingress.spec.rules[0].http.paths[0].backend.service).toEqual({
      name: 'ccfed-api',
      port: { number: API_PORT },
    });
    expect(ingress.metadata.annotations['nginx.ingress.kubernetes.io/force-ssl-redirect']).toBe(
      'true',
    );
    expect(hub.apiPublicUrl).toBe('https://ccfed.example.com');
    const api = container(deployment(declared, 'ccfed-api'), 'api');
    expect(envValue(api, 'CCFED_API_TRUSTED_PROXIES')).toBe('10.42.0.0/16');

    // With an issuer instead of a Secret: cert-manager issues the host's certificate.
    const issued = await declare({
      apiIngress: {
        host: 'console.example.com',
        tlsIssuer: { kind: 'ClusterIssuer', name: 'letsencrypt' },
        trustedProxyCidrs: ['10.42.0.0/16'],
      },
    });
    const cert = byMetadataName(
      ofType(issued.declared, 'kubernetes:cert-manager.io/v1:Certificate'),
      'ccfed-api-ingress-tls',
    ).inputs.spec as any;
    expect(cert.dnsNames).toEqual(['console.example.com']);
    expect(cert.issuerRef.name).toBe('letsencrypt');

    // Without an Ingress, nothing outside the cluster reaches the API, and nothing in it may.
    const none = await declare({ apiIngress: undefined });
    expect(ofType(none.declared, 'kubernetes:networking.k8s.io/v1:Ingress')).toEqual([]);
    expect(policy(none.declared, 'ccfed-api').ingress).toEqual([]);
  });

  it('puts the router behind an internal load balancer that admits only the given ranges', async () => {
    const { hub, declared } = await declare({
      routerServiceType: 'LoadBalancer',
      routerSourceRanges: ['10.20.0.0/16', '10.30.0.0/16'],
    });
    for (const r of ['a', 'b']) {
      const svc = byMetadataName(
        ofType(declared, 'kubernetes:core/v1:Service'),
        `ccfed-router-${r}`,
      ).inputs as any;
      expect(svc.metadata.annotations).toEqual(INTERNAL_LB_ANNOTATIONS);
      expect(svc.spec.loadBalancerSourceRanges).toEqual(['10.20.0.0/16', '10.30.0.0/16']);
      expect(svc.spec.externalTrafficPolicy).toBe('Local');
    }
    // Both routers' load balancers, for the sites in other clusters.
    expect(await promiseOf(hub.routerExternalAddress!)).toBe(
      `${MOCK_LOAD_BALANCER_IP}:${ROUTER_PORT},${MOCK_LOAD_BALANCER_IP}:${ROUTER_PORT}`,
    );
    expect(
      () => new CentralHub('open-router', hubArgs(topology, { routerServiceType: 'LoadBalancer' })),
    ).toThrow(/LoadBalancer router needs routerSourceRanges/);
  });

  it('sets requests and limits on every container, and runs none with privileges', async () => {
    const { declared } = await declare({
      resources: {
        api: { requests: { cpu: '500m', memory: '512Mi' }, limits: { cpu: '2', memory: '1Gi' } },
      },
    });
    const workloads = [
      ...ofType(declared, 'kubernetes:apps/v1:Deployment'),
      ...ofType(declared, 'kubernetes:batch/v1:Job'),
    ].map((r) => [r, containersOf(r)] as const);
    for (const cron of ofType(declared, 'kubernetes:batch/v1:CronJob')) {
      const spec = (cron.inputs.spec as any).jobTemplate.spec.template.spec;
      workloads.push([cron, spec.containers]);
    }
    expect(workloads).toHaveLength(7);
    for (const [r, containers] of workloads) {
      for (const c of containers as any[]) {
        expect(c.resources?.requests?.cpu, `${r.name} ${c.name}`).toBeDefined();
        expect(c.resources?.requests?.memory, `${r.name} ${c.name}`).toBeDefined();
        expect(c.resources?.limits?.cpu, `${r.name} ${c.name}`).toBeDefined();
        expect(c.resources?.limits?.memory, `${r.name} ${c.name}`).toBeDefined();
        expect(c.securityContext).toEqual({
          allowPrivilegeEscalation: false,
          capabilities: { drop: ['ALL'] },
        });
      }
    }
    expect((container(deployment(declared, 'ccfed-api'), 'api') as any).resources).toEqual({
      requests: { cpu: '500m', memory: '512Mi' },
      limits: { cpu: '2', memory: '1Gi' },
    });
    expect((container(deployment(declared, 'ccfed-router-a'), 'router') as any).resources).toEqual(
      DEFAULT_RESOURCES.router,
    );
  });

  it('lets each workload have its flows and no other', async () => {
    const { declared } = await declare({ routerSourceRanges: ['10.20.0.0/16'] });
    const kafka = {
      to: [
        {
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ccfed-data' } },
          podSelector: { matchLabels: { app: 'kafka' } },
        },
      ],
      ports: [{ protocol: 'TCP', port: 9093 }],
    };
    const clickhouse = {
      to: [
        {
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ccfed-data' } },
          podSelector: { matchLabels: { app: 'clickhouse' } },
        },
      ],
      ports: [{ protocol: 'TCP', port: 8123 }],
    };
    const router = policy(declared, 'ccfed-router');
    expect(router.podSelector).toEqual({
      matchLabels: { 'app.kubernetes.io/component': 'router' },
    });
    expect(router.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(router.ingress).toEqual([
      {
        from: [
          { podSelector: { matchLabels: { 'app.kubernetes.io/component': 'site' } } },
          { ipBlock: { cidr: '10.20.0.0/16' } },
        ],
        ports: [{ protocol: 'TCP', port: ROUTER_PORT }],
      },
    ]);
    expect(router.egress).toEqual([kafka]);
    expect(policy(declared, 'ccfed-ingester')).toMatchObject({
      ingress: [],
      egress: [kafka, clickhouse],
    });
    expect(policy(declared, 'ccfed-api')).toMatchObject({
      ingress: [
        {
          from: [
            {
              namespaceSelector: {
                matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' },
              },
            },
          ],
          ports: [{ protocol: 'TCP', port: API_PORT }],
        },
      ],
      // The sites' gRPC, in this namespace: recordings are streamed from them.
      egress: [
        kafka,
        clickhouse,
        {
          to: [{ podSelector: { matchLabels: { 'app.kubernetes.io/component': 'site' } } }],
          ports: [...new Set(topology.sites.map((s) => s.grpc.port))].map((port) => ({
            protocol: 'TCP',
            port,
          })),
        },
      ],
    });
    for (const job of ['migrate', 'cross-sell-refresh', 'churn-scoring']) {
      expect(policy(declared, `ccfed-${job}`)).toMatchObject({ ingress: [], egress: [clickhouse] });
    }
    // ClickHouse's own namespace lets in the ingester, the API, the jobs and Grafana: no one else.
    const ch = policy(declared, 'ccfed-clickhouse-clients');
    expect(ch.policyTypes).toEqual(['Ingress']);
    expect(ch.podSelector).toEqual({ matchLabels: { app: 'clickhouse' } });
    expect(ch.ingress[0].from[0].podSelector.matchExpressions[0].values).toEqual([
      'ingester',
      'api',
      'migrate',
      'cross-sell-refresh',
      'churn-scoring',
    ]);
    expect(ch.ingress[0].from[1]).toEqual({
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } },
      podSelector: { matchLabels: { 'app.kubernetes.io/name': 'grafana' } },
    });
    // Every ccfed pod the hub runs is selected by exactly one policy.
    const selected = ofType(declared, 'kubernetes:networking.k8s.io/v1:NetworkPolicy')
      .filter((p) => (p.inputs.metadata as any).namespace === 'ccfed')
      .map((p) => (p.inputs.spec as any).podSelector.matchLabels['app.kubernetes.io/component']);
    expect(selected.sort()).toEqual(
      ['api', 'churn-scoring', 'cross-sell-refresh', 'ingester', 'migrate', 'router'].sort(),
    );
  });

  it('refuses an Ingress or telemetry whose traffic no policy would let through', () => {
    expect(
      () =>
        new CentralHub(
          'no-controller',
          hubArgs(topology, {
            network: { ...hubArgs(topology).network, ingressController: undefined },
          }),
        ),
    ).toThrow(/Ingress needs network.ingressController/);
    expect(
      () =>
        new CentralHub(
          'no-collector',
          hubArgs(topology, { otlpEndpoint: 'http://otel-collector.monitoring:4318' }),
        ),
    ).toThrow(/otlpEndpoint needs network.telemetry/);
  });
});
