import { readFileSync } from 'node:fs';
import { TOPIC_SUFFIXES, topicNames, type TopicKind } from '@ccfed/proto';
import { describe, expect, it } from 'vitest';
import { aclBindings, aclTableMarkdown, KAFKA_ACL_TABLE, type KafkaRole } from './acls.js';

const names = topicNames('ccfed');
const kinds = Object.keys(TOPIC_SUFFIXES) as TopicKind[];
const roles = Object.keys(KAFKA_ACL_TABLE) as KafkaRole[];
const writers = (k: TopicKind) => roles.filter((r) => KAFKA_ACL_TABLE[r].write.includes(k));
const readers = (k: TopicKind) => roles.filter((r) => KAFKA_ACL_TABLE[r].read.includes(k));

describe('the Kafka ACL table', () => {
  it('lets a site write its own events and recording index and read the routing policy and the customer directory, nothing else', () => {
    const site = aclBindings({ role: 'site', site: 'beijing' }, names).map(
      (b) => `${b.operation} ${b.resourceType} ${b.resourceName} ${b.patternType}`,
    );
    expect(site.sort()).toEqual(
      [
        'write topic ccfed.call-events literal',
        'write topic ccfed.agent-events literal',
        'write topic ccfed.site-snapshots literal',
        'write topic ccfed.recordings literal',
        'read topic ccfed.routing-policy literal',
        'read topic ccfed.customer-directory literal',
        'read group ccfed-site.beijing. prefixed',
      ].sort(),
    );
    for (const b of aclBindings({ role: 'site', site: 'beijing' }, names))
      expect(b.principal).toBe('User:site-beijing');
  });

  it('makes the API the only writer of the routing policy, and the ingester the only reader of CRM events', () => {
    expect(writers('routingPolicy')).toEqual(['api']);
    expect(readers('crmEvents')).toEqual(['ingester']);
    expect(writers('customerDirectory')).toEqual(['crm']);
    expect(writers('routeDecisions')).toEqual(['router']);
    // The recording index: the sites that keep recordings write it, only the ingester reads it.
    expect(writers('recordings')).toEqual(['site']);
    expect(readers('recordings')).toEqual(['ingester']);
  });

  it('gives every topic a writer and every consumer a group of its own', () => {
    for (const k of kinds) expect(writers(k), k).not.toEqual([]);
    for (const r of roles) {
      const grant = KAFKA_ACL_TABLE[r];
      expect(grant.groups !== undefined, r).toBe(grant.read.length > 0);
    }
  });

  it("never lets one site's groups prefix another's, even when one id starts the other", () => {
    const prefix = (site: string) =>
      aclBindings({ role: 'site', site }, names).find((b) => b.resourceType === 'group')!
        .resourceName;
    // Group names are `<prefix><pid>-…`: site bj's prefix must not match bj-2's groups.
    expect(`${prefix('bj-2')}123-policy`.startsWith(prefix('bj'))).toBe(false);
    const central = roles
      .filter((r) => r !== 'site' && KAFKA_ACL_TABLE[r].groups)
      .map((r) => KAFKA_ACL_TABLE[r].groups!({ role: r } as never));
    for (const a of central) {
      expect(a.startsWith(prefix('x').slice(0, 'ccfed-site.'.length)), a).toBe(false);
      for (const b of central) if (a !== b) expect(a.startsWith(b), `${a} / ${b}`).toBe(false);
    }
  });

  it('is the table docs/security.md shows', () => {
    const doc = readFileSync(new URL('../../../docs/security.md', import.meta.url), 'utf8');
    expect(doc).toContain(aclTableMarkdown());
  });
});
