// The central ingester process: reads its config, starts the Kafka → ClickHouse pipeline.
import { createClient } from '@clickhouse/client';
import {
  clickhouseClientOptions,
  createKafka,
  createLogger,
  kafkaCredentialsFromEnv,
  Lifecycle,
  parseEnvConfig,
  startProcess,
  startTelemetry,
} from '@ccfed/common';
import { topicNames } from '@ccfed/proto';
import { ingesterConfigSchema } from './config.js';
import { kafkajsConsumer } from './consumer-kafkajs.js';
import { platformaticConsumer } from './consumer-platformatic.js';
import { Ingester } from './ingester.js';

await startProcess('ingester', async () => {
  const log = createLogger('ingester');
  const config = parseEnvConfig(ingesterConfigSchema);
  const lifecycle = new Lifecycle({ log });
  lifecycle.install();
  const telemetry = await startTelemetry({ serviceName: 'ingester', log });

  const clientOptions = {
    ...clickhouseClientOptions(config),
    // Under CPU pressure a starved event loop reads an answer late, thinks the connection
    // younger than the server does (keep_alive_timeout 3 s), reuses it after the server closed
    // it, and the INSERT dies with EPIPE; the batch is then retried, so nothing is lost, but it
    // costs a round. Dropping sockets idle for 1 s before each request makes that rarer.
    // (Without keep-alive at all, bench:ingest saw no EPIPE, but tests/ingester/exactly-once's
    // first step, which expects rows after 3 INSERTs, failed with kafkajs twice.)
    keep_alive: { enabled: true, idle_socket_ttl: 1_000, eagerly_destroy_stale_sockets: true },
  };
  const clickhouse = createClient(clientOptions);
  const shards = config.CCFED_CLICKHOUSE_SHARDS?.map((replicas) =>
    replicas.map((url) => createClient({ ...clientOptions, url })),
  );
  const credentials = kafkaCredentialsFromEnv(config);
  const kafka = createKafka({
    brokers: config.CCFED_KAFKA_BROKERS,
    clientId: 'ccfed-ingester',
    credentials,
    log,
  });
  const ingester = new Ingester({
    kafka,
    consumer:
      config.CCFED_KAFKA_CLIENT === 'platformatic'
        ? platformaticConsumer({
            brokers: config.CCFED_KAFKA_BROKERS,
            clientId: 'ccfed-ingester',
            credentials,
            log,
          })
        : kafkajsConsumer(kafka),
    clickhouse,
    shards,
    topics: topicNames(config.CCFED_TOPIC_PREFIX),
    groupId: config.CCFED_CONSUMER_GROUP,
    sessionTimeoutMs: config.CCFED_KAFKA_SESSION_TIMEOUT_MS,
    log,
    traced: telemetry.enabled,
    afterInsert: (n) => {
      if (n === config.CCFED_FAILPOINT_EXIT_AFTER_INSERTS) {
        log.warn({ event: 'failpoint_exit', inserts: n }, 'failpoint: dying before the commit');
        process.exit(137);
      }
    },
  });

  lifecycle.onShutdown('stop intake and finish the batch in flight', () => ingester.stopIntake());
  lifecycle.onShutdown('close Kafka connections', () => ingester.close());
  lifecycle.onShutdown('close ClickHouse clients', () =>
    Promise.all([clickhouse, ...(shards ?? []).flat()].map((c) => c.close())).then(() => {}),
  );
  lifecycle.onShutdown('flush telemetry', () => telemetry.shutdown());

  await ingester.start();
  log.info({ event: 'kafka_client', client: config.CCFED_KAFKA_CLIENT });
  if (shards)
    log.info({
      event: 'clickhouse_cluster',
      shards: shards.length,
      replicas: shards.map((r) => r.length),
    });
  if (config.CCFED_KAFKA_CLIENT === 'platformatic')
    log.warn(
      { event: 'kafka_client_not_exactly_once' },
      '@platformatic/kafka may store events twice when partitions move between ingesters (config.ts): run it alone, for measuring only',
    );
});
