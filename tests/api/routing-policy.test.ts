// The routing-policy routes against real Kafka: the API follows the compacted routing-policy topic
// (the topology's policy, version 0, while it is empty) and publishes HQ's edits to it. A bad
// edit is a 400 listing every problem and leaves both the topic and the policy untouched; a stale
// version is a 409; tenants and site supervisors cannot edit; a restarted API reads the latest
// version back from the topic.
import type { ClickHouseClient } from '@clickhouse/client';
import { createApi } from '@ccfed/api/app';
import { issueToken, type Principal } from '@ccfed/api/auth/token';
import { clickhouseRunner } from '@ccfed/api/clickhouse';
import type { ApiHttpServer } from '@ccfed/api/http/server';
import { RoutingPolicyStore } from '@ccfed/api/routing-policy/policy-store';
import { silentLogger, systemClock } from '@ccfed/common';
import type { TopicNames } from '@ccfed/proto';
import { decodePolicyDocument, loadTopology, policyFromTopology } from '@ccfed/topology';
import { ConfigResourceTypes, type Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clickhouseClient, freshTopics, uniqueName } from '../support/engines.js';
import { adminKafka, kafkaAs } from '../support/kafka.js';
import { EXAMPLE_TOPOLOGY } from '../support/topology.js';

const SECRET = 'routing-policy-test-secret-0123456789-abcdef';
const topology = loadTopology(EXAMPLE_TOPOLOGY);

let kafka: Kafka;
let topics: TopicNames;
let store: RoutingPolicyStore;
let clickhouse: ClickHouseClient;
let server: ApiHttpServer;
let base: string;

const token = (p: Principal) =>
  issueToken(p, { secret: SECRET, ttlSeconds: 3600, now: Date.now() });
const HQ = token({ sub: 'li.wei', role: 'hq' });
const SUPERVISOR = token({ sub: 'beijing.sup', role: 'site', siteId: 'beijing' });
const TENANT = token({ sub: 'acme.client', role: 'tenant', tenantId: 'acme-bank' });

