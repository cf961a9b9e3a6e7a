import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { MonitorBook, MonitorError, type TalkingCall } from './monitor-book.js';
import { MonitorService, MonitorUnavailable } from './monitor-service.js';
import type { MonitorMedia } from './rtpengine-monitor.js';

const SUP = 'supervisor:beijing';
const ANSWER =
  'v=0\r\ns=-\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=recvonly\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=recvonly\r\n';

/** The service over a recording stand-in for rtpengine (the real one: tests/desktop/monitor.test.ts). */
function setUp(opts: { failSubscribe?: boolean } = {}) {
  const calls = new Map<string, TalkingCall>([
    ['c1', { callId: 'c1', callerTag: 'F1', agentId: 'bj-001', tenantId: 'acme-bank' }],
  ]);
  const sent: string[] = [];
  const media: MonitorMedia = {
    subscribe: async ({ callId, fromTags, toTag }) => {
      sent.push(`subscribe ${callId} ${fromTags.join(',')} ${toTag}`);
      if (opts.failSubscribe) throw new Error('Unknown call-ID');
      return 'v=0\r\n';
    },
    answer: async ({ toTag }) => void sent.push(`answer ${toTag}`),
    unsubscribe: async ({ toTag }) => void sent.push(`unsubscribe ${toTag}`),
  };
  let n = 0;
  const book = new MonitorBook({
    clock: { now: () => 0 },
    randomHex: () => (++n).toString(16).padStart(32, '0'),
  });
  const service = new MonitorService({
    book,
    media,
    talkingCall: (id) => calls.get(id),
    log: pino({ level: 'silent' }),
  });
  return { service, book, calls, sent };
}

describe('MonitorService', () => {
  it('subscribes to the caller and the far end, answers, and unsubscribes on stop', async () => {
    const { service, sent } = setUp();
    const { monitor, parties } = await service.start('c1', SUP);
    expect(parties).toEqual(['caller', 'agent']);
    await service.answer(monitor.id, SUP, ANSWER);
    expect(await service.stop(monitor.id, SUP)).toBe(true);
    expect(await service.stop(monitor.id, SUP)).toBe(false);
    const tag = `ccfed-${monitor.id}`;
    expect(sent).toEqual([
      `subscribe c1 F1,ccfed-far-end ${tag}`,
      `answer ${tag}`,
      `unsubscribe ${tag}`,
    ]);
  });

  it('forgets a monitor rtpengine would not start, and refuses a sending answer before rtpengine sees it', async () => {
    const failing = setUp({ failSubscribe: true });
    await expect(failing.service.start('c1', SUP)).rejects.toBeInstanceOf(MonitorUnavailable);
    expect(failing.book.all()).toEqual([]);

    const { service, sent } = setUp();
    const { monitor } = await service.start('c1', SUP);
    const err = await service
      .answer(monitor.id, SUP, ANSWER.replace('a=recvonly', 'a=sendrecv'))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MonitorError);
    expect((err as MonitorError).code).toBe('bad_sdp');
    expect(sent.some((s) => s.startsWith('answer'))).toBe(false);
  });

  it("ends a call's monitors once nobody talks on it", async () => {
    const { service, calls, sent, book } = setUp();
    const { monitor } = await service.start('c1', SUP);
    service.sweep();
    expect(book.get(monitor.id)).toBeDefined();
    calls.delete('c1');
    service.sweep();
    expect(book.get(monitor.id)).toBeUndefined();
    await new Promise((r) => setImmediate(r));
    expect(sent.at(-1)).toBe(`unsubscribe ccfed-${monitor.id}`);
  });
});
