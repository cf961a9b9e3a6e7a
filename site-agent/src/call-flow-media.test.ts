// The call flow carrying out the queue experience: the machine's plays become evapi play commands
// with the prompt's file and the action's id, Kamailio's media results and the timers set from
// them come back to the call's machine, the ACD answers where the call stands, and rtpengine's
// digits become call events. Kamailio and Kafka are recorded; tests/media/queue-experience.test.ts
// runs the same with real phones.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Prompt } from './call/queue-media.js';
import { SALES, setup } from './call-flow-test-support.js';
import type { KamailioCommand } from './kamailio/messages.js';

/** Where each prompt's file would be: names a reader can check. */
const fileOf = async (prompt: Prompt): Promise<string> =>
  prompt.kind === 'announcement' || prompt.kind === 'farewell'
    ? `/prompts/assembled/${prompt.pieces.join('+')}.wav`
    : prompt.kind === 'music'
      ? '/prompts/moh/first.wav'
      : `/prompts/${prompt.piece}.wav`;

const plays = (commands: readonly KamailioCommand[]) =>
  commands.filter((c): c is Extract<KamailioCommand, { action: 'play' }> => c.action === 'play');

/** Lets the prompt files resolve and the plays go out. */
const flush = () => vi.advanceTimersByTimeAsync(0);

describe('call flow: what a queued caller hears', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('plays ringback, then the position and wait the ACD gives, through Kamailio, timed by the lengths it reports', async () => {
    const { invite, ev, commands, clock, callEvents } = setup({ prompts: { fileOf } });
    invite('c1', SALES);
    await flush();
    expect(commands.map((c) => c.action)).toEqual(['provisional', 'play']);
    expect(plays(commands)[0]).toEqual({
      action: 'play',
      id: 'p1',
      callid: 'c1',
      fromTag: 'tag-c1',
      file: '/prompts/tones/ringback-cn.wav',
    });
    ev({
      event: 'media',
      id: 'p1',
      action: 'play',
      callid: 'c1',
      ok: 1,
      durationMs: 5_000,
      reason: '',
    });
    clock.advance(5_000);
    await vi.advanceTimersByTimeAsync(5_000);
    // Sales is Mandarin by default; nobody is staffed, so the wait is unknown to the minute.
    const announcement = plays(commands)[1]!;
    expect(announcement.id).toBe('p4');
    expect(announcement.file).toMatch(/^\/prompts\/assembled\/zh\/you-are-next\+/);
    const announced = callEvents.find((e) => e.kind?.$case === 'announced');
    expect(announced?.kind).toMatchObject({ value: { position: 1, language: 'zh' } });
  });

  it('sends no play that stopped being current while its file was prepared', async () => {
    let release: (file: string) => void = () => {};
    const slow = { fileOf: () => new Promise<string>((r) => (release = r)) };
    const { invite, ev, staff, commands } = setup({ prompts: slow });
    invite('c1', SALES);
    staff('bj-001', 6001);
    ev({ event: 'answered', callid: 'c1', agent: 'bj-001' });
    release('/prompts/tones/ringback-cn.wav');
    await flush();
    expect(plays(commands)).toEqual([]);
    // The answer's stop, which Kamailio acknowledges even with nothing playing.
    expect(commands.at(-1)).toMatchObject({ action: 'stop', callid: 'c1', fromTag: 'tag-c1' });
  });

  it('moves on when a prompt has no file: ringback missing, the announcement comes at once', async () => {
    const missingRingback = {
      fileOf: (p: Prompt) =>
        p.kind === 'ringback'
          ? Promise.reject(new Error('no prompt tones/ringback-cn'))
          : fileOf(p),
    };
    const { invite, commands } = setup({ prompts: missingRingback });
    invite('c1', SALES);
    await flush();
    await flush();
    expect(plays(commands).map((p) => p.file)).toEqual([
      expect.stringMatching(/^\/prompts\/assembled\/zh\/you-are-next\+/),
    ]);
  });

  it("turns a waiting caller's key into a digit_pressed event; another party's is nothing", () => {
    const { invite, flow, kinds, callEvents } = setup({ prompts: { fileOf } });
    invite('c1', SALES);
    const digit = {
      callId: 'c1',
      digit: '1',
      durationMs: 120,
      timestampS: 0,
      sourceIp: '127.0.0.1',
    };
    flow.dtmf({ ...digit, sourceTag: 'ccfed-far-end' });
    flow.dtmf({ ...digit, sourceTag: 'tag-c1' });
    expect(kinds('c1')).toEqual(['offered', 'queued', 'digitPressed']);
    expect(callEvents.at(-1)?.kind).toEqual({
      $case: 'digitPressed',
      value: { digit: '1', durationMs: 120, waitedMs: 0 },
    });
  });
});
