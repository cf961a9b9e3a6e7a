// The central router as a process: it refuses bad configuration with one clear message, follows
// the sites' snapshots from Kafka, overflows a call to the site that can take it, publishes
// every decision, stops sending calls to a site that went quiet, and exits 0 on SIGTERM.
import { readFileSync } from 'node:fs';
import { CustomerTier, routing, type TopicNames } from '@ccfed/proto';
import { freePort } from '@ccfed/services';
import { Partitioners, type Producer } from 'kafkajs';
import { createClient, type Channel } from 'nice-grpc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshTopics, kafkaBrokers, uniqueName, waitFor } from '../support/engines.js';
import { adminKafka, kafkaEnv, READER_MAX_WAIT_MS } from '../support/kafka.js';
import { startService, type ServiceProcess } from '../support/processes.js';
import { ROUTER, routerChannel, tlsEnv } from '../support/security.js';
import { SnapshotFeeder } from '../support/snapshot-feeder.js';
import { writeTopology } from '../support/running-site.js';
import { EXAMPLE_TOPOLOGY } from '../support/topology.js';

const ENTRY = 'central/router/src/index.ts';
const STALE_AFTER_SECONDS = 2;

async function failedStart(
  env: Record<string, string>,
): Promise<{ code: number | null; log: string }> {
  const p = startService(ENTRY, env, 'router-bad');
  const code = await p.exited;
  await new Promise((r) => setTimeout(r, 50));
  return { code, log: readFileSync(p.logFile, 'utf8') };
}

