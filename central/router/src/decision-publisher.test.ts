import { silentLogger } from '@ccfed/common';
import { routing } from '@ccfed/proto';
import type { ProducerRecord } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { DecisionPublisher, type DecisionPublisherDeps } from './decision-publisher.js';

const decision = (callId: string): routing.RouteDecision =>
  routing.RouteDecision.fromPartial({
    meta: { eventId: `e-${callId}`, tenantId: 'acme-bank', siteId: 'shanghai' },
    request: { callId, originSiteId: 'shanghai', tenantId: 'acme-bank', skill: 'support' },
    response: { decisionId: `d-${callId}`, verdict: routing.Verdict.VERDICT_STAY, reason: 'r' },
  });

/** A producer that records what it is asked to send, and can be told to fail or hold. */
function producer(opts: { fail?: boolean } = {}) {
  const sent: ProducerRecord[] = [];
  let release: () => void = () => undefined;
  let held = Promise.resolve();
  const p: DecisionPublisherDeps['producer'] = {
    connect: async () => undefined,
    disconnect: async () => undefined,
    send: async (record) => {
      await held;
      if (opts.fail) throw new Error('broker away');
      sent.push(record);
      return [];
    },
  };
  const hold = () => {
    held = new Promise((r) => (release = r));
  };
  return { p, sent, hold, release: () => release() };
}

describe('DecisionPublisher', () => {
  it('sends events keyed by call id, batching what queued meanwhile', async () => {
    const { p, sent, hold, release } = producer();
    const pub = new DecisionPublisher({
      producer: p,
      topic: 't.route-decisions',
      log: silentLogger(),
    });
    await pub.start();
    hold();
    for (const id of ['c-1', 'c-2', 'c-3']) pub.publish(decision(id));
    release();
    expect(await pub.flush(1_000)).toBe(true);
    expect(sent.map((r) => r.messages.map((m) => m.key))).toEqual([['c-1', 'c-2', 'c-3']]);
    expect(sent.every((r) => r.topic === 't.route-decisions' && r.acks === -1)).toBe(true);
    const value = sent[0]!.messages[2]!.value as Buffer;
    expect(routing.RouteDecision.decode(value)).toEqual(decision('c-3'));
  });

  it('drops what does not fit in the queue and what Kafka refuses, never throwing', async () => {
    const full = producer();
    const pub = new DecisionPublisher({
      producer: full.p,
      topic: 't',
      log: silentLogger(),
      maxQueued: 2,
    });
    full.hold();
    for (const id of ['c-1', 'c-2', 'c-3', 'c-4']) pub.publish(decision(id));
    full.release();
    await pub.stop(1_000);
    // c-1 and c-2 waited for the batch; c-3 and c-4 found the queue full.
    expect(full.sent.flatMap((r) => r.messages.map((m) => m.key))).toEqual(['c-1', 'c-2']);

    const failing = producer({ fail: true });
    const pub2 = new DecisionPublisher({ producer: failing.p, topic: 't', log: silentLogger() });
    expect(() => pub2.publish(decision('c-5'))).not.toThrow();
    expect(await pub2.flush(1_000)).toBe(true);
    expect(pub2.pending).toBe(0);
  });
});
