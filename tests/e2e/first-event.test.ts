// The first vertical slice: a site publishes a protobuf call event to Kafka, the central
// ingester process lands it in ClickHouse, and replaying it changes nothing.
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { groupCaughtUp, ManualClock, silentLogger } from '@ccfed/common';
import type { CallEvent } from '@ccfed/proto';
import { CustomerTier, KAFKA_HEADERS, type TopicNames } from '@ccfed/proto';
import { EventPublisher } from '@ccfed/site-agent/events/publisher';
import { EventStamper } from '@ccfed/site-agent/events/event-meta';
import { Outbox } from '@ccfed/site-agent/events/outbox';
import { OUTBOX_PRODUCER_CONFIG, OutboxSender } from '@ccfed/site-agent/events/outbox-sender';
import type { Consumer, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  clickhouseEnv,
  freshDatabase,
  freshTopics,
  rows,
  uniqueName,
  waitFor,
} from '../support/engines.js';
import { adminKafka, kafkaAs, kafkaEnv, READER_MAX_WAIT_MS } from '../support/kafka.js';
import { startService, type ServiceProcess } from '../support/processes.js';

describe('first vertical slice: site agent → Kafka → ingester → ClickHouse', () => {
  let topics: TopicNames;
  let prefix: string;
  let database: string;
  let ch: ClickHouseClient;
  let producer: Producer;
  let outbox: Outbox;
  let sender: OutboxSender;
  let publisher: EventPublisher;
  let ingester: ServiceProcess;
  const firstGroup = uniqueName('ccfed-ingester');
  /** The test's own reads and odd writes. */
  const kafka = () => adminKafka('test-site');
  const stamper = new EventStamper({
    clock: new ManualClock(Date.parse('2026-11-22T09:30:15.250Z')),
    siteId: 'beijing',
  });

  const ingesterEnv = async (group: string) => ({
    ...(await kafkaEnv({ role: 'ingester' }, prefix)),
    CCFED_TOPIC_PREFIX: prefix,
    ...clickhouseEnv('ingester', database),
    CCFED_CONSUMER_GROUP: group,
  });

  function offered(callId: string): CallEvent {
    return {
      meta: stamper.stamp('acme-bank'),
      callId,
      skill: 'sales',
      tier: CustomerTier.CUSTOMER_TIER_VIP,
      customerId: 'cust-42',
      callerHash: 'h:9f2c',
      arrivalTime: new Date('2026-11-22T09:30:15.250Z'),
      kind: {
        $case: 'offered',
        value: {
          dialedNumber: '4002001',
          skill: 'sales',
          tier: CustomerTier.CUSTOMER_TIER_VIP,
          customerId: 'cust-42',
          callerHash: 'h:9f2c',
          arrivalTime: new Date('2026-11-22T09:30:15.250Z'),
          requestedSkill: '',
          overflowOriginSiteId: '',
          overflowDecisionId: '',
        },
      },
    };
  }

  const countOf = async (callId: string) =>
    Number(
      (
        await rows<{ n: string }>(
          ch,
          `SELECT count() AS n FROM call_events FINAL WHERE call_id = '${callId}'`,
        )
      )[0]?.n,
    );

  beforeAll(async () => {
    ({ prefix, topics } = await freshTopics());
    ({ database, client: ch } = await freshDatabase());
    // The site's path, as the site agent runs it: publisher → disk outbox → sender → Kafka, as
    // Kafka user site-beijing.
    const site = await kafkaAs({ role: 'site', site: 'beijing' }, prefix, 'test-site');
    outbox = Outbox.open({
      dir: join(inject('runDir'), uniqueName('outbox')),
      log: silentLogger(),
    });
    sender = new OutboxSender({
      outbox,
      log: silentLogger(),
      createProducer: () => site.producer(OUTBOX_PRODUCER_CONFIG),
    });
    sender.start();
    publisher = new EventPublisher({ outbox, topics });
    // A bare producer, only for putting bytes no site would publish on the topic.
    producer = kafka().producer({ allowAutoTopicCreation: false });
    await producer.connect();
    ingester = startService(
      'central/ingester/src/index.ts',
      await ingesterEnv(firstGroup),
      'ingester',
    );
  });

  afterAll(async () => {
    await ingester?.stop();
    await sender?.stop();
    outbox?.close();
    await producer?.disconnect();
    await ch?.close();
  });

  it('lands a call event published by a site in ClickHouse, queryable with its fields', async () => {
    const event = offered('call-0001');
    await publisher.callEvent(event);
    const row = await waitFor('the call event in ClickHouse', async () => {
      const found = await rows<Record<string, string | number>>(
        ch,
        `SELECT * FROM call_events WHERE call_id = 'call-0001'`,
      );
      return found[0];
    });
    expect(row).toMatchObject({
      event_id: event.meta!.eventId,
      tenant_id: 'acme-bank',
      site_id: 'beijing',
      kind: 'offered',
      skill: 'sales',
      event_time: '2026-11-22 09:30:15',
      event_ms: 250,
    });
    expect(JSON.parse(String(row.payload))).toMatchObject({
      customerId: 'cust-42',
      tier: 'CUSTOMER_TIER_VIP',
    });
  });

  it('does not change any count when the same event is published again', async () => {
    const event = offered('call-0002');
    await publisher.callEvent(event);
    await waitFor('first copy', async () =>
      (await countOf('call-0002')) === 1 ? true : undefined,
    );
    await publisher.callEvent(event);
    await publisher.callEvent(event);
    // The ingester has consumed everything once its committed offset reaches the topic's end.
    await waitFor('ingester caught up', () => caughtUp(firstGroup));
    expect(await countOf('call-0002')).toBe(1);
  });

  it('does not change any count when the whole topic is replayed by a restarted ingester', async () => {
    await ingester.stop();
    const before = await rows<{ n: string; calls: string }>(
      ch,
      'SELECT count() AS n, uniqExact(call_id) AS calls FROM call_events FINAL',
    );
    // A new consumer group starts from the beginning: every message is delivered again.
    const replayGroup = uniqueName('ccfed-ingester-replay');
    ingester = startService(
      'central/ingester/src/index.ts',
      await ingesterEnv(replayGroup),
      'ingester-replay',
    );
    await waitFor('replay finished', () => caughtUp(replayGroup));
    const after = await rows<{ n: string; calls: string }>(
      ch,
      'SELECT count() AS n, uniqExact(call_id) AS calls FROM call_events FINAL',
    );
    expect(after).toEqual(before);
    expect(Number(after[0]!.calls)).toBe(2);
  });

  it('sends undecodable bytes to the dead-letter topic with the reason, and keeps ingesting', async () => {
    await producer.send({
      topic: topics.callEvents,
      messages: [{ key: 'junk-1', value: Buffer.from('this is not protobuf \xff\xfe') }],
    });
    await publisher.callEvent(offered('call-0003'));
    await waitFor('call after the garbage', async () =>
      (await countOf('call-0003')) === 1 ? true : undefined,
    );
    const dlq = await readOne(topics.deadLetter);
    expect(dlq.key).toBe('junk-1');
    expect(dlq.value).toEqual(Buffer.from('this is not protobuf \xff\xfe'));
    expect(dlq.headers[KAFKA_HEADERS.dlqSourceTopic]).toBe(topics.callEvents);
    expect(dlq.headers[KAFKA_HEADERS.dlqReason]).toMatch(/protobuf|meta|call_id|kind/);
  });

  it('exits cleanly (code 0) on SIGTERM after finishing its batch', async () => {
    expect(await ingester.stop()).toBe(0);
  });

  async function caughtUp(group: string): Promise<true | undefined> {
    return (await groupCaughtUp(kafka(), group, [topics.callEvents])) ? true : undefined;
  }

  async function readOne(
    topic: string,
  ): Promise<{ key: string; value: Buffer; headers: Record<string, string> }> {
    const consumer: Consumer = kafka().consumer({
      groupId: uniqueName('dlq-reader'),
      maxWaitTimeInMs: READER_MAX_WAIT_MS,
    });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    try {
      return await new Promise((resolve) => {
        void consumer.run({
          eachMessage: async ({ message }) => {
            const headers = Object.fromEntries(
              Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]),
            );
            resolve({ key: String(message.key), value: message.value!, headers });
          },
        });
      });
    } finally {
      await consumer.disconnect();
    }
  }
});
