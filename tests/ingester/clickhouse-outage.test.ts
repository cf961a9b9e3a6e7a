// ClickHouse goes away under the ingester, mid-stream, and comes back: for an instant, and for
// seconds. The ingester reaches it through a TCP proxy the test cuts: every connection is
// dropped, INSERTs under way included, and new ones are refused until it is restored. Batches
// that were not stored must be fetched again from their first offset (the consumer rewinds), the
// ledger reloaded, and in the end every event stored exactly once, with nothing committed that is
// not in ClickHouse.
import { readFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { ClickHouseClient } from '@clickhouse/client';
import type { TopicNames } from '@ccfed/proto';
import type { Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  clickhouseUrl,
  freshDatabase,
  freshTopics,
  rows,
  uniqueName,
  waitFor,
} from '../support/engines.js';
import { eventStream } from '../support/event-stream.js';
import {
  expectEveryEventOnce,
  startIngester,
  testKafka,
  trafficInChunks,
  waitIngesterCaughtUp,
} from '../support/ingester.js';
import type { ServiceProcess } from '../support/processes.js';

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
  const group = uniqueName('ccfed-ingester-outage');

  beforeAll(async () => {
    ({ prefix, topics } = await freshTopics());
    ({ database, client: ch } = await freshDatabase());
    producer = testKafka().producer({ allowAutoTopicCreation: false });
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
    const sendChunks = trafficInChunks(producer, stream.messages, CHUNKS, 100);
    ingester = await startIngester({
      prefix,
      database,
      group,
      clickhouseUrl: await proxy.listen(),
    });
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

    await waitIngesterCaughtUp(topics, group, 120_000);
    await expectEveryEventOnce(ch, stream.expected);
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
