// The sender's rules, against a producer that fails on command. Whether the broker really drops
// a resent batch is tested on a real broker in tests/site/outbox-kafka.test.ts.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@ccfed/common';
import type { Message, Producer, ProducerBatch } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { Outbox } from './outbox.js';
import { OutboxSender } from './outbox-sender.js';

const cleanup: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

/** Errors shaped as kafkajs shapes them. */
const kafkaErrors = {
  retriesExceeded: () =>
    Object.assign(new Error('Connection error: connect ECONNREFUSED 127.0.0.1:9092'), {
      name: 'KafkaJSNumberOfRetriesExceeded',
      retriable: false,
      cause: Object.assign(new Error('connect ECONNREFUSED'), {
        name: 'KafkaJSConnectionError',
        retriable: true,
      }),
    }),
  protocol: (type: string) =>
    Object.assign(new Error(type), { name: 'KafkaJSProtocolError', type, retriable: false }),
};

type Step = 'ok' | Error | Promise<void>;

/** A producer that records every sendBatch and answers with the next scripted step. */
class FakeProducer {
  readonly sends: { topic: string; messages: Message[] }[][] = [];
  connects = 0;
  disconnects = 0;
  inFlight = 0;
  maxInFlight = 0;
  constructor(private readonly script: Step[] = []) {}

  async connect(): Promise<void> {
    this.connects += 1;
  }
  async disconnect(): Promise<void> {
    this.disconnects += 1;
  }
  async sendBatch(batch: ProducerBatch): Promise<[]> {
    this.sends.push(batch.topicMessages!.map((t) => ({ topic: t.topic, messages: t.messages })));
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      const step = this.script.shift() ?? 'ok';
      if (step instanceof Error) throw step;
      if (step !== 'ok') await step;
      return [];
    } finally {
      this.inFlight -= 1;
    }
  }
  /** Values of every message sent, in order, across all sends. */
  values(sends = this.sends): string[] {
    return sends.flatMap((s) => s.flatMap((t) => t.messages.map((m) => String(m.value))));
  }
}

function setup(
  opts: { script?: Step[]; producers?: FakeProducer[]; batch?: number; partitions?: number } = {},
) {
  const dir = mkdtempSync(join(tmpdir(), 'ccfed-sender-'));
  const outbox = Outbox.open({ dir, log: silentLogger() });
  const producers = opts.producers ?? [new FakeProducer(opts.script)];
  const made: FakeProducer[] = [];
  const sender = new OutboxSender({
    outbox,
    log: silentLogger(),
    createProducer: () => {
      const p = producers[made.length] ?? new FakeProducer();
      made.push(p);
      return p as unknown as Producer;
    },
    ...(opts.partitions !== undefined && { partitionsOf: async () => opts.partitions! }),
    maxBatchRecords: opts.batch ?? 500,
    retryInitialMs: 5,
    retryMaxMs: 20,
  });
  cleanup.push(() => {
    outbox.close();
    rmSync(dir, { recursive: true, force: true });
  });
  cleanup.push(() => sender.stop(1000));
  const append = (key: string, n: number, topic = 't.call-events') =>
    outbox.append({ topic, key, value: Buffer.from(`${key}#${n}`), headers: {} });
  return { dir, outbox, sender, producer: producers[0]!, made, append };
}

