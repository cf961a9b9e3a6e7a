// The site agent's event outbox against a real broker that goes away: events buffer on disk,
// survive a restart of the publisher, and reach Kafka once each, in order per key. The broker is
// this file's own (the shared one must not be stopped), with its data and port kept across
// restarts as a production broker's are.
import { join } from 'node:path';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import {
  createKafka,
  ensureTopics,
  ManualClock,
  silentLogger,
  type KafkaCredentials,
} from '@ccfed/common';
import { CallEvent, CustomerTier, topicNames, type TopicNames } from '@ccfed/proto';
import {
  freePort,
  newKafkaPassword,
  openPki,
  startKafka,
  type KafkaInstance,
} from '@ccfed/services';
import { EventStamper } from '@ccfed/site-agent/events/event-meta';
import { Outbox } from '@ccfed/site-agent/events/outbox';
import { OUTBOX_PRODUCER_CONFIG, OutboxSender } from '@ccfed/site-agent/events/outbox-sender';
import { EventPublisher } from '@ccfed/site-agent/events/publisher';
import { Kafka, logLevel, type ISocketFactory, type Producer } from 'kafkajs';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { uniqueName, waitFor } from '../support/engines.js';
import { READER_MAX_WAIT_MS } from '../support/kafka.js';

const KEYS = 50;
/**
 * kafkajs's retry budget for the producers of the tests that stop the broker: about 0.3 s instead
 * of production's 8 s (OUTBOX_PRODUCER_CONFIG). It decides only how soon a send to a stopped
 * broker fails over to the sender's own retry, which reconnects the same producer and resends the
 * same batch (same producer id and sequence numbers); with production's budget that happened 2 or
 * 3 times per outage anyway, and each test waited those 8 s before it could restart the broker.
 */
const SHORT_KAFKAJS_RETRY = { retries: 2, initialRetryTime: 100, maxRetryTime: 200 };
const outageProducerConfig = { ...OUTBOX_PRODUCER_CONFIG, retry: SHORT_KAFKAJS_RETRY };

