// The admin's side of the brokers: topics, SCRAM users and their ACLs, all done as the super user
// over the client listener. The one way ccfed sets a broker up for a topic prefix, called by the
// local federation's start, the test setup and the benchmarks (Pulumi declares the same from the
// same table: deploy/src/kafka-access.ts). Each step is idempotent, so it runs on every start.

import { pbkdf2, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import {
  createKafka,
  ensureTopics,
  errorMessage,
  silentLogger,
  type KafkaCredentials,
} from '@ccfed/common';
import { topicCreations, topicNames, DEFAULT_TOPIC_PARTITIONS } from '@ccfed/proto';
import type * as PlatformaticKafka from '@platformatic/kafka';
import type { Connection } from '@platformatic/kafka';
import kafkajs, { type AclEntry, type Kafka } from 'kafkajs';
import { aclBindings, kafkaUserOf, type KafkaAclBinding, type KafkaPrincipal } from './acls.js';
import type { KafkaReplication } from './server-properties.js';

// kafkajs's enums are only on its CommonJS default export when imported from ES modules.
const { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes } = kafkajs;

/** How the admin reaches the brokers. */
export interface KafkaAdminAccess {
  readonly brokers: readonly string[];
  /** The super user's credentials (KafkaInstance.admin for a launched broker). */
  readonly admin: KafkaCredentials;
}

/** A principal and the password its SCRAM user is given. */
export interface KafkaUserSecret {
  readonly principal: KafkaPrincipal;
  readonly password: string;
}

export interface ProvisionOptions extends KafkaAdminAccess {
  /** The topic prefix (`ccfed` in production, a fresh one per test). */
  readonly prefix: string;
  /** Partitions of each event topic; state topics have one. */
  readonly partitions?: number;
  /**
   * How the topics created are replicated (KafkaInstance.replication for a launched cluster);
   * the brokers' defaults when omitted. Topics that exist already are left as they are.
   */
  readonly replication?: KafkaReplication;
  /** Users to create or update, each granted its row of the ACL table on the prefix's topics. */
  readonly users: readonly KafkaUserSecret[];
}

/**
 * Creates the prefix's topics that are missing, creates or updates each user's SCRAM credential,
 * and grants each user its ACLs; resolves once the broker answers with all of it, so a client
 * started next can log in and use its topics.
 */
export async function provisionKafka(opts: ProvisionOptions): Promise<void> {
  const kafka = adminKafka(opts);
  const names = topicNames(opts.prefix);
  await ensureTopics(
    kafka,
    topicCreations(names, opts.partitions ?? DEFAULT_TOPIC_PARTITIONS).map((t) => ({
      ...t,
      ...(opts.replication && {
        replicationFactor: opts.replication.factor,
        minInsyncReplicas: opts.replication.minInsyncReplicas,
      }),
    })),
  );
  await upsertScramUsers(
    opts,
    opts.users.map((u) => ({ user: kafkaUserOf(u.principal), password: u.password })),
  );
  await grantAcls(
    kafka,
    opts.users.flatMap((u) => aclBindings(u.principal, names)),
  );
}

/** A password for a new Kafka user: 192 random bits, in characters any config file takes. */
export function newKafkaPassword(): string {
  return randomBytes(24).toString('base64url');
}

/** A kafkajs client as the super user. */
export function adminKafka(access: KafkaAdminAccess, clientId = 'ccfed-admin'): Kafka {
  return createKafka({
    brokers: access.brokers,
    clientId,
    credentials: access.admin,
    log: silentLogger(),
  });
}

// RFC 7677 asks for at least 4096; Kafka refuses fewer.
const SCRAM_ITERATIONS = 8192;
const pbkdf2Async = promisify(pbkdf2);

/**
 * @platformatic/kafka takes over a second of CPU to load, and every process that imports
 * @ccfed/services (site agents, the CLI) would pay it at start: only the SCRAM steps load it.
 */
let platformaticKafka: Promise<typeof PlatformaticKafka> | undefined;
const loadPlatformaticKafka = () => (platformaticKafka ??= import('@platformatic/kafka'));

/**
 * Sets each user's SCRAM-SHA-512 credential (creating the user, or replacing its password), and
 * waits until the broker knows them all. kafkajs has no AlterUserScramCredentials, so this one
 * request goes through @platformatic/kafka's protocol layer; the salted password is computed
 * here, as Kafka's own tools do (RFC 5802), so the password itself never crosses the wire.
 */
export async function upsertScramUsers(
  access: KafkaAdminAccess,
  users: readonly { readonly user: string; readonly password: string }[],
): Promise<void> {
  if (users.length === 0) return;
  const { alterUserScramCredentialsV0, describeUserScramCredentialsV0, ScramMechanisms } =
    await loadPlatformaticKafka();
  const upsertions = await Promise.all(
    users.map(async ({ user, password }) => {
      const salt = randomBytes(32);
      return {
        name: user,
        mechanism: ScramMechanisms.SCRAM_SHA_512,
        iterations: SCRAM_ITERATIONS,
        salt,
        saltedPassword: await pbkdf2Async(password, salt, SCRAM_ITERATIONS, 64, 'sha512'),
      };
    }),
  );
  const connection = await adminConnection(access);
  try {
    await alterUserScramCredentialsV0.api.async(connection, [], upsertions);
    // The controller has them; the broker applies them from the metadata log a moment later.
    const wanted = users.map((u) => ({ name: u.user }));
    await until('the broker knows every new Kafka user', async () => {
      const described = await describeUserScramCredentialsV0.api
        .async(connection, wanted)
        .catch(() => undefined);
      return described?.results.every((r) => r.errorCode === 0 && r.credentialInfos.length > 0);
    });
  } finally {
    await connection.close();
  }
}

/** A logged-in connection to the first broker of `access.brokers` that answers (any broker forwards these requests to the controller). */
async function adminConnection(access: KafkaAdminAccess): Promise<Connection> {
  const { Connection } = await loadPlatformaticKafka();
  let lastError: unknown;
  for (const broker of access.brokers) {
    const [host, port] = splitBroker(broker);
    const connection = new Connection('ccfed-admin', {
      tls: { ca: access.admin.ca },
      sasl: {
        mechanism: 'SCRAM-SHA-512',
        username: access.admin.username,
        password: access.admin.password,
      },
      connectTimeout: 5_000,
      requestTimeout: 15_000,
    });
    try {
      await connection.connect(host, port);
      return connection;
    } catch (err) {
      lastError = err;
      await connection.close().catch(() => undefined);
    }
  }
  throw new Error(
    `cannot log in to Kafka at ${access.brokers.join(',')} as ${access.admin.username}: ${errorMessage(lastError)}`,
  );
}

function splitBroker(broker: string): [string, number] {
  const at = broker.lastIndexOf(':');
  return [broker.slice(0, at), Number(broker.slice(at + 1))];
}

/**
 * Creates the ACL entries (an entry that exists already is left as it is) and waits until the
 * broker's authorizer has every one of them.
 */
export async function grantAcls(kafka: Kafka, bindings: readonly KafkaAclBinding[]): Promise<void> {
  if (bindings.length === 0) return;
  const entries = bindings.map(aclEntry);
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createAcls({ acl: entries });
    await until('the broker applies every ACL', async () => {
      for (const principal of new Set(entries.map((e) => e.principal))) {
        const { resources } = await admin.describeAcls({
          resourceType: AclResourceTypes.ANY,
          resourcePatternType: ResourcePatternTypes.ANY,
          principal,
          operation: AclOperationTypes.ANY,
          permissionType: AclPermissionTypes.ALLOW,
        });
        const held = new Set(
          resources.flatMap((r) =>
            r.acls.map(
              (a) => `${r.resourceType}/${r.resourcePatternType}/${r.resourceName}/${a.operation}`,
            ),
          ),
        );
        const missing = entries.filter(
          (e) =>
            e.principal === principal &&
            !held.has(
              `${e.resourceType}/${e.resourcePatternType}/${e.resourceName}/${e.operation}`,
            ),
        );
        if (missing.length > 0) return false;
      }
      return true;
    });
  } finally {
    await admin.disconnect();
  }
}

function aclEntry(b: KafkaAclBinding): AclEntry {
  return {
    principal: b.principal,
    host: '*',
    resourceType: b.resourceType === 'topic' ? AclResourceTypes.TOPIC : AclResourceTypes.GROUP,
    resourceName: b.resourceName,
    resourcePatternType:
      b.patternType === 'literal' ? ResourcePatternTypes.LITERAL : ResourcePatternTypes.PREFIXED,
    operation: b.operation === 'read' ? AclOperationTypes.READ : AclOperationTypes.WRITE,
    permissionType: AclPermissionTypes.ALLOW,
  };
}

/** Polls `check` until it is true; fails after 30 s naming `what`. */
async function until(what: string, check: () => Promise<boolean | undefined>): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
