// Scaling the ingester out and in while traffic flows: members join and leave one consumer group,
// so partitions move between processes while INSERTs are under way (the ingester decodes the next
// fetch while ClickHouse stores the last one). No event may be lost or stored twice: the old owner
// sends nothing after it rejoins and lets what it sent land first, and the new owner's ledger
// waits out the INSERTs still running before it reads what ClickHouse holds. With kafkajs, the
// client the ingester runs: @platformatic/kafka, which bench:ingest also measures, has no hook
// before it rejoins the group, so batches it took may still be sent after the new owner read
// what ClickHouse holds, and this test counted calls twice with it (76 of 6,000 in one CI run of
// two on 2026-11-23; see config.ts).
import type { ClickHouseClient } from '@clickhouse/client';
import type { TopicNames } from '@ccfed/proto';
import type { Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, freshTopics, uniqueName, waitFor } from '../support/engines.js';
import { eventStream } from '../support/event-stream.js';
import {
  expectEveryEventOnce,
  startIngester,
  testKafka,
  trafficInChunks,
  waitIngesterCaughtUp,
} from '../support/ingester.js';
import type { ServiceProcess } from '../support/processes.js';

const CALLS = 6000;
const CHUNKS = 30;

describe('ingester on kafkajs: members join and leave the group mid-stream', () => {
  let topics: TopicNames;
  let prefix: string;
  let database: string;
  let ch: ClickHouseClient;
  let producer: Producer;
  const members: ServiceProcess[] = [];
  const group = uniqueName('ccfed-ingester-scale');

  const member = async () => {
    const m = await startIngester({
      prefix,
      database,
      group,
      env: { CCFED_KAFKA_CLIENT: 'kafkajs' },
    });
    members.push(m);
    return m;
  };

  /** Waits until the group has `n` members, each with partitions assigned. */
  const membersAre = (n: number) =>
    waitFor(
      `the group to hold ${n} member(s) with partitions`,
      async () => {
        const admin = testKafka().admin();
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
    producer = testKafka().producer({ allowAutoTopicCreation: false });
    await producer.connect();
  });

  afterAll(async () => {
    for (const m of members) await m.kill();
    await producer?.disconnect();
    await ch?.close();
  });

  it('two members, a third joining, two leaving: every event stored exactly once', async () => {
    const stream = eventStream(topics, { calls: CALLS, seed: 11 });
    const sendChunks = trafficInChunks(producer, stream.messages, CHUNKS, 150);

    // Traffic flows throughout; each step waits until the group holds the members it should, so
    // that the partitions really moved while batches were in flight.
    const a = await member();
    await sendChunks(0, 3);
    await membersAre(1);
    await sendChunks(3, 6);
    const b = await member();
    await sendChunks(6, 9);
    await membersAre(2);
    await sendChunks(9, 12);
    const c = await member();
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

    await waitIngesterCaughtUp(topics, group, 120_000);
    expect(await c.stop()).toBe(0);
    await expectEveryEventOnce(ch, stream.expected);
  });
});