describe('OutboxSender', () => {
  it('delivers everything in outbox order and empties the outbox only after Kafka acknowledged', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const { sender, producer, append } = setup({ script: [held], batch: 50 });
    for (let n = 0; n < 120; n++) append(`k${n % 7}`, n, n % 3 ? 't.call-events' : 't.agents');
    sender.start();
    await until(() => producer.sends.length === 1);
    // The first batch is in flight and not acknowledged: it is all still pending.
    expect(sender.pending).toBe(120);
    release();
    expect(await sender.flush(5000)).toBe(true);
    expect(producer.maxInFlight).toBe(1);
    expect(producer.sends.map((s) => s.reduce((n, t) => n + t.messages.length, 0))).toEqual([
      50, 50, 20,
    ]);
    const byTopic = (topic: string) =>
      producer.sends.flatMap((s) =>
        s.filter((t) => t.topic === topic).flatMap((t) => t.messages.map((m) => String(m.value))),
      );
    const expected = [...Array(120).keys()].map((n) => `k${n % 7}#${n}`);
    expect(byTopic('t.agents')).toEqual(expected.filter((_, n) => n % 3 === 0));
    expect(byTopic('t.call-events')).toEqual(expected.filter((_, n) => n % 3 !== 0));
    expect(sender.stats()).toMatchObject({ pending: 0, connected: true, sent: 120 });
  });

  it('with the partition counts, sends a request per partition and resends only the parts Kafka did not acknowledge', async () => {
    const down = kafkaErrors.retriesExceeded();
    const { sender, producer, append } = setup({ script: ['ok', down, 'ok'], partitions: 3 });
    for (let n = 0; n < 30; n++) append(`k${n % 7}`, n);
    sender.start();
    expect(await sender.flush(5000)).toBe(true);
    const partitionsOf = (send: (typeof producer.sends)[number]) => [
      ...new Set(send.flatMap((t) => t.messages.map((m) => m.partition))),
    ];
    // A cluster's leaders each get their own request: one partition per send, every key always
    // on one partition.
    expect(producer.sends.map(partitionsOf).every((p) => p.length === 1)).toBe(true);
    const firstRound = producer.sends.slice(0, 3);
    expect(new Set(firstRound.map((s) => partitionsOf(s)[0])).size).toBe(3);
    const partitionOfKey = new Map<string, number>();
    for (const m of producer.sends.flatMap((s) => s.flatMap((t) => t.messages)))
      expect(partitionOfKey.set(String(m.key), m.partition!).get(String(m.key))).toBe(m.partition);
    // The part that failed went again, alone and unchanged; the two Kafka took did not.
    expect(producer.sends).toHaveLength(4);
    expect(producer.sends[3]).toEqual(producer.sends[1]);
    expect(producer.values().sort()).toEqual(
      [
        ...[...Array(30).keys()].map((n) => `k${n % 7}#${n}`),
        ...producer.values([producer.sends[1]!]),
      ].sort(),
    );
    expect(sender.stats()).toMatchObject({ pending: 0, sent: 30, failedSends: 1 });
  });

  it('retries the very same batch while Kafka is away and sends nothing after it meanwhile', async () => {
    const down = kafkaErrors.retriesExceeded();
    const { sender, producer, append, made } = setup({ script: [down, down, down] });
    for (let n = 0; n < 10; n++) append('k', n);
    sender.start();
    await until(() => producer.sends.length >= 2);
    expect(sender.connected).toBe(false);
    for (let n = 10; n < 15; n++) append('k', n);
    expect(await sender.flush(5000)).toBe(true);
    // Four identical sends of records 0-9 (the broker's idempotence depends on it), then 10-14.
    const [first, ...rest] = producer.sends;
    expect(rest.slice(0, 3)).toEqual([first, first, first]);
    expect(producer.values(rest.slice(3))).toEqual([10, 11, 12, 13, 14].map((n) => `k#${n}`));
    // The same producer throughout, reconnected after each failure: its id and sequence
    // numbers are what let the broker recognise a resent batch.
    expect(made).toHaveLength(1);
    expect(producer.connects).toBe(4);
    expect(sender.stats()).toMatchObject({ connected: true, failedSends: 3, producerResets: 0 });
  });

  it('keeps the batch in the outbox across a stop while Kafka is away', async () => {
    const down = kafkaErrors.retriesExceeded();
    const { sender, producer, append, outbox } = setup({ script: Array(100).fill(down) });
    for (let n = 0; n < 5; n++) append('k', n);
    sender.start();
    await until(() => producer.sends.length >= 2);
    expect(await sender.flush(50)).toBe(false);
    await sender.stop(1000);
    expect(outbox.pending).toBe(5);
    expect(producer.disconnects).toBeGreaterThanOrEqual(producer.connects);
  });

  it('replaces the producer when the broker rejects its sequence, and resends the same batch', async () => {
    const rejected = new FakeProducer([kafkaErrors.protocol('OUT_OF_ORDER_SEQUENCE_NUMBER')]);
    const fresh = new FakeProducer();
    const { sender, append, made } = setup({ producers: [rejected, fresh] });
    for (let n = 0; n < 3; n++) append('k', n);
    sender.start();
    expect(await sender.flush(5000)).toBe(true);
    expect(made).toEqual([rejected, fresh]);
    expect(rejected.disconnects).toBe(1);
    expect(fresh.values()).toEqual(['k#0', 'k#1', 'k#2']);
    expect(sender.stats().producerResets).toBe(1);
  });

  it('sets aside the one record Kafka refuses and delivers all the others in order', async () => {
    const tooLarge = kafkaErrors.protocol('MESSAGE_TOO_LARGE');
    const poison = 'k#5';
    const producer = new FakeProducer();
    producer.sendBatch = async function (batch: ProducerBatch) {
      const values = batch.topicMessages!.flatMap((t) => t.messages.map((m) => String(m.value)));
      this.sends.push(batch.topicMessages!.map((t) => ({ topic: t.topic, messages: t.messages })));
      if (values.includes(poison)) throw tooLarge;
      return [];
    };
    const { sender, append, dir } = setup({ producers: [producer] });
    for (let n = 0; n < 12; n++) append('k', n);
    sender.start();
    expect(await sender.flush(5000)).toBe(true);
    const delivered = producer.sends
      .map((s) => s.flatMap((t) => t.messages.map((m) => String(m.value))))
      .filter((values) => !values.includes(poison))
      .flat();
    expect(delivered).toEqual([...Array(12).keys()].filter((n) => n !== 5).map((n) => `k#${n}`));
    expect(readFileSync(join(dir, 'rejected.seg')).includes(poison)).toBe(true);
    expect(sender.stats().rejected).toBe(1);
  });

  it('waits for the send in flight at stop, and acknowledges it if Kafka took it', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const { sender, producer, append, outbox } = setup({ script: [held] });
    append('k', 0);
    sender.start();
    await until(() => producer.sends.length === 1);
    const stopped = sender.stop(5000);
    release();
    await stopped;
    expect(outbox.pending).toBe(0);
    expect(producer.disconnects).toBe(1);
  });

  it('gives up waiting at the stop timeout and leaves the records for the next start', async () => {
    const { sender, producer, append, outbox } = setup({ script: [new Promise<void>(() => {})] });
    append('k', 0);
    sender.start();
    await until(() => producer.sends.length === 1);
    await sender.stop(50);
    expect(outbox.pending).toBe(1);
  });
});

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 2));
  }
}