describe('router process', () => {
  let topics: TopicNames;
  let routerKafka: Record<string, string>;
  let router: ServiceProcess;
  let channel: Channel;
  let client: routing.CentralRouterClient;
  let producer: Producer;
  let feeder: SnapshotFeeder;
  let calls = 0;

  const ask = (over: Partial<routing.RequestRouteRequest> = {}) =>
    client.requestRoute(
      {
        callId: `call-${++calls}`,
        originSiteId: 'shanghai',
        tenantId: 'acme-bank',
        skill: 'support',
        tier: CustomerTier.CUSTOMER_TIER_STANDARD,
        waitedMs: 15_000,
        originExpectedWaitMs: 240_000,
        hopCount: 0,
        ...over,
      },
      { signal: AbortSignal.timeout(2_000) },
    );

  beforeAll(async () => {
    let prefix: string;
    ({ prefix, topics } = await freshTopics());
    const { file } = await writeTopology((doc) => {
      doc.routing.staleAfterSeconds = STALE_AFTER_SECONDS;
    });
    const port = await freePort();
    routerKafka = await kafkaEnv({ role: 'router' }, prefix);
    router = startService(
      ENTRY,
      {
        CCFED_TOPOLOGY: file,
        ...routerKafka,
        CCFED_TOPIC_PREFIX: prefix,
        CCFED_ROUTER_PORT: String(port),
        ...(await tlsEnv(ROUTER)),
      },
      'router',
    );
    // Shanghai's site agent asks for Shanghai's calls.
    channel = await routerChannel(`127.0.0.1:${port}`, { kind: 'site', site: 'shanghai' });
    client = createClient(routing.CentralRouterDefinition, channel);
    // The test stands in for every site at once: it publishes as the admin.
    producer = adminKafka('snapshot-feeder').producer({
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    feeder = new SnapshotFeeder(producer, topics.siteSnapshots);
    feeder.start();
  });

  afterAll(async () => {
    feeder?.stop();
    await producer?.disconnect();
    channel?.close();
    await router?.stop();
  });

  it('refuses bad configuration with one clear message and exits 1', async () => {
    const tls = await tlsEnv(ROUTER);
    // Five processes that each exit before touching anything: they start side by side.
    const [missing, badPort, noFile, noTls, siteCert] = await Promise.all([
      failedStart({ CCFED_KAFKA_BROKERS: kafkaBrokers().join(','), ...tls }),
      failedStart({
        CCFED_TOPOLOGY: EXAMPLE_TOPOLOGY,
        ...routerKafka,
        CCFED_ROUTER_PORT: '70000',
        ...tls,
      }),
      failedStart({
        CCFED_TOPOLOGY: '/nonexistent/topology.yaml',
        ...routerKafka,
        ...tls,
      }),
      // No insecure mode: without its certificate the router does not start at all.
      failedStart({
        CCFED_TOPOLOGY: EXAMPLE_TOPOLOGY,
        ...routerKafka,
        CCFED_TLS_CA: '',
      }),
      // Nor with another principal's: site agents would not take it for the router.
      failedStart({
        CCFED_TOPOLOGY: EXAMPLE_TOPOLOGY,
        ...routerKafka,
        ...(await tlsEnv({ kind: 'site', site: 'shanghai' })),
      }),
    ]);
    expect(missing.code).toBe(1);
    expect(missing.log).toContain('router could not start: invalid configuration');
    expect(missing.log).toContain('CCFED_TOPOLOGY: required: path of the federation topology file');
    expect(missing.log).toContain("CCFED_KAFKA_USERNAME: required: this process's Kafka user");
    expect(missing.log).toContain(
      "CCFED_KAFKA_PASSWORD: required: the Kafka user's SCRAM password",
    );
    expect(badPort.code).toBe(1);
    expect(badPort.log).toContain(
      'CCFED_ROUTER_PORT: expected a port from 0 (any free port) to 65535',
    );
    expect(noFile.code).toBe(1);
    expect(noFile.log).toMatch(/router could not start: .*\/nonexistent\/topology\.yaml/);
    expect(noTls.code).toBe(1);
    expect(noTls.log).toContain(
      "CCFED_TLS_CA: required: path of the federation CA's certificate (PEM)",
    );
    expect(noTls.log).toContain('CCFED_TLS_CERT: required');
    expect(siteCert.code).toBe(1);
    expect(siteCert.log).toMatch(
      /router could not start: \S+site\/shanghai\.crt names site:shanghai; the router needs a certificate for service:router/,
    );
    for (const r of [missing, badPort, noFile, noTls, siteCert])
      expect(r.log).not.toMatch(/\n\s+at /);
  });

  it('overflows a queued call to the idle site and publishes the decision it answered', async () => {
    feeder.set('shanghai', { queued: 12, staffed: 4, idle: 0 });
    feeder.set('beijing', { queued: 0, staffed: 3, idle: 3 });
    feeder.set('guangzhou', { queued: 6, staffed: 2, idle: 0 });

    const { request, response } = await waitFor(
      'the router to overflow a call to beijing',
      async () => {
        const callId = `call-${++calls}`;
        const res = await ask({ callId });
        return res.verdict === routing.Verdict.VERDICT_OVERFLOW
          ? { request: callId, response: res }
          : undefined;
      },
      60_000,
    );
    expect(response).toMatchObject({
      verdict: routing.Verdict.VERDICT_OVERFLOW,
      targetSiteId: 'beijing',
      targetSipUri: expect.stringMatching(/^sip:127\.0\.0\.1:\d+;transport=udp$/),
      reason: expect.stringContaining('beijing expects 5.0 s against 240.0 s at shanghai'),
    });
    expect(response.decisionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(response.reservationExpiresAt!.getTime()).toBeGreaterThan(Date.now());
    expect(response.alternatives.map((a) => [a.siteId, a.eligible])).toEqual([
      ['beijing', true],
      ['guangzhou', true],
    ]);

    const consumer = adminKafka('decision-reader').consumer({
      groupId: uniqueName('decisions'),
      maxWaitTimeInMs: READER_MAX_WAIT_MS,
    });
    await consumer.connect();
    await consumer.subscribe({ topic: topics.routeDecisions, fromBeginning: true });
    const seen = new Map<string, { key: string; event: routing.RouteDecision }>();
    await consumer.run({
      eachMessage: async ({ message }) => {
        const event = routing.RouteDecision.decode(message.value!);
        seen.set(event.request!.callId, { key: String(message.key), event });
      },
    });
    try {
      const published = await waitFor('the decision on the route-decisions topic', async () =>
        seen.get(request),
      );
      expect(published.key).toBe(request);
      expect(published.event.response).toEqual(response);
      expect(published.event.request).toMatchObject({
        callId: request,
        originSiteId: 'shanghai',
        tenantId: 'acme-bank',
        skill: 'support',
        originExpectedWaitMs: 240_000,
      });
      expect(published.event.meta).toMatchObject({ siteId: 'shanghai', tenantId: 'acme-bank' });
      expect(published.event.meta!.eventId).toMatch(/^[0-9a-f-]{36}$/);
    } finally {
      await consumer.disconnect();
    }
  });

  it(`stops sending calls to a site ${STALE_AFTER_SECONDS} s after its snapshots stop`, async () => {
    feeder.set('beijing', undefined);
    const lastBeijing = feeder.lastSentAt('beijing')!;
    const stale = await waitFor(
      'beijing to become ineligible',
      async () => {
        const res = await ask();
        const bj = res.alternatives.find((a) => a.siteId === 'beijing');
        return bj && !bj.eligible ? { res, bj, at: Date.now() } : undefined;
      },
      30_000,
    );
    expect(stale.bj.excludedReason).toMatch(/^not heard from for \d+\.\d s$/);
    expect(stale.at - lastBeijing).toBeGreaterThanOrEqual(STALE_AFTER_SECONDS * 1000);
    // Guangzhou (6 queued on 2 agents) is no better than staying: the call stays.
    expect(stale.res.verdict).toBe(routing.Verdict.VERDICT_STAY);
    expect(stale.res.targetSiteId).toBe('');
  });

  it('exits 0 on SIGTERM', async () => {
    feeder.stop();
    expect(await router.stop()).toBe(0);
  });
});
