import { topicNames } from '@ccfed/proto';
import { aclBindings } from '@ccfed/services';
import * as pulumi from '@pulumi/pulumi';
import { beforeAll, describe, expect, it } from 'vitest';
import { KafkaAccess, kafkaAdminProvider } from './kafka-access.js';
import { ofType, recordResources, settled, type DeclaredResource } from './testing/pulumi-mocks.js';

let declared: DeclaredResource[];
beforeAll(async () => {
  declared = await recordResources();
});

const USERS = ['router', 'ingester', 'api', 'operator', 'crm', 'site-beijing', 'site-shanghai'];
const passwords = () =>
  pulumi.secret(Object.fromEntries(USERS.map((u) => [u, `pass-of-${u}-0123456789`])));

async function declare(): Promise<DeclaredResource[]> {
  await settled();
  declared.length = 0;
  const provider = kafkaAdminProvider('kafka', {
    brokers: ['kafka-0:9093'],
    username: 'admin',
    password: pulumi.secret('admin-pass-0123456789'),
    caCert: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
  });
  new KafkaAccess(
    'kafka-access',
    { topicPrefix: 'ccfed', siteIds: ['beijing', 'shanghai'], passwords: passwords() },
    { providers: { kafka: provider } },
  );
  await settled();
  return [...declared];
}

/** How the engine receives a secret value: wrapped, so that the state keeps it encrypted. */
const secret = (value: string) => ({
  [pulumi.runtime.specialSigKey]: pulumi.runtime.specialSecretSig,
  value,
});

/** An ACL as `operation resourceType:name (pattern)`, e.g. `Write Topic:ccfed.call-events (Literal)`. */
const aclsOf = (list: DeclaredResource[], principal: string) =>
  ofType(list, 'kafka:index/acl:Acl')
    .filter((a) => a.inputs.aclPrincipal === principal)
    .map(
      (a) =>
        `${a.inputs.aclOperation} ${a.inputs.aclResourceType}:${a.inputs.aclResourceName} (${a.inputs.resourcePatternTypeFilter})`,
    )
    .sort();

describe('KafkaAccess', () => {
  it('logs the provider in as the admin over TLS with SCRAM-SHA-512', async () => {
    const list = await declare();
    const [provider] = ofType(list, 'pulumi:providers:kafka');
    expect(provider!.inputs).toMatchObject({
      bootstrapServers: JSON.stringify(['kafka-0:9093']),
      tlsEnabled: 'true',
      saslMechanism: 'scram-sha512',
      saslUsername: 'admin',
      caCert: expect.stringContaining('BEGIN CERTIFICATE'),
    });
    // The password reaches the provider only as a secret (kept encrypted in the state).
    expect(provider!.inputs.saslPassword).toEqual(secret('admin-pass-0123456789'));
  });

  it('declares one SCRAM-SHA-512 user per principal, its password a secret', async () => {
    const list = await declare();
    const users = ofType(list, 'kafka:index/userScramCredential:UserScramCredential');
    expect(users.map((u) => u.inputs.username).sort()).toEqual([...USERS].sort());
    for (const u of users) {
      expect(u.inputs.scramMechanism).toBe('SCRAM-SHA-512');
      expect(u.inputs.scramIterations).toBe(8192);
      expect(u.inputs.password).toEqual(
        secret(`pass-of-${u.inputs.username as string}-0123456789`),
      );
    }
  });

  it('grants each principal exactly its row of the ACL table', async () => {
    const list = await declare();
    const names = topicNames('ccfed');
    expect(aclsOf(list, 'User:site-beijing')).toEqual([
      'Read Group:ccfed-site.beijing. (Prefixed)',
      'Read Topic:ccfed.customer-directory (Literal)',
      'Read Topic:ccfed.routing-policy (Literal)',
      'Write Topic:ccfed.agent-events (Literal)',
      'Write Topic:ccfed.call-events (Literal)',
      'Write Topic:ccfed.recordings (Literal)',
      'Write Topic:ccfed.site-snapshots (Literal)',
    ]);
    // Only the API writes the routing policy; no site reads the CRM's events.
    const all = ofType(list, 'kafka:index/acl:Acl');
    expect(
      all
        .filter((a) => a.inputs.aclResourceName === names.routingPolicy)
        .filter((a) => a.inputs.aclOperation === 'Write')
        .map((a) => a.inputs.aclPrincipal),
    ).toEqual(['User:api']);
    expect(
      all
        .filter((a) => a.inputs.aclResourceName === names.crmEvents)
        .filter((a) => a.inputs.aclOperation === 'Read')
        .map((a) => a.inputs.aclPrincipal),
    ).toEqual(['User:ingester']);
    // Every entry of the table, and nothing else.
    const expected = ['router', 'ingester', 'api', 'operator', 'crm']
      .map((role) => aclBindings({ role } as never, names))
      .concat(['beijing', 'shanghai'].map((site) => aclBindings({ role: 'site', site }, names)))
      .flat();
    expect(all).toHaveLength(expected.length);
    for (const a of all)
      expect(a.inputs).toMatchObject({ aclHost: '*', aclPermissionType: 'Allow' });
  });
});
