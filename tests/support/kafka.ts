// Kafka as the tests meet it: the run's broker takes only SCRAM users over TLS, with ACLs
// (tests/setup/global-engines.ts). A test acts as the admin for its own set-up and checks
// (topics, reading back what processes wrote), and gives each process it starts the user of its
// principal, created and granted its row of the ACL table on the test's topic prefix here, the
// same way the local federation does (services/src/kafka/provision.ts).
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createKafka, KAFKA_ADMIN_USER, silentLogger, type KafkaCredentials } from '@ccfed/common';
import { kafkaUserOf, provisionKafka, type KafkaPrincipal } from '@ccfed/services';
import type { Kafka } from 'kafkajs';
import { inject } from 'vitest';

export type { KafkaPrincipal };

export function kafkaBrokers(): string[] {
  return inject('kafkaBrokers');
}

/** The broker's super user, for a test's own set-up and checks. */
export function adminCredentials(): KafkaCredentials {
  return {
    username: KAFKA_ADMIN_USER,
    password: inject('kafkaAdminPassword'),
    ca: readFileSync(inject('kafkaCaFile')),
  };
}

/**
 * How long a test's reader lets the broker hold a fetch that has nothing new. kafkajs's
 * disconnect() waits for the fetch in flight, and its default (5 s) made every reader that read
 * all it wanted spend about 5 s more stopping (measured: 5.1-5.5 s per disconnect, 0.1-0.2 s with
 * this). Production consumers keep their own settings.
 */
export const READER_MAX_WAIT_MS = 100;

/** A kafkajs client as the super user. */
export function adminKafka(clientId = 'ccfed-test', brokers = kafkaBrokers()): Kafka {
  return createKafka({ brokers, clientId, credentials: adminCredentials(), log: silentLogger() });
}

/** The run's password of Kafka user `user`: derived, so every test file of the run agrees on it. */
export function kafkaPassword(user: string): string {
  return createHmac('sha256', inject('kafkaUserSecret')).update(user).digest('base64url');
}

const granted = new Map<string, Promise<void>>();

/**
 * The credentials of `principal`, whose user exists and holds its ACLs on the topics under
 * `prefix` once this resolves (done once per user and prefix).
 */
export async function credentialsFor(
  principal: KafkaPrincipal,
  prefix: string,
): Promise<KafkaCredentials> {
  const user = kafkaUserOf(principal);
  const key = `${user}@${prefix}`;
  let done = granted.get(key);
  if (!done) {
    done = provisionKafka({
      brokers: kafkaBrokers(),
      admin: adminCredentials(),
      prefix,
      users: [{ principal, password: kafkaPassword(user) }],
    });
    granted.set(key, done);
    done.catch(() => granted.delete(key));
  }
  await done;
  return { username: user, password: kafkaPassword(user), ca: adminCredentials().ca };
}

/**
 * The CCFED_KAFKA_* and CCFED_TLS_CA variables that let a ccfed process started by a test reach
 * the run's broker as `principal`, on the topics under `prefix`.
 */
export async function kafkaEnv(
  principal: KafkaPrincipal,
  prefix: string,
): Promise<Record<string, string>> {
  const { username, password } = await credentialsFor(principal, prefix);
  return {
    CCFED_KAFKA_BROKERS: kafkaBrokers().join(','),
    CCFED_KAFKA_USERNAME: username,
    CCFED_KAFKA_PASSWORD: password,
    CCFED_TLS_CA: inject('kafkaCaFile'),
  };
}

/** A kafkajs client as `principal`, holding its ACLs on the topics under `prefix`. */
export async function kafkaAs(
  principal: KafkaPrincipal,
  prefix: string,
  clientId = 'ccfed-test',
): Promise<Kafka> {
  return createKafka({
    brokers: kafkaBrokers(),
    clientId,
    credentials: await credentialsFor(principal, prefix),
    log: silentLogger(),
  });
}
