// ClickHouse goes away under the ingester, mid-stream, and comes back: for an instant, and for
// seconds. The ingester reaches it through a TCP proxy the test cuts: every connection is
// dropped, INSERTs under way included, and new ones are refused until it is restored. Batches that were not stored must be fetched again from their first
// offset (the consumer rewinds), the ledger reloaded, and in the end every event stored exactly
// once, with nothing committed that is not in ClickHouse.
import { readFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
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
import { eventStream, type StreamMessage } from '../support/event-stream.js';
import { startService, type ServiceProcess } from '../support/processes.js';

const CALLS = 4000;
const CHUNKS = 20;

/** A loopback TCP proxy to ClickHouse's HTTP port that the test can cut and restore. */
class CuttableProxy {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private up = true;

  constructor(target: URL) {
    this.server = createServer((client) => {
      if (!this.up) return void client.destroy();
      const upstream = connect(Number(target.port), target.hostname);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    const { port } = this.server.address() as { port: number };
    return `http://127.0.0.1:${port}`;
  }

  /** Drops every connection, requests under way included, and refuses new ones. */
  cut(): void {
    this.up = false;
    for (const s of this.sockets) s.destroy();
  }

  restore(): void {
    this.up = true;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise((r) => this.server.close(r));
  }
}

describe('ingester: ClickHouse cut off mid-stream and back', () => {
  let topics: TopicNames;
  let prefix: string;
  let database: string;
  let ch: ClickHouseClient;
  let producer: Producer;
  let proxy: CuttableProxy;
  let ingester: ServiceProcess | undefined;
  const group = uniqueName('ingester-outage');
  const kafka = () =>
    createKafka({ brokers: kafkaBrokers(), clientId: 'test-sites', log: silentLogger() });

  const send = (messages: readonly StreamMessage[]) =>
    producer.sendBatch({
      acks: -1,
      topicMessages: [...groupBy(messages, (m) => m.topic)].map(([topic, ms]) => ({
        topic,
        messages: ms.map((m) => ({ key: m.key, value: m.value })),
      })),
    });

  beforeAll(async () => {
    ({ prefix, topics } = await freshTopics());
    ({ database, client: ch } = await freshDatabase());
    producer = kafka().producer({ allowAutoTopicCreation: false });
    await producer.connect();
    proxy = new CuttableProxy(new URL(clickhouseUrl()));
  });

  afterAll(async () => {
    await ingester?.kill();
    await proxy?.close();
    await producer?.disconnect();
    await ch?.close();
  });

  it('stores every event exactly once, and its figures, once ClickHouse is back', async () => {
    const stream = eventStream(topics, { calls: CALLS, seed: 23 });
    const chunk = Math.ceil(stream.messages.length / CHUNKS);
    const sendChunks = async (from: number, to: number) => {
      for (let i = from; i < to; i++) {
        await send(stream.messages.slice(i * chunk, (i + 1) * chunk));
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    ingester = startService(
      'central/ingester/src/index.ts',
      {
        CCFED_KAFKA_BROKERS: kafkaBrokers().join(','),
        CCFED_TOPIC_PREFIX: prefix,
        CCFED_CLICKHOUSE_URL: await proxy.listen(),
        CCFED_CLICKHOUSE_DATABASE: database,
        CCFED_CONSUMER_GROUP: group,
      },
      'ingester',
    );
    await sendChunks(0, 6);
    await waitFor(
      'rows in ClickHouse before the cut',
      async () => ((await count('call_events')) > 0 ? true : undefined),
      60_000,
    );
    // Blips: INSERTs under way fail, but ClickHouse answers again at once, so the next batches
    // of their partitions would be stored right away; only a rewind to the failed batch keeps
    // its rows from being skipped for good.
    for (let i = 6; i < 10; i++) {
      await sendChunks(i, i + 1);
      for (let blip = 0; blip < 4; blip++) {
        proxy.cut();
        proxy.restore();
        await new Promise((r) => setTimeout(r, 60));
      }
    }
    // An outage: traffic keeps coming for 3 s with ClickHouse unreachable, then it is back.
    proxy.cut();
    await sendChunks(10, 14);
    await new Promise((r) => setTimeout(r, 3_000));
    proxy.restore();
    await sendChunks(14, CHUNKS);

    const consumed = sinksFor(topics).map((s) => s.topic);
    await waitFor(
      'the ingester caught up after the outage',
      async () => ((await groupCaughtUp(kafka(), group, consumed)) ? true : undefined),
      120_000,
    );
    const e = stream.expected;
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
    const [calls] = await rows<{ calls: string; talk: string }>(
      ch,
      'SELECT count() AS calls, sum(talk_ms) AS talk FROM calls',
    );
    const [rollup] = await rows<{ offered: string }>(
      ch,
      'SELECT sum(offered) AS offered FROM call_rollup_15m',
    );
    expect({
      tables: got,
      calls: Number(calls!.calls),
      talkMs: Number(calls!.talk),
      rollupOffered: Number(rollup!.offered),
    }).toEqual({
      tables: {
        call_events: { rows: e.callEvents, extra: 0 },
        agent_events: { rows: e.agentEvents, extra: 0 },
        surveys: { rows: e.surveys, extra: 0 },
        crm_events: { rows: e.crmEvents, extra: 0 },
        route_decisions: { rows: e.decisions, extra: 0 },
      },
      calls: e.calls,
      talkMs: e.talkMs,
      rollupOffered: e.calls,
    });
    // The outage was seen (INSERTs failed and their partitions were consumed again), and ridden
    // out rather than crashed through.
    expect(ingester.child.exitCode).toBeNull();
    expect(await ingester.stop()).toBe(0);
    expect(readFileSync(ingester.logFile, 'utf8')).toContain('"event":"batch_failed"');
  });

  async function count(table: string): Promise<number> {
    return Number((await rows<{ n: string }>(ch, `SELECT count() AS n FROM ${table}`))[0]!.n);
  }
});