async function call(method: 'GET' | 'PUT', bearer: string, body?: unknown) {
  const res = await fetch(`${base}/api/v1/routing-policy`, {
    method,
    headers: {
      authorization: `Bearer ${bearer}`,
      ...(body !== undefined && { 'content-type': 'application/json' }),
    },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as any };
}

/** The example's policy as an edit based on `version`, with `change` applied. */
function edit(version: number, change: (e: any) => void = () => {}) {
  const {
    changedBy: _by,
    changedAt: _at,
    ...settings
  } = structuredClone(policyFromTopology(topology));
  const e: any = { ...settings, version };
  change(e);
  return e;
}

/** How many messages were ever published to the routing-policy topic. */
async function messagesOnTopic(): Promise<number> {
  const admin = adminKafka().admin();
  await admin.connect();
  try {
    const [p] = await admin.fetchTopicOffsets(topics.routingPolicy);
    return Number(p!.high);
  } finally {
    await admin.disconnect();
  }
}

async function startStore(): Promise<RoutingPolicyStore> {
  const s = new RoutingPolicyStore({
    kafka,
    topic: topics.routingPolicy,
    topology,
    groupId: uniqueName('ccfed-api-policy'),
    log: silentLogger(),
  });
  await s.start();
  return s;
}

beforeAll(async () => {
  let prefix: string;
  ({ prefix, topics } = await freshTopics(1));
  // The store as the API runs it: Kafka user api, whose ACLs make it the policy's only writer.
  kafka = await kafkaAs({ role: 'api' }, prefix, 'policy-test');
  store = await startStore();
  clickhouse = clickhouseClient('api');
  ({ server } = createApi({
    runQuery: clickhouseRunner(clickhouse),
    users: new Map(),
    secret: SECRET,
    tokenTtlSeconds: 3600,
    clock: systemClock,
    log: silentLogger(),
    topology,
    routingPolicy: store,
  }));
  base = `http://127.0.0.1:${await server.listen(0, '127.0.0.1')}`;
}, 60_000);

afterAll(async () => {
  await server?.close();
  await store?.stop();
  await clickhouse?.close();
});

describe('GET/PUT /api/v1/routing-policy', () => {
  it('answers the topology policy as version 0 while the topic is empty; tenants may not read it', async () => {
    const hq = await call('GET', HQ);
    expect(hq.status).toBe(200);
    expect(hq.body).toEqual(policyFromTopology(topology));
    expect((await call('GET', SUPERVISOR)).status).toBe(200);
    const tenant = await call('GET', TENANT);
    expect(tenant).toEqual({
      status: 403,
      body: { error: 'role tenant may not call GET /api/v1/routing-policy' },
    });
  });

  it('keeps the policy on a compacted topic of one partition', async () => {
    const admin = adminKafka().admin();
    await admin.connect();
    try {
      const { resources } = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: topics.routingPolicy }],
      });
      const policy = resources[0]!.configEntries.find((c) => c.configName === 'cleanup.policy');
      expect(policy?.configValue).toBe('compact');
      expect(await admin.fetchTopicOffsets(topics.routingPolicy)).toHaveLength(1);
    } finally {
      await admin.disconnect();
    }
  });

  it('lets only HQ edit', async () => {
    expect((await call('PUT', SUPERVISOR, edit(0))).status).toBe(403);
    expect((await call('PUT', TENANT, edit(0))).status).toBe(403);
    expect(await messagesOnTopic()).toBe(0);
  });

  it('refuses an invalid edit with every problem by field, and publishes nothing', async () => {
    const bad = await call(
      'PUT',
      HQ,
      edit(0, (e) => {
        e.skills.sales.thresholdSeconds = 0;
        e.sites.beijing.handicapSeconds = 'five';
        e.staleAfterSeconds = -3;
        e.sites.chengdu = { handicapSeconds: 1 };
        e.tenantExclusions['acme-bank'] = ['shanghai', 'beijing', 'guangzhou'];
      }),
    );
    expect(bad.status).toBe(400);
    expect(bad.body.details).toEqual([
      { field: 'skills.sales.thresholdSeconds', message: 'must be between 1 and 3600' },
      { field: 'sites.beijing.handicapSeconds', message: 'must be a number' },
      { field: 'staleAfterSeconds', message: 'must be between 1 and 300' },
      { field: 'sites.chengdu', message: expect.stringMatching(/^unknown site "chengdu"/) },
      {
        field: 'tenantExclusions.acme-bank',
        message: expect.stringMatching(/excludes every site/),
      },
    ]);
    expect(bad.body.error).toMatch(
      /^invalid routing policy: skills\.sales\.thresholdSeconds: must be between 1 and 3600; /,
    );
    expect(await messagesOnTopic()).toBe(0);
    expect((await call('GET', HQ)).body.version).toBe(0);
  });

  it('publishes a valid edit as the next version, then refuses an edit of the stale version', async () => {
    const put = await call(
      'PUT',
      HQ,
      edit(0, (e) => {
        e.skills.support.thresholdSeconds = 90;
        e.sites.beijing.handicapSeconds = -20;
      }),
    );
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ version: 1, changedBy: 'li.wei' });
    expect(Date.now() - Date.parse(put.body.changedAt)).toBeLessThan(60_000);
    expect(await messagesOnTopic()).toBe(1);
    const got = await call('GET', SUPERVISOR);
    expect(got.body).toEqual(put.body);
    expect(got.body.skills.support.thresholdSeconds).toBe(90);

    const stale = await call(
      'PUT',
      HQ,
      edit(0, (e) => (e.skills.support.thresholdSeconds = 10)),
    );
    expect(stale.status).toBe(409);
    expect(stale.body.error).toMatch(/^the routing policy is at version 1 \(changed by li\.wei/);
    expect(await messagesOnTopic()).toBe(1);
    expect((await call('GET', HQ)).body.skills.support.thresholdSeconds).toBe(90);
  });

  it('is described in the OpenAPI document, with the edit body, the 409 and the 413', async () => {
    const res = await fetch(`${base}/api/v1/openapi.json`);
    const doc = (await res.json()) as any;
    const put = doc.paths['/api/v1/routing-policy'].put;
    expect(Object.keys(put.responses).sort()).toEqual([
      '200',
      '400',
      '401',
      '403',
      '409',
      '413',
      '500',
    ]);
    // The edit is a small document: it keeps the API's default body limit.
    expect(put.responses['413'].description).toMatch(/16384 bytes/);
    const body = put.requestBody.content['application/json'].schema;
    expect(body.required).toEqual(expect.arrayContaining(['version', 'skills', 'sites']));
    expect(doc.paths['/api/v1/routing-policy'].get.responses['200']).toBeDefined();
  });

  it('a restarted API reads the latest version back from the topic', async () => {
    const again = await startStore();
    try {
      expect(again.current).toMatchObject({
        version: 1,
        sites: { beijing: { handicapSeconds: -20 } },
      });
      expect(decodePolicyDocument(Buffer.from(JSON.stringify(again.current)), topology).ok).toBe(
        true,
      );
    } finally {
      await again.stop();
    }
  });
});
