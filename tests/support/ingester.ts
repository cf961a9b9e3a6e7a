// What the ingester's integration tests share: the central ingester process on a test's own
// topics and database, site traffic sent to it, and the check that every event landed once.
import type { ClickHouseClient } from '@clickhouse/client';
import { groupCaughtUp } from '@ccfed/common';
import { sinksFor } from '@ccfed/ingester/sinks';
import type { TopicNames } from '@ccfed/proto';
import type { Kafka, Producer } from 'kafkajs';
import { expect } from 'vitest';
import { clickhouseEnv, groupBy, rows, waitFor } from './engines.js';
import { adminKafka, kafkaEnv } from './kafka.js';
import type { ExpectedFigures, StreamMessage } from './event-stream.js';
import { startService, type ServiceProcess } from './processes.js';

/** A Kafka client for the test itself (the admin), standing in for the sites. */
export function testKafka(): Kafka {
  return adminKafka('test-sites');
}

/**
 * The ingester process, as Kafka user `ingester`, consuming the topics under `prefix` into
 * `database` as `group` (which must start with `ccfed-ingester`, as its ACLs require).
 */
export async function startIngester(opts: {
  readonly prefix: string;
  readonly database: string;
  readonly group: string;
  /** ClickHouse as the ingester reaches it; the shared server by default. */
  readonly clickhouseUrl?: string;
  readonly env?: Record<string, string>;
}): Promise<ServiceProcess> {
  return startService(
    'central/ingester/src/index.ts',
    {
      ...(await kafkaEnv({ role: 'ingester' }, opts.prefix)),
      CCFED_TOPIC_PREFIX: opts.prefix,
      // As production runs it: its own insert-oriented user (docs/security.md, ClickHouse).
      ...clickhouseEnv('ingester', opts.database, opts.clickhouseUrl),
      CCFED_CONSUMER_GROUP: opts.group,
      // The broker's shortest: a killed ingester's partitions move on in 6 s, not 30.
      CCFED_KAFKA_SESSION_TIMEOUT_MS: '6000',
      ...opts.env,
    },
    'ingester',
  );
}

/** Sends `messages` in one request, as the site agents publish them (acks from every replica). */
export async function sendMessages(
  producer: Producer,
  messages: readonly StreamMessage[],
): Promise<void> {
  await producer.sendBatch({
    acks: -1,
    topicMessages: [...groupBy(messages, (m) => m.topic)].map(([topic, ms]) => ({
      topic,
      messages: ms.map((m) => ({ key: m.key, value: m.value })),
    })),
  });
}

/** Waits until `group` has committed every offset of every topic the ingester consumes. */
export async function waitIngesterCaughtUp(
  topics: TopicNames,
  group: string,
  timeoutMs: number,
): Promise<void> {
  const consumed = sinksFor(topics).map((s) => s.topic);
  await waitFor(
    `ingester group ${group} caught up with every topic`,
    async () => ((await groupCaughtUp(testKafka(), group, consumed)) ? true : undefined),
    timeoutMs,
  );
}

/**
 * Every raw table holds each event once (its rows, and no event id twice), and the calls view and
 * the 15-minute rollup fed from them add up: read without FINAL, as the dashboards read them.
 */
export async function expectEveryEventOnce(
  ch: ClickHouseClient,
  expected: ExpectedFigures,
): Promise<void> {
  const tables: Record<string, { rows: number; extra: number }> = {};
  for (const table of ['call_events', 'agent_events', 'surveys', 'crm_events', 'route_decisions']) {
    const [r] = await rows<{ n: string; extra: string }>(
      ch,
      `SELECT count() AS n, count() - uniqExact(event_id) AS extra FROM ${table}`,
    );
    tables[table] = { rows: Number(r!.n), extra: Number(r!.extra) };
  }
  const [calls] = await rows<{ calls: string; answered: string; talk: string }>(
    ch,
    'SELECT count() AS calls, sum(answered) AS answered, sum(talk_ms) AS talk FROM calls',
  );
  const [rollup] = await rows<{ offered: string }>(
    ch,
    'SELECT sum(offered) AS offered FROM call_rollup_15m',
  );
  expect({
    tables,
    calls: Number(calls!.calls),
    answered: Number(calls!.answered),
    talkMs: Number(calls!.talk),
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
    talkMs: expected.talkMs,
    rollupOffered: expected.calls,
  });
}

/**
 * Traffic arriving over time: `messages` cut into `chunks` equal parts; the function returned
 * sends parts `from` up to `to`, pausing `pauseMs` after each.
 */
export function trafficInChunks(
  producer: Producer,
  messages: readonly StreamMessage[],
  chunks: number,
  pauseMs: number,
): (from: number, to: number) => Promise<void> {
  const size = Math.ceil(messages.length / chunks);
  return async (from, to) => {
    for (let i = from; i < to; i++) {
      await sendMessages(producer, messages.slice(i * size, (i + 1) * size));
      await new Promise((r) => setTimeout(r, pauseMs));
    }
  };
}
