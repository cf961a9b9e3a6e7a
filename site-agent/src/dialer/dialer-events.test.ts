import { CallEvent, CallParty } from '@ccfed/proto';
import { describe, expect, it } from 'vitest';
import { callerHash } from '../caller-hash.js';
import { DialerEvents, dialerEventKinds } from './dialer-events.js';
import type { DialRequest } from './port.js';

const REQUEST: DialRequest = {
  attemptId: 'att-1',
  callId: 'call-1',
  agentId: 'bj-001',
  number: '+8613800138000',
  skill: 'support',
  tenantId: 'acme-bank',
  order: 'customer_first',
  ringTimeoutMs: 20_000,
};

describe('dialer events', () => {
  it('an attempt that is not connected is one DialAttempted with its outcome and duration', () => {
    const { kinds } = dialerEventKinds(
      REQUEST,
      { startedMs: 1_000 },
      { kind: 'outcome', outcome: { kind: 'abandoned', answeredAtMs: 4_000 } },
      6_500,
    );
    expect(kinds).toEqual([
      {
        $case: 'dialAttempted',
        value: {
          attemptId: 'att-1',
          agentId: 'bj-001',
          order: 'customer_first',
          outcome: 'abandoned',
          reason: '',
          durationMs: 5_500,
          customerAnsweredAt: new Date(4_000),
        },
      },
    ]);
  });

  it('a connected attempt is one DialAttempted, then DialedCallEnded with its talk time and who hung up; never CallAnswered (no inbound wait to count)', () => {
    const first = dialerEventKinds(
      REQUEST,
      { startedMs: 1_000 },
      { kind: 'outcome', outcome: { kind: 'connected', answeredAtMs: 3_000 } },
      3_000,
    );
    expect(first.kinds.map((k) => k.$case)).toEqual(['dialAttempted']);
    const second = dialerEventKinds(
      REQUEST,
      first.record,
      { kind: 'ended', by: 'agent', atMs: 63_000 },
      63_000,
    );
    expect(second.kinds).toEqual([
      {
        $case: 'dialedCallEnded',
        value: {
          attemptId: 'att-1',
          agentId: 'bj-001',
          talkMs: 60_000,
          endedBy: CallParty.CALL_PARTY_AGENT,
        },
      },
    ]);
  });

  it('publishes under the request’s call id and tenant with the caller hash, never the number', async () => {
    const published: CallEvent[] = [];
    let now = 1_000;
    const events = new DialerEvents({
      stamp: (tenantId) => ({
        eventId: `e-${published.length}`,
        tenantId,
        siteId: 'beijing',
        eventTime: new Date(now),
        trace: undefined,
        producerSequence: 1,
      }),
      publish: async (e) => void published.push(e),
      callerHashKey: 'key',
      now: () => now,
      onError: (err) => {
        throw err;
      },
    });
    events.onNews(REQUEST, { kind: 'leg', leg: 'customer', from: 'idle', to: 'trying' });
    now = 9_000;
    events.onNews(REQUEST, { kind: 'outcome', outcome: { kind: 'busy' } });
    await Promise.resolve();
    expect(published).toHaveLength(1);
    expect(published[0]).toMatchObject({
      callId: 'call-1',
      skill: 'support',
      callerHash: callerHash('key', REQUEST.number),
      meta: { tenantId: 'acme-bank' },
      kind: { $case: 'dialAttempted', value: { outcome: 'busy', durationMs: 8_000 } },
    });
    const bytes = Buffer.from(CallEvent.encode(published[0]!).finish()).toString('latin1');
    expect(bytes).not.toContain('13800138000');
  });
});
