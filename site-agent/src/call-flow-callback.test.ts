// The call flow with callbacks: a queued caller of a skill that offers them hears "press 1" with
// the announcement; pressing 1 swaps the call for a callback in its place, confirms it to the
// caller and then answers them 480; a second caller from the same number is told it is refused and
// stays queued; a supervisor's request
// for a queued call (the control API) does the same as the caller's 1.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Prompt } from './call/queue-media.js';
import { SALES, setup } from './call-flow-test-support.js';

const fileOf = async (prompt: Prompt): Promise<string> =>
  prompt.kind === 'announcement' || prompt.kind === 'farewell'
    ? `/prompts/${prompt.pieces.join('+')}.wav`
    : '/prompts/x.wav';

/** Sales offers callbacks from a 1 s wait, announced at once (no ringback). */
const withCallbacks = (text: string) =>
  text.replace(
    '    queueMedia: { ringbackSeconds: 5, announceEverySeconds: 30, music: macroform-cold_day }',
    '    queueMedia: { ringbackSeconds: 0, announceEverySeconds: 30 }\n    callback: { offerAfterSeconds: 1, maxAttempts: 2, retryAfterSeconds: 60 }',
  );

describe('call flow: callbacks', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const start = () =>
    setup({
      prompts: { fileOf },
      mutate: withCallbacks,
      callbackDir: join(mkdtempSync(join(tmpdir(), 'ccfed-flow-cb-')), 'callbacks'),
    });
  const press = (callId: string) => ({
    callId,
    digit: '1',
    durationMs: 120,
    timestampS: 0,
    sourceIp: '127.0.0.1',
    sourceTag: `tag-${callId}`,
  });

  it('offers the callback with the announcement; a 1 keeps the caller’s place, confirms it, then ends the call 480', async () => {
    const { invite, ev, flow, commands, kinds, callbacks, acd, clock } = start();
    invite('c0', SALES, {}, 'trusted', false, { fromUser: '+8613800000000' });
    invite('c1', SALES, {}, 'trusted', false, { fromUser: '+8613800000001' });
    invite('c2', SALES, {}, 'trusted', false, { fromUser: '+8613800000002' });
    await vi.advanceTimersByTimeAsync(0);
    const c1Play = commands.find((c) => c.action === 'play' && c.callid === 'c1');
    expect(c1Play).toMatchObject({ file: expect.stringMatching(/zh\/press-1-callback\.wav$/) });

    flow.dtmf(press('c1'));
    expect(kinds('c1')).toEqual([
      'offered',
      'queued',
      'announced',
      'digitPressed',
      'callbackRequested',
    ]);
    // The callback holds the place at once; the caller hears it confirmed before the call ends.
    expect(acd.queuedCalls('sales').map((c) => c.callId)).toEqual(['c0', 'c1', 'c2']);
    expect(callbacks!.pending('all')).toEqual([
      expect.objectContaining({ id: 'c1', position: 2, attempts: 0 }),
    ]);
    await vi.advanceTimersByTimeAsync(0);
    const confirmation = commands.findLast((c) => c.action === 'play' && c.callid === 'c1')!;
    expect(confirmation).toMatchObject({
      file: expect.stringMatching(/zh\/callback-booked\.wav$/),
    });
    expect(commands.some((c) => c.action === 'reply' && c.tindex === 2)).toBe(false);
    ev({
      event: 'media',
      id: (confirmation as { id: string }).id,
      action: 'play',
      callid: 'c1',
      ok: 1,
      durationMs: 6_000,
      reason: '',
    });
    clock.advance(6_000);
    await vi.advanceTimersByTimeAsync(6_000);
    expect(commands.at(-1)).toMatchObject({ action: 'reply', code: 480, tindex: 2 });
    expect(flow.activeCalls).toBe(2);
  });

  it('refuses a second callback for the same number and skill: that caller stays queued', async () => {
    const { invite, flow, commands, kinds, acd } = start();
    invite('c1', SALES, {}, 'trusted', false, { fromUser: '+8613800000001' });
    invite('c2', SALES, {}, 'trusted', false, { fromUser: '+8613800000001' });
    await vi.advanceTimersByTimeAsync(0);
    flow.dtmf(press('c1'));
    const replies = commands.filter((c) => c.action === 'reply').length;
    flow.dtmf(press('c2'));
    expect(kinds('c2')).toEqual(['offered', 'queued', 'announced', 'digitPressed']);
    expect(commands.filter((c) => c.action === 'reply')).toHaveLength(replies);
    await vi.advanceTimersByTimeAsync(0);
    expect(commands.findLast((c) => c.action === 'play' && c.callid === 'c2')).toMatchObject({
      file: expect.stringMatching(/zh\/callback-not-booked\.wav$/),
    });
    // c1 hears its confirmation, c2 waits on.
    expect(flow.activeCalls).toBe(2);
    expect(acd.queuedCalls('sales').map((c) => c.callId)).toEqual(['c1', 'c2']);
  });

  it('takes a supervisor’s request for a queued call of its tenant only, and refuses a caller without an E.164 number', async () => {
    const { invite, flow, kinds } = start();
    invite('c1', SALES, {}, 'trusted', false, { fromUser: '+8613800000001' });
    invite('c2', SALES);
    await vi.advanceTimersByTimeAsync(0);
    expect(flow.requestCallback('c1', 'supervisor:beijing', new Set(['zenith-telecom']))).toEqual({
      refused: { kind: 'not_queued' },
    });
    expect(flow.requestCallback('c1', 'supervisor:beijing', 'all')).toMatchObject({
      ok: { id: 'c1', position: 1 },
    });
    expect(kinds('c1').at(-1)).toBe('callbackRequested');
    expect(flow.requestCallback('c2', 'supervisor:beijing', 'all')).toEqual({
      refused: { kind: 'bad_number' },
    });
    expect(flow.requestCallback('nope', 'supervisor:beijing', 'all')).toEqual({
      refused: { kind: 'not_queued' },
    });
  });
});
