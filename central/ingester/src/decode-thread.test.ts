import { topicNames } from '@ccfed/proto';
import { afterAll, describe, expect, it } from 'vitest';
import { eventStream } from '../../../tests/support/event-stream.js';
import { batchRows, rowsRequest, selectRows } from './batch-rows.js';
import { DecodeThread } from './decode-thread.js';
import { sinksFor } from './sinks.js';
import { TsvWriter } from './tsv.js';

const topics = topicNames('t');
const sinks = new Map(sinksFor(topics).map((s) => [s.topic, s]));
const INGESTED_AT = '2026-11-23 04:00:00';
const thread = new DecodeThread(topics);
afterAll(() => thread.close());

/** A generated federation's messages of one topic, at offsets 100.., with garbage among them. */
function batchOf(topic: string) {
  const stream = eventStream(topics, { calls: 40, seed: 7 }).messages.filter(
    (m) => m.topic === topic,
  );
  const values: (Buffer | null)[] = stream.map((m) => m.value);
  values.splice(1, 0, Buffer.from('not a protobuf message at all'), null);
  return values.map((value, i) => ({ offset: 100n + BigInt(i), value }));
}

/** The TSV the ingester wrote before the decode thread: one TsvWriter over the storable rows. */
function inThread(
  topic: string,
  messages: ReturnType<typeof batchOf>,
  keep = (_i: number) => true,
) {
  const sink = sinks.get(topic)!;
  const w = new TsvWriter({ ingested_at: INGESTED_AT });
  messages.forEach((m, i) => {
    const r = sink.toRows(m.value, { partition: 2, offset: String(m.offset) });
    if (r.ok && keep(i)) for (const row of r.rows) w.writeRow(row);
  });
  return w;
}

describe('the decode thread', () => {
  it.each([
    topics.callEvents,
    topics.agentEvents,
    topics.surveys,
    topics.crmEvents,
    topics.routeDecisions,
  ])(
    'turns a batch of %s into the same rows as decoding on the main thread, and says why each bad message is bad',
    async (topic) => {
      const messages = batchOf(topic);
      const result = await thread.rows(rowsRequest(topic, 2, INGESTED_AT, messages));
      const want = inThread(topic, messages);
      const body = selectRows(result, () => true)!;
      expect(body.bytes.toString()).toBe(want.body().toString());
      expect(body.rows).toBe(want.rows);
      expect(body.columns).toEqual(want.columns());
      expect(result.reasons[1]).toMatch(/^not a protobuf /);
      expect(result.reasons[2]).toBe('empty message value');
      expect(result.eventIds[1]).toBeNull();
      expect(result.eventIds.filter((id) => id !== null)).toHaveLength(messages.length - 2);
    },
  );

  it('cuts the rows of the messages not kept (duplicates) out of the body', async () => {
    const messages = batchOf(topics.callEvents);
    const keep = (i: number) => i % 3 !== 0;
    const result = batchRows(
      sinks.get(topics.callEvents)!,
      rowsRequest(topics.callEvents, 2, INGESTED_AT, messages),
    );
    const body = selectRows(result, keep)!;
    const want = inThread(topics.callEvents, messages, keep);
    expect(body.bytes.toString()).toBe(want.body().toString());
    expect(body.rows).toBe(want.rows);
    expect(selectRows(result, () => false)).toBeUndefined();
  });

  it('a batch of nothing but bad messages has no body', async () => {
    const result = await thread.rows(
      rowsRequest(topics.surveys, 0, INGESTED_AT, [
        { offset: 5n, value: Buffer.from([0xff, 0xff]) },
      ]),
    );
    expect(result.columns).toBeNull();
    expect(result.reasons[0]).toMatch(/^not a protobuf Survey/);
    expect(selectRows(result, () => true)).toBeUndefined();
  });

  it('refuses a topic it has no table for, and batches after a closed thread', async () => {
    await expect(
      thread.rows(rowsRequest('t.nonsense', 0, INGESTED_AT, [{ offset: 1n, value: null }])),
    ).rejects.toThrow('decode thread: no table for topic t.nonsense');
    const closed = new DecodeThread(topics);
    await closed.close();
    await expect(
      closed.rows(rowsRequest(topics.surveys, 0, INGESTED_AT, [{ offset: 1n, value: null }])),
    ).rejects.toThrow('the decode thread is closed');
  });
});
