// Who may do what on the brokers: one declarative table, by principal and topic kind. The local
// federation, the tests and the benchmarks grant it through provision.ts, Pulumi through
// deploy/src/kafka-access.ts, and docs/security.md shows it (a unit test keeps the page in step).
// The brokers run with allow.everyone.if.no.acl.found=false, so whatever is not here is refused.
// Pure: no I/O.

import {
  KAFKA_GROUP_PREFIXES,
  siteGroupPrefix,
  siteKafkaUser,
  type KafkaServiceUser,
} from '@ccfed/common';
import { TOPIC_SUFFIXES, type TopicKind, type TopicNames } from '@ccfed/proto';

/** A Kafka principal: one site's agent, or a central one. */
export type KafkaPrincipal =
  { readonly role: 'site'; readonly site: string } | { readonly role: KafkaServiceUser };

export type KafkaRole = KafkaPrincipal['role'];

/** What one role may do. */
export interface KafkaGrant {
  /** Who holds it, for people reading the table. */
  readonly who: string;
  /**
   * Topics it produces to (WRITE). DESCRIBE comes with WRITE, and since Kafka 3.0 so does an
   * idempotent producer's id (IDEMPOTENT_WRITE), so no cluster-wide right is needed.
   */
  readonly write: readonly TopicKind[];
  /** Topics it consumes (READ; DESCRIBE, hence offsets and metadata, comes with it). */
  readonly read: readonly TopicKind[];
  /** The prefix its consumer groups' names start with; none when it consumes nothing. */
  readonly groups?: (p: KafkaPrincipal) => string;
}

/**
 * The ACL table. Nobody but the admin creates, deletes or alters a topic, and nobody holds a
 * cluster-wide right.
 */
export const KAFKA_ACL_TABLE: { readonly [R in KafkaRole]: KafkaGrant } = {
  site: {
    who: 'a site agent',
    // Its own events and the index of the recordings it keeps; the routing policy (overflow
    // thresholds) and who its callers are.
    write: ['callEvents', 'agentEvents', 'siteSnapshots', 'recordings'],
    read: ['routingPolicy', 'customerDirectory'],
    groups: (p) => siteGroupPrefix(p.role === 'site' ? p.site : ''),
  },
  router: {
    who: 'the central router',
    write: ['routeDecisions'],
    // Route decisions too: the two routers of a pair hold each other's reservations.
    read: ['siteSnapshots', 'callEvents', 'routeDecisions', 'routingPolicy'],
    groups: () => KAFKA_GROUP_PREFIXES.router,
  },
  ingester: {
    who: 'the central ingester',
    write: ['deadLetter'],
    read: [
      'callEvents',
      'agentEvents',
      'siteSnapshots',
      'surveys',
      'crmEvents',
      'routeDecisions',
      'recordings',
    ],
    groups: () => KAFKA_GROUP_PREFIXES.ingester,
  },
  api: {
    who: "the HTTP API: live wall, agents' desktops (screen pop), HQ's routing-policy edits",
    write: ['routingPolicy'],
    // Call events and route decisions: the screen pop's live context (who is calling, from which
    // site, why the router moved the call) before the ingester has stored them.
    read: ['siteSnapshots', 'agentEvents', 'callEvents', 'routeDecisions', 'routingPolicy'],
    groups: () => KAFKA_GROUP_PREFIXES.api,
  },
  operator: {
    who: 'an SRE with the `ccfed` CLI: `ccfed decisions`',
    write: [],
    read: ['routeDecisions'],
    groups: () => KAFKA_GROUP_PREFIXES.operator,
  },
  crm: {
    who: 'the enterprise CRM connector',
    write: ['crmEvents', 'surveys', 'customerDirectory'],
    read: [],
  },
};

/** The principal's Kafka user name (its SCRAM user; `User:<name>` in the ACLs). */
export function kafkaUserOf(p: KafkaPrincipal): string {
  return p.role === 'site' ? siteKafkaUser(p.site) : p.role;
}

/** One ACL entry, in the brokers' terms but no client library's. */
export interface KafkaAclBinding {
  readonly principal: string;
  readonly resourceType: 'topic' | 'group';
  readonly resourceName: string;
  readonly patternType: 'literal' | 'prefixed';
  readonly operation: 'read' | 'write';
}

/**
 * The ACL entries that give `p` its row of the table on the topics `names` (one topic prefix);
 * group rights are granted by group name prefix, whatever the topic prefix.
 */
export function aclBindings(p: KafkaPrincipal, names: TopicNames): KafkaAclBinding[] {
  const grant = KAFKA_ACL_TABLE[p.role];
  const principal = `User:${kafkaUserOf(p)}`;
  const topic = (kind: TopicKind, operation: 'read' | 'write'): KafkaAclBinding => ({
    principal,
    resourceType: 'topic',
    resourceName: names[kind],
    patternType: 'literal',
    operation,
  });
  return [
    ...grant.write.map((k) => topic(k, 'write')),
    ...grant.read.map((k) => topic(k, 'read')),
    ...(grant.groups
      ? [
          {
            principal,
            resourceType: 'group' as const,
            resourceName: grant.groups(p),
            patternType: 'prefixed' as const,
            operation: 'read' as const,
          },
        ]
      : []),
  ];
}

/** The table as the Markdown docs/security.md shows (kept in step by acls.test.ts). */
export function aclTableMarkdown(): string {
  const kinds = Object.keys(TOPIC_SUFFIXES) as TopicKind[];
  const example: { [R in KafkaRole]: KafkaPrincipal } = {
    site: { role: 'site', site: '<site>' },
    router: { role: 'router' },
    ingester: { role: 'ingester' },
    api: { role: 'api' },
    operator: { role: 'operator' },
    crm: { role: 'crm' },
  };
  const roles = Object.keys(KAFKA_ACL_TABLE) as KafkaRole[];
  const header = `| Kafka user | who | ${kinds.map((k) => `\`${TOPIC_SUFFIXES[k]}\``).join(' | ')} | consumer groups |`;
  const rule = `| --- | --- | ${kinds.map(() => '---').join(' | ')} | --- |`;
  const rows = roles.map((role) => {
    const grant = KAFKA_ACL_TABLE[role];
    const p = example[role];
    const cells = kinds.map((k) =>
      [grant.read.includes(k) && 'read', grant.write.includes(k) && 'write']
        .filter(Boolean)
        .join(', '),
    );
    const groups = grant.groups ? `\`${grant.groups(p)}*\`` : '';
    return `| \`${kafkaUserOf(p)}\` | ${grant.who} | ${cells.join(' | ')} | ${groups} |`;
  });
  return [header, rule, ...rows].join('\n');
}
