// Who a Kafka client is: every ccfed process reaches the brokers over TLS (trusting the
// federation's CA, as for gRPC) and logs in with SCRAM-SHA-512 as its own Kafka user. What each
// user may read and write is the brokers' ACL table (services/src/kafka/acls.ts); the names
// below are what that table and the processes agree on. There is no anonymous or plaintext
// client: createKafka() takes these credentials or nothing.

import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { kafkaBrokersSchema } from './config.js';

/** A Kafka client's credentials: its SCRAM user and password, and the CA the brokers' certificates come from. */
export interface KafkaCredentials {
  readonly username: string;
  readonly password: string;
  /** PEM of the CA that issued the brokers' certificates. */
  readonly ca: Buffer | string;
}

/** The super user: creates topics, users and ACLs (the local federation's start, the tests, Pulumi). */
export const KAFKA_ADMIN_USER = 'admin';

/** The central principals' Kafka users. A site's is `site-<siteId>` (siteKafkaUser). */
export const KAFKA_SERVICE_USERS = ['router', 'ingester', 'api', 'operator', 'crm'] as const;
export type KafkaServiceUser = (typeof KAFKA_SERVICE_USERS)[number];

/** A site agent's Kafka user. */
export function siteKafkaUser(siteId: string): string {
  return `site-${siteId}`;
}

/**
 * What each principal's consumer groups start with: the ACLs grant groups by prefix. A site id
 * may contain '-' but not '.', so `ccfed-site.<id>.` never matches another site's groups.
 */
export const KAFKA_GROUP_PREFIXES = {
  /** processGroupId('ccfed-router'). */
  router: 'ccfed-router-',
  /** CCFED_CONSUMER_GROUP, `ccfed-ingester` by default. */
  ingester: 'ccfed-ingester',
  /** processGroupId('ccfed-api-live') and processGroupId('ccfed-api') + '-policy'. */
  api: 'ccfed-api-',
  /** The CLI's `ccfed decisions`. */
  operator: 'ccfed-cli-',
} as const satisfies Partial<Record<KafkaServiceUser, string>>;

/** What a site agent's consumer groups start with (siteGroupId). */
export function siteGroupPrefix(siteId: string): string {
  return `ccfed-site.${siteId}.`;
}

/** A consumer group of site `siteId`'s agent, for `purpose`, unique to this process. */
export function siteGroupId(siteId: string, purpose: string): string {
  return `${siteGroupPrefix(siteId)}${process.pid}-${Date.now().toString(36)}-${purpose}`;
}

/** Kafka user names ccfed creates: `admin`, a service name, or `site-<id>`. */
export const KAFKA_USER_PATTERN = /^[a-z][a-z0-9-]{0,63}$/;

/**
 * Where a process finds Kafka and its credentials: CCFED_KAFKA_BROKERS, CCFED_KAFKA_USERNAME,
 * CCFED_KAFKA_PASSWORD, and the federation CA (CCFED_TLS_CA, the same file gRPC trusts).
 */
export const kafkaEnvSchema = {
  CCFED_KAFKA_BROKERS: kafkaBrokersSchema,
  CCFED_KAFKA_USERNAME: z
    .string({ error: "required: this process's Kafka user (SCRAM), e.g. router or site-beijing" })
    .regex(KAFKA_USER_PATTERN, 'expected a Kafka user name such as router or site-beijing'),
  CCFED_KAFKA_PASSWORD: z
    .string({ error: "required: the Kafka user's SCRAM password" })
    .min(1, "required: the Kafka user's SCRAM password"),
  CCFED_TLS_CA: z
    .string({ error: "required: path of the federation CA's certificate (PEM)" })
    .min(1),
};

/** The credentials the CCFED_KAFKA_* and CCFED_TLS_CA variables of a parsed config name. */
export function kafkaCredentialsFromEnv(config: {
  readonly CCFED_KAFKA_USERNAME: string;
  readonly CCFED_KAFKA_PASSWORD: string;
  readonly CCFED_TLS_CA: string;
}): KafkaCredentials {
  return {
    username: config.CCFED_KAFKA_USERNAME,
    password: config.CCFED_KAFKA_PASSWORD,
    ca: readCaFile(config.CCFED_TLS_CA),
  };
}

/** The CA certificate in `path`, or an error that names the file. */
export function readCaFile(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new Error(`cannot read the CA certificate ${path}: ${(err as Error).message}`);
  }
}