describe('site events through the disk outbox while the Kafka broker goes away', () => {
  let dir: string;
  let port: number;
  let controllerPort: number;
  let kafka: KafkaInstance | undefined;
  /** This broker's super user, the same across its restarts: the test stands in for the site. */
  const adminPassword = newKafkaPassword();
  let credentials: KafkaCredentials;
  const brokers = () => [`127.0.0.1:${port}`];
  const client = () =>
    createKafka({ brokers: brokers(), clientId: 'outbox-test', credentials, log: silentLogger() });
  const startBroker = async () => {
    const pki = await openPki(inject('pkiDir'));
    kafka = await startKafka({
      dataDir: join(dir, 'kafka'),
      port,
      controllerPort,
      heapMb: 384,
      pki,
      adminPassword,
    });
    credentials = kafka.admin;
  };
  /** SIGTERM is the broker's orderly shutdown (an operator's restart), SIGKILL a crash. */
  const stopBroker = async (signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM') => {
    if (signal === 'SIGKILL') {
      process.kill(kafka!.handle.pid, 'SIGKILL');
      await kafka!.handle.exited;
    } else {
      await kafka!.stop();
    }
    kafka = undefined;
  };

  beforeAll(async () => {
    dir = join(inject('runDir'), uniqueName('outbox-kafka'));
    port = await freePort();
    controllerPort = await freePort();
    await startBroker();
  });

  afterAll(async () => {
    await kafka?.stop();
  });

  /**
   * A fresh prefix with its call-events topic, the only one these tests publish to: the broker
   * loads every partition it holds at each restart, and each test used to add the 30 of all ten
   * ccfed topics.
   */
  async function freshTopics(): Promise<TopicNames> {
    const topics = topicNames(uniqueName('t'));
    await ensureTopics(client(), [{ topic: topics.callEvents, partitions: 3 }]);
    return topics;
  }

  /** One site agent's event path: publisher → outbox on disk → sender → Kafka. */
  function openSite(
    outboxDir: string,
    topics: TopicNames,
    createProducer: () => Producer = () => client().producer(OUTBOX_PRODUCER_CONFIG),
  ) {
    const log = capture();
    const outbox = Outbox.open({ dir: outboxDir, log: log.logger });
    const sender = new OutboxSender({ outbox, log: log.logger, createProducer, retryMaxMs: 1000 });
    sender.start();
    return {
      outbox,
      sender,
      log,
      publisher: new EventPublisher({ outbox, topics }),
      async close(stopTimeoutMs = 30_000) {
        await sender.stop(stopTimeoutMs);
        outbox.close();
      },
    };
  }

  it.each([
    ['stops (SIGTERM)', 'SIGTERM'],
    ['crashes (SIGKILL)', 'SIGKILL'],
  ] as const)(
    'delivers every event once, in order per key, when the broker %s mid-traffic and comes back',
    async (_how, signal) => {
      const topics = await freshTopics();
      const site = openSite(join(dir, uniqueName('outbox-broker-restart')), topics, () =>
        client().producer(outageProducerConfig),
      );
      const traffic = new Traffic(site.publisher);
      try {
        traffic.start(200);
        await waitFor('events flowing to Kafka', async () =>
          site.sender.stats().sent >= 400 ? true : undefined,
        );
        const stoppedAt = Date.now();
        await stopBroker(signal);
        const sentBeforeStop = site.sender.stats().sent;
        // A few seconds of traffic with no broker: it can only be on disk.
        await waitFor('events buffered on disk', async () =>
          site.outbox.pending >= 600 && !site.sender.connected ? true : undefined,
        );
        const restartAt = Date.now();
        await startBroker();
        const awayMs = Date.now() - stoppedAt;
        const pendingAtRestart = site.outbox.pending;
        await waitFor(
          'the backlog delivered and new events flowing',
          async () =>
            site.sender.stats().sent >= sentBeforeStop + pendingAtRestart + 200 ? true : undefined,
          90_000,
        );
        traffic.stop();
        await waitFor('outbox drained', async () => (site.outbox.pending === 0 ? true : undefined));

        const stats = site.sender.stats();
        console.log(
          `outbox, broker ${signal}: ${traffic.count} events, broker away ${awayMs} ms ` +
            `(restarted after ${restartAt - stoppedAt} ms, in ${awayMs - (restartAt - stoppedAt)} ms), ` +
            `${pendingAtRestart} buffered on disk at restart, ${stats.failedSends} failed sends, ` +
            `${stats.producerResets} producer resets`,
        );
        expect(traffic.errors).toEqual([]);
        expect(stats.producerResets).toBe(0);
        expect(site.log.events()).toEqual(
          expect.arrayContaining(['kafka_send_failing', 'kafka_send_recovered']),
        );
        await expectExactlyOnceInOrder(topics, traffic);
      } finally {
        traffic.stop();
        await site.close();
      }
    },
    240_000,
  );

  it('keeps events buffered while the broker is down across a restart of the site agent', async () => {
    const topics = await freshTopics();
    const outboxDir = join(dir, 'outbox-site-restart');
    const outageProducer = () => client().producer(outageProducerConfig);
    const first = openSite(outboxDir, topics, outageProducer);
    const traffic = new Traffic(first.publisher);
    traffic.burst(100);
    await waitFor('first events delivered', async () =>
      first.outbox.pending === 0 ? true : undefined,
    );

    await stopBroker();
    traffic.burst(500);
    await waitFor('a failed send', async () =>
      first.sender.stats().failedSends > 0 ? true : undefined,
    );
    await first.close();

    const second = openSite(outboxDir, topics, outageProducer);
    expect(second.outbox.pending).toBe(500);
    traffic.publisher = second.publisher;
    traffic.burst(100);
    await startBroker();
    try {
      await waitFor(
        'outbox drained after the broker returned',
        async () => (second.outbox.pending === 0 ? true : undefined),
        90_000,
      );
      expect(traffic.errors).toEqual([]);
      await expectExactlyOnceInOrder(topics, traffic);
    } finally {
      await second.close();
    }
  }, 240_000);

  it.each([
    // kafkajs resends the batch at once, on a new connection, with the same sequence numbers.
    ['the connection is reset before the reply arrives', 'reset', OUTBOX_PRODUCER_CONFIG.retry],
    // kafkajs retries on the dead connection until it gives up; the sender then reconnects the
    // same producer, which keeps its id and sequence numbers. kafkajs gets a shorter budget than
    // in production to keep the test short: what matters is what happens once it gives up.
    [
      'the connection goes silent (a NAT or firewall dropped it)',
      'silent',
      { retries: 1, initialRetryTime: 100, maxRetryTime: 200 },
    ],
  ] as const)(
    'does not duplicate a batch the broker wrote when %s',
    async (_loss, mode, retry) => {
      const topics = await freshTopics();
      const faults = new FaultySockets();
      const site = openSite(join(dir, uniqueName('outbox-lost-ack')), topics, () =>
        faultyClient(brokers(), credentials, faults).producer({ ...OUTBOX_PRODUCER_CONFIG, retry }),
      );
      const traffic = new Traffic(site.publisher);
      try {
        traffic.burst(20);
        await waitFor('producer up', async () => (site.outbox.pending === 0 ? true : undefined));
        const requestsBefore = faults.produceRequests;
        faults.arm(mode);
        traffic.burst(40);
        await waitFor(
          'batch acknowledged',
          async () => (site.outbox.pending === 0 ? true : undefined),
          60_000,
        );
        expect(faults.repliesDropped).toBe(1);
        expect(faults.produceRequests - requestsBefore).toBeGreaterThanOrEqual(2);
        expect(site.sender.stats().producerResets).toBe(0);
        await expectExactlyOnceInOrder(topics, traffic);
      } finally {
        await site.close();
      }
    },
    120_000,
  );

  it('duplicates such a batch when the site agent stops before the ack (consumers drop it by event id)', async () => {
    // This is the documented limit: a new producer (new process) cannot prove to the broker that
    // it is resending, so a batch Kafka wrote but never acknowledged is written again.
    const topics = await freshTopics();
    const outboxDir = join(dir, 'outbox-lost-ack-restart');
    const faults = new FaultySockets();
    const first = openSite(outboxDir, topics, () =>
      faultyClient(brokers(), credentials, faults).producer(OUTBOX_PRODUCER_CONFIG),
    );
    const traffic = new Traffic(first.publisher);
    traffic.burst(20);
    await waitFor('producer up', async () => (first.outbox.pending === 0 ? true : undefined));
    faults.arm('silent');
    traffic.burst(30);
    await waitFor('the batch written by the broker', async () =>
      faults.repliesDropped > 0 ? true : undefined,
    );
    await first.close(500);

    const second = openSite(outboxDir, topics);
    try {
      expect(second.outbox.pending).toBe(30);
      await waitFor('resent', async () => (second.outbox.pending === 0 ? true : undefined));
      const received = await consumeAll(topics, traffic.count + 30);
      const copies = new Map<string, number>();
      for (const m of received) copies.set(m.eventId, (copies.get(m.eventId) ?? 0) + 1);
      const twice = traffic.events.filter((e) => copies.get(e.eventId) === 2);
      expect(twice.map((e) => e.eventId)).toEqual(traffic.events.slice(20).map((e) => e.eventId));
      expect(traffic.events.every((e) => (copies.get(e.eventId) ?? 0) >= 1)).toBe(true);
    } finally {
      await second.close();
    }
  }, 120_000);

  /** Every published event is in Kafka exactly once, and each key's events are in publish order. */
  async function expectExactlyOnceInOrder(topics: TopicNames, traffic: Traffic): Promise<void> {
    const admin = client().admin();
    await admin.connect();
    const offsets = await admin.fetchTopicOffsets(topics.callEvents);
    await admin.disconnect();
    // The log itself holds exactly as many records as were published: none twice.
    expect(offsets.reduce((n, p) => n + Number(p.high) - Number(p.low), 0)).toBe(traffic.count);

    const received = await consumeAll(topics, traffic.count);
    expect(received).toHaveLength(traffic.count);
    const perKey = (list: { key: string; seq: number }[]) => {
      const map = new Map<string, number[]>();
      for (const e of list) map.set(e.key, [...(map.get(e.key) ?? []), e.seq]);
      return map;
    };
    expect(perKey(received)).toEqual(perKey(traffic.events));
  }

  /** Reads the call-events topic from the start until `count` messages arrived. */
  async function consumeAll(topics: TopicNames, count: number) {
    const consumer = client().consumer({
      groupId: uniqueName('outbox-check'),
      maxWaitTimeInMs: READER_MAX_WAIT_MS,
    });
    const received: { key: string; seq: number; eventId: string }[] = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topic: topics.callEvents, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          const event = CallEvent.decode(message.value!);
          if (event.kind?.$case !== 'queued') throw new Error('unexpected event');
          received.push({
            key: String(message.key),
            seq: event.kind.value.position,
            eventId: event.meta!.eventId,
          });
        },
      });
      await waitFor(`${count} events consumed`, async () =>
        received.length >= count ? true : undefined,
      );
      return received;
    } finally {
      await consumer.disconnect();
    }
  }
});

