import * as pulumi from '@pulumi/pulumi';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { deployFederation } from './federation.js';
import { readStackSettings } from './stack-config.js';
import { ofType, promiseOf, recordResources, settled } from './testing/pulumi-mocks.js';

const DEPLOY = new URL('../', import.meta.url).pathname;
const SECRET_KEYS = [
  'ccfed:apiSecret',
  'ccfed:apiUsers',
  'ccfed:callerHashKey',
  'ccfed:federationKey',
  'ccfed:clickhousePasswords',
  'ccfed:kafkaAdminPassword',
  'ccfed:kafkaPasswords',
  'ccfed:sipSecrets',
];
const REQUIRED = [
  'ccfed:topologyFile',
  'ccfed:namespace',
  'ccfed:imageRepository',
  'ccfed:imageTag',
  'ccfed:kamailioImage',
  'ccfed:rtpengineImage',
  'ccfed:kafkaBrokers',
  'ccfed:clickhouseUrl',
  'ccfed:tlsIssuer',
  'ccfed:network',
];

/** A stack file's config as the engine hands it to the program, secrets set as --secret would. */
function useStack(stack: string): void {
  const config = parse(readFileSync(`${DEPLOY}Pulumi.${stack}.yaml`, 'utf8')).config;
  pulumi.runtime.setAllConfig(
    {
      ...Object.fromEntries(
        Object.entries(config).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]),
      ),
      'ccfed:apiSecret': 'x'.repeat(48),
      'ccfed:apiUsers': 'users: []\n',
      'ccfed:callerHashKey': 'k'.repeat(32),
      'ccfed:federationKey': 'f'.repeat(48),
      'ccfed:clickhousePasswords': JSON.stringify(
        Object.fromEntries(
          ['admin', 'ingester', 'analytics', 'api', 'grafana'].map((r) => [
            r,
            `${r}-pw-0123456789`,
          ]),
        ),
      ),
      'ccfed:kafkaAdminPassword': 'a'.repeat(32),
      'ccfed:sipSecrets': JSON.stringify(
        Object.fromEntries(['shanghai', 'beijing', 'guangzhou'].map((s) => [s, 's'.repeat(44)])),
      ),
      'ccfed:kafkaPasswords': JSON.stringify(
        Object.fromEntries(
          ['router', 'ingester', 'api', 'operator', 'crm']
            .concat(['shanghai', 'beijing', 'guangzhou'].map((s) => `site-${s}`))
            .map((u) => [u, 'p'.repeat(32)]),
        ),
      ),
    },
    SECRET_KEYS,
  );
}

describe('stack files', () => {
  it('name the project the program reads its config under', () => {
    const project = parse(readFileSync(`${DEPLOY}Pulumi.yaml`, 'utf8'));
    expect(project.name).toBe('ccfed');
    expect(project.main).toBe('src/index.ts');
  });

  for (const stack of ['dev', 'prod']) {
    it(`${stack}: sets every plain key and commits no secret in clear`, () => {
      const config = parse(readFileSync(`${DEPLOY}Pulumi.${stack}.yaml`, 'utf8')).config;
      for (const key of REQUIRED) expect(config, key).toHaveProperty([key]);
      // A secret is either absent (set later with --secret) or Pulumi's encrypted form.
      for (const key of SECRET_KEYS) {
        if (key in config) expect(Object.keys(config[key]), key).toEqual(['secure']);
      }
      expect(Object.keys(config).every((k) => k.startsWith('ccfed:'))).toBe(true);
    });
  }

  it('prod: the program reads the stack', () => {
    useStack('prod');
    const settings = readStackSettings(new pulumi.Config('ccfed'), DEPLOY);
    expect(settings.topologyFile).toBe(`${DEPLOY}topology.prod.yaml`);
    expect(settings.kafkaBrokers).toHaveLength(3);
    expect(settings.topicReplicationFactor).toBe(3);
    expect(settings.clickhouseCluster).toEqual({
      shards: 2,
      replicas: 2,
      zookeeperNodes: 3,
      domain: 'ccfed-data.svc.cluster.local',
    });
    expect(settings.topicPartitions).toBe(6);
    expect(Object.keys(settings.siteNodeSelectors)).toEqual(['shanghai', 'beijing', 'guangzhou']);
    expect(Object.keys(settings.siteClusters)).toEqual(['beijing', 'guangzhou']);
    expect(settings.routerServiceType).toBe('LoadBalancer');
    // The router's load balancer admits the branches only; the API is served over TLS only.
    expect(settings.security.routerSourceRanges).toHaveLength(3);
    expect(settings.security.apiIngress).toMatchObject({ host: 'ccfed.example.com' });
    expect(settings.security.network.remoteRouter?.ports).toEqual([50051]);
  });

  it('dev: the program reads the stack and declares the example federation from it', async () => {
    const declared = await recordResources();
    useStack('dev');
    const settings = readStackSettings(new pulumi.Config('ccfed'), DEPLOY);
    expect(settings.kafkaAdminBrokers).toEqual(['127.0.0.1:9092']);
    expect(settings.topicReplicationFactor).toBe(1);
    expect(settings.siteHostNetwork).toBe(true);
    const federation = deployFederation(settings);
    await promiseOf(pulumi.all(federation.sites.map((s) => s.workloadName)));
    await settled();
    expect(federation.sites.map((s) => s.siteId)).toEqual(['shanghai', 'beijing', 'guangzhou']);
    expect(federation.hub.grafanaConfigMaps).toHaveLength(3);
    const topics = ofType(declared, 'kafka:index/topic:Topic');
    expect(topics.every((t) => t.inputs.replicationFactor === 1)).toBe(true);
    const sip = ofType(declared, 'kubernetes:core/v1:Service').filter((svc) =>
      svc.name.includes('-sip-'),
    );
    expect(sip).toHaveLength(6);
    // The example's site agents listen on loopback: no probe could reach them.
    const agents = ofType(declared, 'kubernetes:apps/v1:StatefulSet').map(
      (w) => (w.inputs.spec as any).template.spec.containers[1],
    );
    expect(agents.map((c) => [c.name, c.readinessProbe])).toEqual([
      ['site-agent', undefined],
      ['site-agent', undefined],
      ['site-agent', undefined],
    ]);
    expect(sip.every((svc) => (svc.inputs.spec as any).type === 'NodePort')).toBe(true);
    const ingress = ofType(declared, 'kubernetes:networking.k8s.io/v1:Ingress');
    expect((ingress[0]!.inputs.spec as any).tls[0].hosts).toEqual(['ccfed.dev.example.internal']);
  });
});
