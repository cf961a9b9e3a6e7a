// The ingester's promise: every event in ClickHouse exactly once, whatever happens to it. A day
// of traffic on every topic, with producer duplicates and garbage mixed in, ingested by a process
// that dies right after an INSERT and before its commit (the worst moment), and once more by
// SIGKILL; every figure must still come out exact, and every bad message must be dead-lettered.
import type { ClickHouseClient } from '@clickhouse/client';
import { sinksFor } from '@ccfed/ingester/sinks';
import { KAFKA_HEADERS, type TopicNames } from '@ccfed/proto';
import type { Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  freshDatabase,
  freshTopics,
  readTopics,
  rows,
  uniqueName,
  waitFor,
} from '../support/engines.js';
import { eventStream, type ExpectedFigures, type StreamMessage } from '../support/event-stream.js';
import {
  sendMessages,
  startIngester,
  testKafka,
  waitIngesterCaughtUp,
} from '../support/ingester.js';
import type { ServiceProcess } from '../support/processes.js';

const CALLS = 3000;
const GARBAGE = [
  { key: 'junk-text', value: Buffer.from('this is not protobuf \xff\xfe') },
  { key: 'junk-empty', value: Buffer.alloc(0) },
  { key: 'junk-varint', value: Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0xff]) },
];

describe('ingester: exactly once through crashes, duplicates and garbage', () => {
  let topics: TopicNames;
  let prefix: string;
  let database: string;
  let ch: ClickHouseClient;
  let producer: Producer;
  let expected: ExpectedFigures;
  /** The day's last chunk, sent only after the first crash: new work for the restarted ingester. */
  let sendLastChunk: () => Promise<void>;
  let ingester: ServiceProcess | undefined;
  const group = uniqueName('ccfed-ingester');
  const start = (env: Record<string, string> = {}) =>
    startIngester({ prefix, database, group, env });
  const send = (messages: readonly StreamMessage[]) => sendMessages(producer, messages);

  beforeAll(async () => {
    ({ prefix, topics } = await freshTopics());
    ({ database, client: ch } = await freshDatabase());
    producer = testKafka().producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const stream = eventStream(topics, { calls: CALLS, seed: 7 });
    expected = stream.expected;
    // The day in chunks, so the ingester sees many batches; every 40th message is sent again
    // later, as a site agent resending after a crash would.
    const resent = stream.messages.filter((_, i) => i % 40 === 0);
    const chunk = Math.ceil(stream.messages.length / 6);
    const last = chunk * 5;
    for (let i = 0; i < last; i += chunk) {
      await send(stream.messages.slice(i, i + chunk));
      await send(resent.slice((i / chunk) * 50, (i / chunk + 1) * 50));
    }
    await producer.send({ topic: topics.callEvents, messages: GARBAGE.slice(0, 2) });
    await producer.send({ topic: topics.agentEvents, messages: GARBAGE.slice(2) });
    // One fetch can bring the ingester everything sent so far, and the INSERTs in flight when it
    // dies may all land: the last chunk makes sure the restarted ingester has rows to store.
    sendLastChunk = async () => {
      await send(stream.messages.slice(last));
      await send(resent);
    };
  });

  afterAll(async () => {
    await ingester?.kill();
    await producer?.disconnect();
    await ch?.close();
  });

  it('dies right after an INSERT, before the commit, and the restart stores nothing twice', async () => {
    ingester = await start({ CCFED_FAILPOINT_EXIT_AFTER_INSERTS: '3' });
    expect(await ingester.exited).toBe(137);
    // Three INSERTs landed and none was committed: the restart must not store their rows again.
    // (Which tables they were depends on which INSERTs of the round ClickHouse finished first.)
    expect(await storedRows()).toBeGreaterThan(0);
    await sendLastChunk();

    ingester = await start();
    // The dead member's partitions come back after its session timeout (6 s in tests).
    const before = await storedRows();
    await waitFor(
      'rows from the restarted ingester, to SIGKILL it mid-stream',
      async () => ((await storedRows()) > before ? true : undefined),
      60_000,
    );
    await ingester.kill();

    ingester = await start();
    await waitIngesterCaughtUp(topics, group, 90_000);
    await expectExactFigures();
  });

  it('lands every undecodable message in the dead-letter topic with its reason', async () => {
    const letters = await readTopics({
      topics: [topics.deadLetter],
      decode: (value, _topic, m) => ({
        key: m.key?.toString(),
        value,
        header: (name: string) => m.headers?.[name]?.toString(),
      }),
      until: (got) => GARBAGE.every((g) => got.some((l) => l.key === g.key)),
    });
    for (const g of GARBAGE) {
      const l = letters.find((x) => x.key === g.key)!;
      expect(l.value).toEqual(g.value);
      expect(l.header(KAFKA_HEADERS.dlqReason)).toMatch(/empty|protobuf|meta/);
      expect(l.header(KAFKA_HEADERS.dlqConsumer)).toBe(group);
    }
    // Nothing else was dead-lettered: every good message was stored.
    expect(new Set(letters.map((l) => l.key))).toEqual(new Set(GARBAGE.map((g) => g.key)));
  });

  it('a new ingester group replaying every topic from the start changes no figure', async () => {
    await ingester!.stop();
    const replay = uniqueName('ccfed-ingester-replay');
    ingester = await start({ CCFED_CONSUMER_GROUP: replay });
    await waitIngesterCaughtUp(topics, replay, 90_000);
    await expectExactFigures();
    expect(await ingester.stop()).toBe(0);
  });

  async function storedRows(): Promise<number> {
    let n = 0;
    for (const { table } of sinksFor(topics)) n += await count(table);
    return n;
  }

  async function count(table: string): Promise<number> {
    return Number((await rows<{ n: string }>(ch, `SELECT count() AS n FROM ${table}`))[0]!.n);
  }

  /** Every figure, read without FINAL: exact before merges, as the dashboards read them. */
  async function expectExactFigures(): Promise<void> {
    const [calls] = await rows<Record<string, string>>(
      ch,
      `SELECT count() AS calls, sum(answered) AS answered, sum(abandoned) AS abandoned,
              sum(talk_ms) AS talk_ms FROM calls`,
    );
    const [rollup] = await rows<Record<string, string>>(
      ch,
      `SELECT sum(offered) AS offered, sum(answered) AS answered, sum(abandoned) AS abandoned,
              sum(answer_wait_ms) AS answer_wait_ms, sum(talk_ms) AS talk_ms FROM call_rollup_15m`,
    );
    const [agents] = await rows<{ on_call_ms: string }>(
      ch,
      'SELECT sum(on_call_ms) AS on_call_ms FROM agent_rollup_15m',
    );
    for (const table of ['call_events', 'agent_events', 'surveys', 'crm_events']) {
      const [dates] = await rows<{ wrong: string }>(
        ch,
        `SELECT countIf(event_date != toDate(event_time) OR ingested_at < toDateTime('2026-01-01 00:00:00')) AS wrong FROM ${table}`,
      );
      expect(`${table}: ${dates!.wrong} rows with a wrong event_date or ingested_at`).toBe(
        `${table}: 0 rows with a wrong event_date or ingested_at`,
      );
    }
    expect({
      callEvents: await count('call_events'),
      agentEvents: await count('agent_events'),
      surveys: await count('surveys'),
      crmEvents: await count('crm_events'),
      decisions: await count('route_decisions'),
      snapshotRows: await count('site_snapshots'),
      calls: Number(calls!.calls),
      answered: Number(calls!.answered),
      abandoned: Number(calls!.abandoned),
      talkMs: Number(calls!.talk_ms),
      rollupOffered: Number(rollup!.offered),
      rollupAnswered: Number(rollup!.answered),
      rollupAbandoned: Number(rollup!.abandoned),
      answerWaitMs: Number(rollup!.answer_wait_ms),
      rollupTalkMs: Number(rollup!.talk_ms),
      onCallMs: Number(agents!.on_call_ms),
    }).toEqual({
      callEvents: expected.callEvents,
      agentEvents: expected.agentEvents,
      surveys: expected.surveys,
      crmEvents: expected.crmEvents,
      decisions: expected.decisions,
      snapshotRows: expected.snapshotRows,
      calls: expected.calls,
      answered: expected.answered,
      abandoned: expected.abandoned,
      talkMs: expected.talkMs,
      rollupOffered: expected.calls,
      rollupAnswered: expected.answered,
      rollupAbandoned: expected.abandoned,
      answerWaitMs: expected.answerWaitMs,
      rollupTalkMs: expected.talkMs,
      onCallMs: expected.onCallMs,
    });
  }
});