/** Call events on KEYS calls, each call's events numbered 1, 2, 3… in `position`. */
class Traffic {
  readonly events: { key: string; seq: number; eventId: string }[] = [];
  readonly errors: string[] = [];
  private readonly perKey = new Map<string, number>();
  private readonly stamper = new EventStamper({ clock: new ManualClock(0), siteId: 'beijing' });
  private timer: NodeJS.Timeout | undefined;

  constructor(public publisher: EventPublisher) {}

  get count(): number {
    return this.events.length;
  }

  /** About `perSecond` events a second, spread over KEYS calls, until stop(). */
  start(perSecond: number): void {
    const everyMs = 50;
    this.timer = setInterval(() => this.burst((perSecond * everyMs) / 1000), everyMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  burst(n: number): void {
    for (let i = 0; i < n; i++) {
      const key = `call-${this.events.length % KEYS}`;
      const seq = (this.perKey.get(key) ?? 0) + 1;
      const meta = this.stamper.stamp('acme-bank');
      // Not awaited one by one: the outbox takes each event synchronously, in call order.
      void this.publisher
        .callEvent({
          meta,
          callId: key,
          skill: 'sales',
          tier: CustomerTier.CUSTOMER_TIER_STANDARD,
          customerId: '',
          callerHash: '',
          arrivalTime: undefined,
          kind: { $case: 'queued', value: { skill: 'sales', position: seq, expectedWaitMs: 0 } },
        })
        .catch((err: unknown) => this.errors.push(String(err)));
      this.perKey.set(key, seq);
      this.events.push({ key, seq, eventId: meta.eventId });
    }
  }
}

/**
 * kafkajs sockets that lose the broker's reply to the next produce request when armed: the broker
 * has written the batch, the client never learns it. `reset` then resets the connection, as a
 * broker or network failure does; `silent` keeps it open and delivers nothing more on it.
 */
class FaultySockets {
  produceRequests = 0;
  repliesDropped = 0;
  private mode: 'reset' | 'silent' | undefined;

  arm(mode: 'reset' | 'silent'): void {
    this.mode = mode;
  }

  readonly factory: ISocketFactory = ({ host, port, ssl, onConnect }) => {
    // kafkajs's own factory, over TLS as every client: requests are seen before encryption and
    // replies after decryption, so the Kafka framing below is what the broker sent.
    const socket: TLSSocket = tlsConnect({ host, port, ...(ssl as object) }, onConnect);
    let awaited: { correlationId: number; mode: 'reset' | 'silent' } | undefined;
    let silent = false;
    const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
    socket.write = ((chunk: unknown, ...rest: unknown[]) => {
      // Request header: int32 size, int16 api key (0 = Produce), int16 version, int32 correlation.
      if (Buffer.isBuffer(chunk) && chunk.length >= 12 && chunk.readInt16BE(4) === 0) {
        this.produceRequests += 1;
        if (this.mode) {
          awaited = { correlationId: chunk.readInt32BE(8), mode: this.mode };
          this.mode = undefined;
        }
      }
      return write(chunk, ...rest);
    }) as typeof socket.write;
    const emit = socket.emit.bind(socket) as (
      event: string | symbol,
      ...args: unknown[]
    ) => boolean;
    socket.emit = ((event: string | symbol, ...args: unknown[]) => {
      if (event !== 'data') return emit(event, ...args);
      if (silent) return true;
      const data = args[0] as Buffer;
      // Response header: int32 size, int32 correlation id.
      if (awaited && data.length >= 8 && data.readInt32BE(4) === awaited.correlationId) {
        this.repliesDropped += 1;
        if (awaited.mode === 'reset') {
          socket.destroy(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
        } else {
          silent = true;
        }
        awaited = undefined;
        return true;
      }
      return emit(event, ...args);
    }) as typeof socket.emit;
    return socket;
  };
}

function faultyClient(
  brokers: string[],
  credentials: KafkaCredentials,
  faults: FaultySockets,
): Kafka {
  return new Kafka({
    brokers,
    clientId: 'outbox-test-faulty',
    socketFactory: faults.factory,
    ssl: { ca: [credentials.ca] },
    sasl: {
      mechanism: 'scram-sha-512',
      username: credentials.username,
      password: credentials.password,
    },
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3_000,
    requestTimeout: 2_000,
  });
}

/** A logger that keeps the `event` of each line, to see what the sender reported. */
function capture() {
  const lines: { event?: string }[] = [];
  const logger = pino(
    { level: 'info' },
    { write: (line: string) => void lines.push(JSON.parse(line) as { event?: string }) },
  );
  return { logger, lines, events: () => lines.map((l) => l.event) };
}
