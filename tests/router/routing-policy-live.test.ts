// A routing-policy edit reaches a running router without a restart: the real router process
// follows the sites' snapshots and the routing-policy topic, HQ edits the policy through the API
// (which publishes to that topic), and the router's next decisions follow the new handicap and
// threshold. A router started afterwards answers by the latest version from its first decision.
import { readFileSync } from 'node:fs';
import type { ClickHouseClient } from '@clickhouse/client';
import { createApi } from '@ccfed/api/app';
import { issueToken } from '@ccfed/api/auth/token';
import { clickhouseRunner } from '@ccfed/api/clickhouse';
import type { ApiHttpServer } from '@ccfed/api/http/server';
import { RoutingPolicyStore } from '@ccfed/api/routing-policy/policy-store';
import { silentLogger, systemClock } from '@ccfed/common';
import { CustomerTier, routing, type TopicNames } from '@ccfed/proto';
import { freePort } from '@ccfed/services';
import { loadTopology, policyFromTopology } from '@ccfed/topology';
import { Partitioners, type Producer } from 'kafkajs';
import { createClient, type Channel } from 'nice-grpc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clickhouseClient, freshTopics, uniqueName, waitFor } from '../support/engines.js';
import { adminKafka, kafkaAs, kafkaEnv } from '../support/kafka.js';
import { startService, type ServiceProcess } from '../support/processes.js';
import { writeTopology } from '../support/running-site.js';
import { ROUTER, routerChannel, tlsEnv } from '../support/security.js';
import { SnapshotFeeder } from '../support/snapshot-feeder.js';

const ENTRY = 'central/router/src/index.ts';
const SECRET = 'routing-policy-live-secret-0123456789-abcdef';
const HQ = issueToken(
  { sub: 'li.wei', role: 'hq' },
  { secret: SECRET, ttlSeconds: 3600, now: Date.now() },
);

