// Scaling the ingester out and in while traffic flows: members join and leave one consumer group,
// so partitions move between processes while INSERTs are under way (the ingester decodes the next
// fetch while ClickHouse stores the last one). No event may be lost or stored twice: the old owner
// sends nothing after it rejoins and lets what it sent land first, and the new owner's ledger
// waits out the INSERTs still running before it reads what ClickHouse holds.
import type { ClickHouseClient } from '@clickhouse/client';
import { createKafka, groupCaughtUp, silentLogger } from '@ccfed/common';
import { sinksFor } from '@ccfed/ingester/sinks';
import type { TopicNames } from '@ccfed/proto';
import type { Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  clickhouseUrl,
  freshDatabase,
  freshTopics,
  groupBy,
  kafkaBrokers,
  rows,
  uniqueName,
  waitFor,
} from '../support/engines.js';
import { eventStream, type ExpectedFigures, type StreamMessage } from '../support/event-stream.js';
import { startService, type ServiceProcess } from '../support/processes.js';

const CALLS = 6000;
const CHUNKS = 30;

describe('ingester: members join and leave the group mid-stream', () => {
  let topics: TopicNames;
  let prefix: string;
  let database: string;
  let ch: ClickHouseClient;
  let producer: Producer;
  const members: ServiceProcess[] = [];
  const group = uniqueName('ingester-scale');
  const kafka = () =>
    createKafka({ brokers: kafkaBrokers(), clientId: 'test-sites', log: silentLogger() });

  const member = () => {
    const m = startService(
      'central/ingester/src/index.ts',
      {
        CCFED_KAFKA_BROKERS: kafkaBrokers().join(','),
        CCFED_TOPIC_PREFIX: prefix,
        CCFED_CLICKHOUSE_URL: clickhouseUrl(),
        CCFED_CLICKHOUSE_DATABASE: database,
        CCFED_CONSUMER_GROUP: group,
      },
      'ingester',
    );
    members.push(m);
    return m;
  };

  const send = (messages: readonly StreamMessage[]) =>
    producer.sendBatch({
      acks: -1,
      topicMessages: [...groupBy(messages, (m) => m.topic)].map(([topic, ms]) => ({
        topic,
        messages: ms.map((m) => ({ key: m.key, value: m.value })),
      })),
    });

  /** Waits until the group has `n` members, each with partitions assigned. */
  const membersAre = (n: number) =>
    waitFor(
      `the group to hold ${n} member(s) with partitions`,
      async () => {
        const admin = kafka().admin();
        await admin.connect();
        try {
          const [g] = (await admin.describeGroups([group])).groups;
          const assigned = (g?.members ?? []).filter((m) => m.memberAssignment.length > 0);
          return g?.state === 'Stable' && assigned.length === n ? true : undefined;
        } finally {
          await admin.disconnect();
        }
      },
      60_000,
    );

  beforeAll(async () => {
    ({ prefix, topics } = await freshTopics());
    ({ database, client: ch } = await freshDatabase());
    producer = kafka().producer({ allowAutoTopicCreation: false });
    await producer.connect();
  });

  afterAll(async () => {
    for (const m of members) await m.kill();
    await producer?.disconnect();
    await ch?.close();
  });

  it('two members, a third joining, two leaving: every event stored exactly once', async () => {
    const stream = eventStream(topics, { calls: CALLS, seed: 11 });
    const expected: ExpectedFigures = stream.expected;
    const chunk = Math.ceil(stream.messages.length / CHUNKS);
    const sendChunks = async (from: number, to: number) => {
      for (let i = from; i < to; i++) {
        await send(stream.messages.slice(i * chunk, (i + 1) * chunk));
        await new Promise((r) => setTimeout(r, 150));
      }
    };

    // Traffic flows throughout; each step waits until the group holds the members it should, so
    // that the partitions really moved while batches were in flight.
    const a = member();
    await sendChunks(0, 3);
    await membersAre(1);
    await sendChunks(3, 6);
    const b = member();
    await sendChunks(6, 9);
    await membersAre(2);
    await sendChunks(9, 12);
    const c = member();
    await sendChunks(12, 15);
    await membersAre(3);
    await sendChunks(15, 18);
    // Graceful leaves while traffic flows: their partitions move to the others.
    expect(await a.stop()).toBe(0);
    await sendChunks(18, 21);
    await membersAre(2);
    expect(await b.stop()).toBe(0);
    await sendChunks(21, 24);
    await membersAre(1);
    await sendChunks(24, CHUNKS);

    const consumed = sinksFor(topics).map((s) => s.topic);
    await waitFor(
      'the group caught up with every topic',
      async () => ((await groupCaughtUp(kafka(), group, consumed)) ? true : undefined),
      120_000,
    );
    expect(await c.stop()).toBe(0);

    const got: Record<string, { rows: number; extra: number }> = {};
    for (const table of [
      'call_events',
      'agent_events',
      'surveys',
      'crm_events',
      'route_decisions',
    ]) {
      const [r] = await rows<{ n: string; extra: string }>(
        ch,
        `SELECT count() AS n, count() - uniqExact(event_id) AS extra FROM ${table}`,
      );
      got[table] = { rows: Number(r!.n), extra: Number(r!.extra) };
    }
    const [calls] = await rows<{ calls: string; answered: string }>(
      ch,
      'SELECT count() AS calls, sum(answered) AS answered FROM calls',
    );
    const [rollup] = await rows<{ offered: string }>(
      ch,
      'SELECT sum(offered) AS offered FROM call_rollup_15m',
    );
    expect({
      tables: got,
      calls: Number(calls!.calls),
      answered: Number(calls!.answered),
      rollupOffered: Number(rollup!.offered),
    }).toEqual({
      tables: {
        call_events: { rows: expected.callEvents, extra: 0 },
        agent_events: { rows: expected.agentEvents, extra: 0 },
        surveys: { rows: expected.surveys, extra: 0 },
        crm_events: { rows: expected.crmEvents, extra: 0 },
        route_decisions: { rows: expected.decisions, extra: 0 },
      },
      calls: expected.calls,
      answered: expected.answered,
      rollupOffered: expected.calls,
    });
  });
});
