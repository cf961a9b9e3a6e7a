// The central router process: reads its config and the topology, follows the nationwide state
// from Kafka and answers RequestRoute over gRPC.
import {
  createKafka,
  createLogger,
  kafkaCredentialsFromEnv,
  Lifecycle,
  parseEnvConfig,
  requireTopics,
  startProcess,
  principalLabel,
  startTelemetry,
  systemClock,
  tlsFromEnv,
} from '@ccfed/common';
import { topicNames } from '@ccfed/proto';
import { loadTopology } from '@ccfed/topology';
import { routerConfigSchema } from './config.js';
import { DECISION_PRODUCER_CONFIG, DecisionPublisher } from './decision-publisher.js';
import { routingPolicy } from './routing/policy.js';
import { Router } from './routing/router.js';
import { startRouterServer } from './server.js';
import { startPolicyFeed } from './policy-feed.js';
import { perProcessGroupId, StateFeed } from './state-feed.js';

await startProcess('router', async () => {
  const config = parseEnvConfig(routerConfigSchema);
  const topology = loadTopology(config.CCFED_TOPOLOGY);
  const tls = tlsFromEnv(config);
  // Site agents accept only a server whose certificate names the router: say so now, not at the
  // first call each of them makes.
  if (tls.self.kind !== 'service' || tls.self.service !== 'router')
    throw new Error(
      `${config.CCFED_TLS_CERT} names ${principalLabel(tls.self)}; the router needs a certificate for service:router`,
    );
  const topics = topicNames(config.CCFED_TOPIC_PREFIX);
  const log = createLogger('router');
  const lifecycle = new Lifecycle({ log });
  lifecycle.install();
  const telemetry = await startTelemetry({ serviceName: 'router', log });

  const kafka = createKafka({
    brokers: config.CCFED_KAFKA_BROKERS,
    clientId: 'ccfed-router',
    credentials: kafkaCredentialsFromEnv(config),
    log,
  });
  const router = new Router({ clock: systemClock, policy: routingPolicy(topology) });
  const publisher = new DecisionPublisher({
    producer: kafka.producer(DECISION_PRODUCER_CONFIG),
    topic: topics.routeDecisions,
    log,
  });
  const routerId = config.CCFED_ROUTER_ID;
  const feed = new StateFeed({ kafka, topics, router, routerId, log });

  await requireTopics(kafka, [
    topics.siteSnapshots,
    topics.callEvents,
    topics.routingPolicy,
    topics.routeDecisions,
  ]);
  await publisher.start();
  // The routing policy in force is read to its end before the first answer.
  const [policyFeed] = await Promise.all([
    startPolicyFeed({
      kafka,
      topics,
      topology,
      router,
      log,
      groupId: `${perProcessGroupId()}-policy`,
    }),
    feed.start(),
  ]);
  const grpc = await startRouterServer({
    host: config.CCFED_ROUTER_HOST,
    port: config.CCFED_ROUTER_PORT,
    router,
    clock: systemClock,
    publish: publisher.publish,
    log,
    routerId,
    tls,
  });

  // Stop answering first (site agents then route locally), then the feed, then send the
  // decisions still queued. A signal during start-up exits before any of this is running.
  lifecycle.onShutdown('stop gRPC server', () => grpc.close());
  lifecycle.onShutdown('stop state feed', () => feed.stop());
  lifecycle.onShutdown('stop routing policy feed', () => policyFeed.stop());
  lifecycle.onShutdown('flush route decisions', () => publisher.stop(5_000));
  lifecycle.onShutdown('flush telemetry', () => telemetry.shutdown());
  log.info(
    {
      event: 'router_started',
      routerId,
      sites: topology.sites.map((s) => s.id),
      port: grpc.port,
    },
    'router started',
  );
});