describe('a routing-policy edit and the running router', () => {
  let prefix: string;
  let topics: TopicNames;
  let topologyFile: string;
  let routerKafka: Record<string, string>;
  let port: number;
  let router: ServiceProcess;
  let channel: Channel;
  let client: routing.CentralRouterClient;
  let producer: Producer;
  let feeder: SnapshotFeeder;
  let store: RoutingPolicyStore;
  let clickhouse: ClickHouseClient;
  let api: ApiHttpServer;
  let base: string;
  let calls = 0;

  const startRouter = async () =>
    startService(
      ENTRY,
      {
        CCFED_TOPOLOGY: topologyFile,
        ...routerKafka,
        CCFED_TOPIC_PREFIX: prefix,
        CCFED_ROUTER_PORT: String(port),
        ...(await tlsEnv(ROUTER)),
      },
      'router-policy',
    );

  const ask = () =>
    client.requestRoute(
      {
        callId: `call-${++calls}`,
        originSiteId: 'shanghai',
        tenantId: 'acme-bank',
        skill: 'support',
        tier: CustomerTier.CUSTOMER_TIER_STANDARD,
        // Under support's askAfterWaitingSeconds (15 s): the threshold alone decides whether to ask.
        waitedMs: 5_000,
        originExpectedWaitMs: 240_000,
        hopCount: 0,
      },
      { signal: AbortSignal.timeout(2_000) },
    );

  /** Asks until the router answers as `expected` says (it applies a new version within moments). */
  const answerWhere = (what: string, expected: (r: routing.RequestRouteResponse) => boolean) =>
    waitFor(
      what,
      async () => {
        const r = await ask();
        return expected(r) ? r : undefined;
      },
      30_000,
    );

  /** The example's policy as an edit of `version` with `change` applied, PUT by HQ. */
  async function putPolicy(version: number, change: (e: any) => void): Promise<any> {
    const {
      changedBy: _by,
      changedAt: _at,
      ...e
    } = structuredClone(policyFromTopology(loadTopology(topologyFile))) as any;
    e.version = version;
    change(e);
    const res = await fetch(`${base}/api/v1/routing-policy`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${HQ}`, 'content-type': 'application/json' },
      body: JSON.stringify(e),
    });
    expect(res.status).toBe(200);
    return res.json();
  }

  beforeAll(async () => {
    ({ prefix, topics } = await freshTopics());
    ({ file: topologyFile } = await writeTopology());
    port = await freePort();
    routerKafka = await kafkaEnv({ role: 'router' }, prefix);
    router = await startRouter();
    channel = await routerChannel(`127.0.0.1:${port}`, { kind: 'site', site: 'shanghai' });
    client = createClient(routing.CentralRouterDefinition, channel);

    // The test stands in for every site at once: it publishes their snapshots as the admin.
    producer = adminKafka('policy-live').producer({
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    feeder = new SnapshotFeeder(producer, topics.siteSnapshots);
    feeder.set('shanghai', { queued: 12, staffed: 4, idle: 0 });
    feeder.set('beijing', { queued: 0, staffed: 3, idle: 3 });
    feeder.set('guangzhou', { queued: 0, staffed: 3, idle: 3 });
    feeder.start();

    store = new RoutingPolicyStore({
      kafka: await kafkaAs({ role: 'api' }, prefix, 'policy-live'),
      topic: topics.routingPolicy,
      topology: loadTopology(topologyFile),
      groupId: uniqueName('ccfed-api-policy'),
      log: silentLogger(),
    });
    await store.start();
    clickhouse = clickhouseClient('api');
    ({ server: api } = createApi({
      runQuery: clickhouseRunner(clickhouse),
      users: new Map(),
      secret: SECRET,
      tokenTtlSeconds: 3600,
      clock: systemClock,
      log: silentLogger(),
      topology: loadTopology(topologyFile),
      routingPolicy: store,
    }));
    base = `http://127.0.0.1:${await api.listen(0, '127.0.0.1')}`;
  }, 60_000);

  afterAll(async () => {
    feeder?.stop();
    await producer?.disconnect();
    channel?.close();
    await router?.stop();
    await api?.close();
    await store?.stop();
    await clickhouse?.close();
  });

  it('follows a new handicap and a new threshold at once, and a restarted router starts with them', async () => {
    // The topology's policy: beijing and guangzhou are equally idle and equally handicapped (5 s),
    // and beijing comes first.
    await answerWhere(
      'an overflow to beijing under the topology policy',
      (r) => r.verdict === routing.Verdict.VERDICT_OVERFLOW && r.targetSiteId === 'beijing',
    );
    const pid = router.child.pid;

    // HQ handicaps beijing by ten minutes: the same calls go to guangzhou.
    expect(await putPolicy(0, (e) => (e.sites.beijing.handicapSeconds = 600))).toMatchObject({
      version: 1,
    });
    // (Reservations alone also push calls to guangzhou once beijing's idle agents are spoken
    // for: the handicap the router weighs beijing with is what shows the new policy.)
    const handicapOfBeijing = (r: routing.RequestRouteResponse) =>
      r.alternatives.find((a) => a.siteId === 'beijing')?.handicapMs;
    const toGuangzhou = await answerWhere(
      'beijing weighed with the new handicap',
      (r) => handicapOfBeijing(r) === 600_000,
    );
    expect(toGuangzhou).toMatchObject({
      verdict: routing.Verdict.VERDICT_OVERFLOW,
      targetSiteId: 'guangzhou',
    });

    // HQ raises support's threshold to an hour: calls stay, for that reason.
    await putPolicy(1, (e) => {
      e.sites.beijing.handicapSeconds = 600;
      e.skills.support.thresholdSeconds = 3600;
    });
    const stay = await answerWhere(
      'a stay under the raised threshold',
      (r) => r.verdict === routing.Verdict.VERDICT_STAY,
    );
    expect(stay.reason).toMatch(/under the 3600\.0 s threshold/);
    expect(router.child.pid).toBe(pid);
    expect(router.child.exitCode).toBeNull();

    // The router may answer by version 2 a moment before its log line reaches the file.
    const appliedVersions = () =>
      readFileSync(router.logFile, 'utf8')
        .split('\n')
        .filter((l) => l.includes('"routing_policy_applied"'))
        .map((l) => JSON.parse(l).version as number);
    await waitFor('both versions in the router log', async () =>
      appliedVersions().length >= 2 ? true : undefined,
    );
    expect(appliedVersions()).toEqual([1, 2]);

    // A new router process reads version 2 before it answers: its very first answer is a stay.
    await router.stop();
    router = await startRouter();
    const first = await waitFor('the restarted router to answer', async () => {
      try {
        return await ask();
      } catch {
        return undefined;
      }
    });
    expect(first.verdict).toBe(routing.Verdict.VERDICT_STAY);
    expect(first.reason).toMatch(/under the 3600\.0 s threshold/);
  }, 90_000);
});
