// The stack's security settings refuse what would leave a boundary open or a flow with no policy,
// naming the key; a password the stack lacks fails the deployment naming the user.
import * as pulumi from '@pulumi/pulumi';
import { describe, expect, it } from 'vitest';
import { readSecuritySettings } from './stack-security.js';

const BASE: Record<string, string> = {
  'ccfed:clickhouseUrl': 'https://clickhouse.ccfed-data.svc:8443',
  'ccfed:clickhousePasswords': JSON.stringify({
    admin: 'a'.repeat(20),
    ingester: 'i'.repeat(20),
    analytics: 'n'.repeat(20),
    api: 'p'.repeat(20),
    grafana: 'g'.repeat(20),
  }),
  'ccfed:kafkaPasswords': JSON.stringify({ router: 'r'.repeat(20) }),
  'ccfed:federationKey': 'f'.repeat(48),
  'ccfed:tlsIssuer': JSON.stringify({ kind: 'ClusterIssuer', name: 'ccfed-federation-ca' }),
  'ccfed:network': JSON.stringify({
    kafka: { cidrs: ['10.5.0.0/24'], ports: [9093] },
    clickhouse: { cidrs: ['10.6.0.0/24'], ports: [8443] },
  }),
};

function read(extra: Record<string, string | undefined> = {}) {
  const config = Object.fromEntries(
    Object.entries({ ...BASE, ...extra }).filter(([, v]) => v !== undefined),
  ) as Record<string, string>;
  pulumi.runtime.setAllConfig(config, [
    'ccfed:clickhousePasswords',
    'ccfed:kafkaPasswords',
    'ccfed:federationKey',
  ]);
  return readSecuritySettings(new pulumi.Config('ccfed'));
}

/** The value of an Output, or the error it carries. */
function settle<T>(o: pulumi.Output<T>): Promise<T> {
  return (o as unknown as { promise(): Promise<T> }).promise();
}

describe('stack security settings', () => {
  it('reads them, passwords and keys kept secret', async () => {
    const s = read();
    expect(s.clickhouseUrl).toBe('https://clickhouse.ccfed-data.svc:8443');
    expect(s.tlsIssuer).toEqual({ kind: 'ClusterIssuer', name: 'ccfed-federation-ca' });
    expect(s.network.kafka).toEqual({ cidrs: ['10.5.0.0/24'], ports: [9093] });
    expect(s.network.sitePhones).toEqual({});
    expect(s.apiIngress).toBeUndefined();
    expect(await pulumi.isSecret(s.clickhousePasswords.api)).toBe(true);
    expect(await settle(s.clickhousePasswords.api)).toBe('p'.repeat(20));
    expect(await pulumi.isSecret(s.federationKey)).toBe(true);
  });

  it('fails the deployment, naming the user, when a password is missing', async () => {
    await expect(settle(read().kafkaPassword('site-beijing'))).rejects.toThrow(
      'config ccfed:kafkaPasswords has no password for site-beijing',
    );
  });

  it('refuses a ClickHouse URL that carries a login, or is no http(s) URL', () => {
    expect(() => read({ 'ccfed:clickhouseUrl': 'http://default:pw@clickhouse:8123' })).toThrow(
      'config ccfed:clickhouseUrl must not carry a user or password',
    );
    expect(() => read({ 'ccfed:clickhouseUrl': 'tcp://clickhouse:9000' })).toThrow(
      'config ccfed:clickhouseUrl must be an http(s) URL',
    );
  });

  it('requires the issuer of the federation CA and where Kafka and ClickHouse are', () => {
    expect(() => read({ 'ccfed:tlsIssuer': JSON.stringify({ kind: 'CA', name: 'x' }) })).toThrow(
      'config ccfed:tlsIssuer must be {"kind": "ClusterIssuer" or "Issuer"',
    );
    expect(() => read({ 'ccfed:tlsIssuer': undefined })).toThrow(/ccfed:tlsIssuer/);
    expect(() =>
      read({
        'ccfed:network': JSON.stringify({ kafka: { cidrs: ['10.5.0.0/24'], ports: [9093] } }),
      }),
    ).toThrow('config ccfed:network.clickhouse: not a map');
    expect(() =>
      read({
        'ccfed:network': JSON.stringify({
          kafka: { cidrs: ['10.5.0.0/24'] },
          clickhouse: { cidrs: ['10.6.0.0/24'], ports: [8443] },
        }),
      }),
    ).toThrow('config ccfed:network.kafka: ports must be a non-empty list of port numbers');
    expect(() =>
      read({
        'ccfed:network': JSON.stringify({
          kafka: { cidrs: ['anywhere'], ports: [9093] },
          clickhouse: { cidrs: ['10.6.0.0/24'], ports: [8443] },
        }),
      }),
    ).toThrow('config ccfed:network.kafka: cidrs must be a list of CIDRs');
    expect(() =>
      read({
        'ccfed:network': JSON.stringify({
          kafka: { cidrs: ['10.5.0.0/24'], ports: [9093] },
          clickhouse: { cidrs: ['10.6.0.0/24'], ports: [8443] },
          grafna: { namespace: 'monitoring' },
        }),
      }),
    ).toThrow('config ccfed:network has unknown keys grafna');
  });

  it('refuses an API Ingress without exactly one certificate source or without its proxies', () => {
    const ingress = (v: unknown) => read({ 'ccfed:apiIngress': JSON.stringify(v) });
    expect(() =>
      ingress({ host: 'ccfed.example.com', trustedProxyCidrs: ['10.42.0.0/16'] }),
    ).toThrow('config ccfed:apiIngress needs exactly one of tlsSecretName');
    expect(() => ingress({ host: 'ccfed.example.com', tlsSecretName: 'tls' })).toThrow(
      'config ccfed:apiIngress.trustedProxyCidrs must list the CIDRs the ingress controller connects to the API from',
    );
    expect(() =>
      ingress({ host: 'not a host', tlsSecretName: 'tls', trustedProxyCidrs: ['10.42.0.0/16'] }),
    ).toThrow('config ccfed:apiIngress.host must be a DNS name');
    expect(
      ingress({
        host: 'ccfed.example.com',
        tlsIssuer: { kind: 'ClusterIssuer', name: 'letsencrypt' },
        trustedProxyCidrs: ['10.42.0.0/16'],
      }).apiIngress?.tlsIssuer,
    ).toEqual({ kind: 'ClusterIssuer', name: 'letsencrypt' });
  });

  it('refuses resources it cannot read', () => {
    expect(() =>
      read({
        'ccfed:resources': JSON.stringify({
          api: { requests: { cpu: 'lots', memory: '1Gi' }, limits: { cpu: '1', memory: '1Gi' } },
        }),
      }),
    ).toThrow('config ccfed:resources: api.requests.cpu is not a CPU quantity');
    expect(() => read({ 'ccfed:resources': JSON.stringify({ grafana: {} }) })).toThrow(
      'unknown component grafana',
    );
  });
});
