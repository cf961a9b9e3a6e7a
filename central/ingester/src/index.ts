// The central ingester process: reads its config, starts the Kafka → ClickHouse pipeline.
import { createClient } from '@clickhouse/client';
import { createKafka, createLogger, Lifecycle, parseEnvConfig, startProcess } from '@ccfed/common';
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

  const clickhouse = createClient({
    url: config.CCFED_CLICKHOUSE_URL,
    database: config.CCFED_CLICKHOUSE_DATABASE,
    // A new connection per request. Reused ones broke under CPU pressure (bench:ingest at load
    // 10+): the server closes a connection 3 s after its last answer, a starved event loop reads
    // that answer late and so thinks the socket younger, and the next INSERT died with EPIPE
    // (and the batch was retried), even with stale sockets dropped eagerly. A batch is thousands
    // of rows: one TCP handshake on top costs nothing.
    keep_alive: { enabled: false },
  });
  const kafka = createKafka({
    brokers: config.CCFED_KAFKA_BROKERS,
    clientId: 'ccfed-ingester',
    log,
  });
  const ingester = new Ingester({
    kafka,
    consumer:
      config.CCFED_KAFKA_CLIENT === 'platformatic'
        ? platformaticConsumer({
            brokers: config.CCFED_KAFKA_BROKERS,
            clientId: 'ccfed-ingester',
            log,
          })
        : kafkajsConsumer(kafka),
    clickhouse,
    topics: topicNames(config.CCFED_TOPIC_PREFIX),
    groupId: config.CCFED_CONSUMER_GROUP,
    log,
    afterInsert: (n) => {
      if (n === config.CCFED_FAILPOINT_EXIT_AFTER_INSERTS) {
        log.warn({ event: 'failpoint_exit', inserts: n }, 'failpoint: dying before the commit');
        process.exit(137);
      }
    },
  });

  lifecycle.onShutdown('stop intake and finish the batch in flight', () => ingester.stopIntake());
  lifecycle.onShutdown('close Kafka connections', () => ingester.close());
  lifecycle.onShutdown('close ClickHouse client', () => clickhouse.close());

  await ingester.start();
  log.info({ event: 'kafka_client', client: config.CCFED_KAFKA_CLIENT });
});
