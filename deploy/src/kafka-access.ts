// Who may use the brokers, declared: a SCRAM-SHA-512 user per principal (each site, router,
// ingester, api, operator, crm) with its password from the stack's secrets, and the ACLs of the
// one table the local federation and the tests grant too (services/src/kafka/acls.ts). Declared
// through the admin's Kafka provider, whose brokers run allow.everyone.if.no.acl.found=false.
import * as kafka from '@pulumi/kafka';
import * as pulumi from '@pulumi/pulumi';
import { KAFKA_SERVICE_USERS } from '@ccfed/common';
import { topicNames } from '@ccfed/proto';
import { aclBindings, kafkaUserOf, type KafkaPrincipal } from '@ccfed/services';

export interface KafkaAccessArgs {
  /** The topic prefix the ACLs name (`ccfed` in production). */
  readonly topicPrefix: string;
  readonly siteIds: readonly string[];
  /** Each Kafka user's password, by user name (stack secret kafkaPasswords). */
  readonly passwords: pulumi.Output<Record<string, string>>;
}

/** How the Pulumi Kafka provider logs in: the admin user over TLS. */
export interface KafkaAdminLogin {
  readonly brokers: string[];
  readonly username: string;
  readonly password: pulumi.Input<string>;
  /** PEM of the CA that issued the brokers' certificates; the system's roots without it. */
  readonly caCert?: string;
}

/** The admin's Kafka provider: SASL_SSL with SCRAM-SHA-512, as every ccfed client. */
export function kafkaAdminProvider(name: string, login: KafkaAdminLogin): kafka.Provider {
  return new kafka.Provider(name, {
    bootstrapServers: login.brokers,
    tlsEnabled: true,
    ...(login.caCert !== undefined && { caCert: login.caCert }),
    saslMechanism: 'scram-sha512',
    saslUsername: login.username,
    saslPassword: login.password,
  });
}

const ACL_OPERATION = { read: 'Read', write: 'Write' } as const;
const ACL_RESOURCE = { topic: 'Topic', group: 'Group' } as const;
const ACL_PATTERN = { literal: 'Literal', prefixed: 'Prefixed' } as const;

/** The federation's Kafka users and their ACLs. */
export class KafkaAccess extends pulumi.ComponentResource {
  /** By Kafka user name. */
  readonly users: Readonly<Record<string, kafka.UserScramCredential>>;
  /**
   * Each user's password (a secret), by user name: what its workload gets as
   * CCFED_KAFKA_PASSWORD, with CCFED_KAFKA_USERNAME and the CA file as CCFED_TLS_CA.
   */
  readonly passwords: Readonly<Record<string, pulumi.Output<string>>>;
  readonly acls: readonly kafka.Acl[];

  constructor(name: string, args: KafkaAccessArgs, opts?: pulumi.ComponentResourceOptions) {
    super('ccfed:deploy:KafkaAccess', name, {}, opts);
    const parent = { parent: this };
    const names = topicNames(args.topicPrefix);
    const principals: KafkaPrincipal[] = [
      ...KAFKA_SERVICE_USERS.map((role) => ({ role })),
      ...args.siteIds.map((site) => ({ role: 'site' as const, site })),
    ];
    const users: Record<string, kafka.UserScramCredential> = {};
    const passwords: Record<string, pulumi.Output<string>> = {};
    const acls: kafka.Acl[] = [];
    for (const principal of principals) {
      const user = kafkaUserOf(principal);
      const password = pulumi.secret(
        args.passwords.apply((all) => {
          const p = all[user];
          if (typeof p !== 'string' || p.length < 16)
            throw new Error(
              `config ccfed:kafkaPasswords has no password of at least 16 characters for Kafka user ${user}`,
            );
          return p;
        }),
      );
      passwords[user] = password;
      users[user] = new kafka.UserScramCredential(
        `${name}-user-${user}`,
        { username: user, scramMechanism: 'SCRAM-SHA-512', scramIterations: 8192, password },
        parent,
      );
      for (const b of aclBindings(principal, names)) {
        acls.push(
          new kafka.Acl(
            `${name}-${user}-${b.operation}-${b.resourceType}-${b.resourceName}`,
            {
              aclPrincipal: b.principal,
              aclHost: '*',
              aclOperation: ACL_OPERATION[b.operation],
              aclPermissionType: 'Allow',
              aclResourceType: ACL_RESOURCE[b.resourceType],
              aclResourceName: b.resourceName,
              resourcePatternTypeFilter: ACL_PATTERN[b.patternType],
            },
            parent,
          ),
        );
      }
    }
    this.users = users;
    this.passwords = passwords;
    this.acls = acls;
    this.registerOutputs({});
  }
}
