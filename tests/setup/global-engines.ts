import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import type { ClickHouseLogins } from '@ccfed/common';
import {
  newKafkaPassword,
  openPki,
  startClickHouse,
  startKafka,
  type ClickHouseInstance,
  type KafkaInstance,
} from '@ccfed/services';

const RUN_DIR = join(new URL('../../.ccfed/test', import.meta.url).pathname, `run-${process.pid}`);

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string[];
    /** The broker's inter-broker listener (TLS, the broker's own certificate only). */
    kafkaInternalBroker: string;
    /** The CA file the broker's certificate comes from (the run's CA). */
    kafkaCaFile: string;
    /** The broker's super user's password, made for this run (tests/support/kafka.ts). */
    kafkaAdminPassword: string;
    /** What every other Kafka user's password of this run is derived from (tests/support/kafka.ts). */
    kafkaUserSecret: string;
    clickhouseUrl: string;
    /** One login per ClickHouse role (services/src/clickhouse/users.ts), this run's passwords. */
    clickhouseLogins: ClickHouseLogins;
    runDir: string;
    /** The run's certificate authority (services/src/pki.ts): every process's certificate comes from it. */
    pkiDir: string;
  }
}

let kafka: KafkaInstance | undefined;
let clickhouse: ClickHouseInstance | undefined;

/** Starts one real Kafka broker and one real ClickHouse server for the whole integration run. */
export async function setup(project: TestProject): Promise<void> {
  mkdirSync(RUN_DIR, { recursive: true });
  const started = Date.now();
  const pki = await openPki(join(RUN_DIR, 'pki'));
  // The run's broker runs as every broker does: SASL_SSL with SCRAM users and ACLs only.
  const kafkaAdminPassword = newKafkaPassword();
  [kafka, clickhouse] = await Promise.all([
    startKafka({ dataDir: join(RUN_DIR, 'kafka'), pki, adminPassword: kafkaAdminPassword }),
    startClickHouse({ dataDir: join(RUN_DIR, 'clickhouse') }),
  ]);
  console.log(
    `engines ready in ${Date.now() - started} ms: kafka ${kafka.brokers.join(',')}, clickhouse ${clickhouse.url}`,
  );
  project.provide('kafkaBrokers', kafka.brokers);
  project.provide('kafkaCaFile', kafka.caFile);
  project.provide('kafkaInternalBroker', `127.0.0.1:${kafka.internalPort}`);
  project.provide('kafkaAdminPassword', kafkaAdminPassword);
  project.provide('kafkaUserSecret', newKafkaPassword());
  project.provide('clickhouseUrl', clickhouse.url);
  project.provide('clickhouseLogins', clickhouse.logins);
  project.provide('runDir', RUN_DIR);
  project.provide('pkiDir', pki.dir);
}

export async function teardown(): Promise<void> {
  const stopping = Date.now();
  await Promise.allSettled([kafka?.stop(), clickhouse?.stop()]);
  console.log(`engines stopped in ${Date.now() - stopping} ms`);
  // CCFED_KEEP_TEST_DATA=1 keeps every process's log and data for a look after a failure.
  if (process.env.CCFED_KEEP_TEST_DATA === '1') console.log(`test data kept in ${RUN_DIR}`);
  else rmSync(RUN_DIR, { recursive: true, force: true });
}
