import { describe, expect, it } from 'vitest';
import { FAR_END_TAG, MonitorBook, MonitorError, sdpAnswerProblem } from './monitor-book.js';

const CALL = { callId: 'c1@host', callerTag: 'F1', agentId: 'bj-001', tenantId: 'acme-bank' };
const SUP = 'supervisor:beijing';

function book(limits = { perCall: 2, perSite: 3 }) {
  let n = 0;
  let now = 1_000;
  const b = new MonitorBook({
    clock: { now: () => now },
    randomHex: () => (++n).toString(16).padStart(32, '0'),
    limits,
  });
  return { b, tick: (ms: number) => (now += ms) };
}

const codeOf = (f: () => unknown) => {
  try {
    f();
  } catch (err) {
    if (err instanceof MonitorError) return err.code;
    throw err;
  }
  return 'ok';
};

describe('MonitorBook', () => {
  it('opens a monitor of a talking call hearing the caller, then the far end (the agent)', () => {
    const { b } = book();
    const m = b.open(CALL, CALL.callId, SUP);
    expect(m).toMatchObject({
      callId: 'c1@host',
      agentId: 'bj-001',
      tenantId: 'acme-bank',
      owner: SUP,
      fromTags: ['F1', FAR_END_TAG],
      startedMs: 1_000,
      state: 'offered',
    });
    expect(m.id).toMatch(/^mon-[0-9a-f]{32}$/);
    expect(m.toTag).toBe(`ccfed-${m.id}`);
  });

  it('refuses a call nobody talks on, and more monitors than the limits', () => {
    const { b } = book();
    expect(codeOf(() => b.open(undefined, 'gone', SUP))).toBe('no_call');
    b.open(CALL, CALL.callId, SUP);
    b.open(CALL, CALL.callId, 'supervisor:beijing/acme-bank');
    expect(codeOf(() => b.open(CALL, CALL.callId, SUP))).toBe('too_many');
    b.open({ ...CALL, callId: 'c2' }, 'c2', SUP);
    expect(codeOf(() => b.open({ ...CALL, callId: 'c3' }, 'c3', SUP))).toBe('too_many');
  });

  it('lets only its owner answer it, once, and stop it', () => {
    const { b } = book();
    const m = b.open(CALL, CALL.callId, SUP);
    expect(codeOf(() => b.answerable(m.id, 'supervisor:beijing/acme-bank'))).toBe('not_owner');
    expect(codeOf(() => b.answerable('mon-nope', SUP))).toBe('no_monitor');
    expect(b.answerable(m.id, SUP).id).toBe(m.id);
    b.listening(m.id);
    expect(codeOf(() => b.answerable(m.id, SUP))).toBe('answered');
    expect(codeOf(() => b.close(m.id, 'supervisor:beijing/acme-bank'))).toBe('not_owner');
    expect(b.close(m.id, SUP)?.state).toBe('listening');
    expect(b.close(m.id, SUP)).toBeUndefined();
  });

  it('closes the monitors of calls that ended, and only those', () => {
    const { b } = book({ perCall: 3, perSite: 10 });
    const a = b.open(CALL, CALL.callId, SUP);
    const other = b.open({ ...CALL, callId: 'c2' }, 'c2', SUP);
    expect(b.closeEnded((id) => id === 'c2').map((m) => m.id)).toEqual([a.id]);
    expect(b.get(a.id)).toBeUndefined();
    expect(b.get(other.id)?.callId).toBe('c2');
  });
});

const ANSWER = [
  'v=0',
  'o=- 1 2 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'm=audio 9 UDP/TLS/RTP/SAVPF 0',
  'a=recvonly',
  'm=audio 9 UDP/TLS/RTP/SAVPF 0',
  'a=recvonly',
  '',
].join('\r\n');

describe('sdpAnswerProblem', () => {
  it('takes a recvonly answer with as many audio sections as offered', () => {
    expect(sdpAnswerProblem(ANSWER, 2)).toBeUndefined();
  });

  it('refuses an answer that would send, has other sections or counts, is not SDP, or is huge', () => {
    expect(sdpAnswerProblem(ANSWER.replace(/a=recvonly/, 'a=sendrecv'), 2)).toMatch(/listens only/);
    expect(sdpAnswerProblem(ANSWER, 1)).toMatch(/2 media sections where the offer had 1/);
    expect(sdpAnswerProblem(ANSWER.replace('m=audio 9 UDP', 'm=video 9 UDP'), 2)).toMatch(/audio/);
    expect(sdpAnswerProblem('<html>', 2)).toMatch(/v=0/);
    expect(sdpAnswerProblem(ANSWER + 'a=x\u0000y\r\n', 2)).toMatch(/printable/);
    expect(sdpAnswerProblem(ANSWER + `a=${'x'.repeat(20_000)}\r\n`, 2)).toMatch(/longer than/);
  });
});
