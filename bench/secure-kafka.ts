// The benchmarks' Kafka broker, run as everywhere else: TLS from the bench's own CA, SCRAM users
// and ACLs (services/src/kafka/). The bench itself acts as the admin (topics, load, checks); each
// ccfed process it starts gets its principal's user, granted on the bench's topic prefix.
import { join } from 'node:path';
import { createKafka, silentLogger } from '@ccfed/common';
import {
  kafkaUserOf,
  newKafkaPassword,
  openPki,
  provisionKafka,
  startKafka,
  type KafkaInstance,
  type KafkaPrincipal,
  type KafkaUserSecret,
} from '@ccfed/services';
import type { Kafka } from 'kafkajs';

export interface BenchKafka {
  readonly engine: KafkaInstance;
  /** A client as the super user. */
  admin(clientId: string): Kafka;
  /**
   * The CCFED_KAFKA_* and CCFED_TLS_CA variables of a process running as `principal`, whose user
   * is created and granted its ACLs on the topics under `prefix` (created too when missing).
   */
  env(principal: KafkaPrincipal, prefix: string): Promise<Record<string, string>>;
}

/** Starts the broker in `dir` (its CA in `dir`/pki, shared with whatever else the bench runs). */
export async function startBenchKafka(
  dir: string,
  opts: { readonly heapMb?: number; readonly partitions?: number } = {},
): Promise<BenchKafka> {
  const engine = await startKafka({
    dataDir: join(dir, 'kafka'),
    pki: await openPki(join(dir, 'pki')),
    adminPassword: newKafkaPassword(),
    ...opts,
  });
  const passwords = new Map<string, string>();
  return {
    engine,
    admin: (clientId) =>
      createKafka({
        brokers: engine.brokers,
        clientId,
        credentials: engine.admin,
        log: silentLogger(),
      }),
    env: async (principal, prefix) => {
      const user = kafkaUserOf(principal);
      const password = passwords.get(user) ?? newKafkaPassword();
      passwords.set(user, password);
      const secret: KafkaUserSecret = { principal, password };
      await provisionKafka({
        brokers: engine.brokers,
        admin: engine.admin,
        prefix,
        ...(opts.partitions !== undefined && { partitions: opts.partitions }),
        users: [secret],
      });
      return {
        CCFED_KAFKA_BROKERS: engine.brokers.join(','),
        CCFED_KAFKA_USERNAME: user,
        CCFED_KAFKA_PASSWORD: password,
        CCFED_TLS_CA: engine.caFile,
      };
    },
  };
}
