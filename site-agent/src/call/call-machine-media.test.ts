// What a queued caller hears, as event sequences through the call machine: each row feeds one
// input (Kamailio's media results, timers firing, the ACD's announcements, the call's own
// phases) and states the exact, ordered effects. Plays and timers carry ids; a result or firing
// whose id is not the current one changes nothing.
import { CustomerTier } from '@ccfed/proto';
import { parseTopology, siteById } from '@ccfed/topology';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { CallContext } from '../call-context.js';
import { newCall, step, type CallEffect, type CallInput, type CallState } from './call-machine.js';
import type { QueueMediaSettings } from './queue-media.js';

const EXAMPLE = new URL('../../../topology/example.yaml', import.meta.url).pathname;
const TOPOLOGY = parseTopology(readFileSync(EXAMPLE, 'utf8'), EXAMPLE);
const T0 = Date.parse('2026-11-22T02:00:00Z');
const SITE = 'beijing';

const CONTEXT: CallContext = {
  tenantId: 'acme-bank',
  skill: 'support',
  requestedSkill: '',
  tier: CustomerTier.CUSTOMER_TIER_STANDARD,
  customerId: '',
  arrivalMs: T0,
  originSite: '',
  hops: 0,
  decisionId: '',
  traceparent: '',
  problems: [],
};

/** One 5 s ringback period, then the announcement; again every 30 s from entry. */
const MEDIA: QueueMediaSettings = {
  language: 'en',
  ringback: 'tones/ringback-cn',
  ringbackMs: 5_000,
  announceEveryMs: 30_000,
};

function fresh(media: QueueMediaSettings = MEDIA): CallState {
  return newCall({
    callId: 'c1',
    context: CONTEXT,
    callerHash: '',
    dialedNumber: '400200200',
    fromTag: 'caller-tag',
    cseq: 1,
    transaction: { tindex: 1, tlabel: 2, tsS: 0, tsU: 0 },
    serviceLevel: { thresholdMs: 20_000, shortAbandonMs: 5_000 },
    media,
  });
}

type Row = readonly [atMs: number, input: CallInput];

function run(state: CallState, rows: readonly Row[]): { state: CallState; effects: string[][] } {
  const effects: string[][] = [];
  for (const [at, input] of rows) {
    const next = step(state, input, T0 + at, SITE);
    state = next.state;
    effects.push(brief(next.effects));
  }
  return { state, effects };
}

/** Effects as a reader checks them; media, timers and ACD requests in full. */
function brief(effects: readonly CallEffect[]): string[] {
  return effects.map((e) => {
    switch (e.type) {
      case 'media':
        if (e.action.op === 'stop') return `stop ${e.action.id}`;
        return e.action.prompt.kind === 'announcement' || e.action.prompt.kind === 'farewell'
          ? `play ${e.action.id} ${e.action.prompt.kind}: ${e.action.prompt.text}`
          : `play ${e.action.id} ${e.action.prompt.kind}`;
      case 'start_timer':
        return `start_timer ${e.id} ${e.afterMs}`;
      case 'cancel_timer':
        return `cancel_timer ${e.id}`;
      case 'acd':
        return `acd ${e.op}`;
      case 'publish':
        return `publish ${e.kind.$case}`;
      case 'log':
        return `log ${e.event}`;
      case 'kamailio':
        return `kamailio ${e.command.action}`;
      case 'transition':
        return `${e.leg}: ${e.from} -> ${e.to}`;
      case 'day_stats':
        return `day_stats ${e.op}`;
      case 'leave':
        return `leave ${e.outcome}`;
      case 'recording':
        return `recording ${e.op}`;
      case 'callback':
        return `callback ${e.op}`;
    }
  });
}

const queued: Row = [0, { type: 'queued', position: 2, expectedWaitMs: 200_000 }];
const played = (id: string, durationMs: number): CallInput => ({
  type: 'media_result',
  id,
  ok: true,
  durationMs,
});
const fired = (id: string): CallInput => ({ type: 'timer', id });
const standing: CallInput = { type: 'announcement', position: 2, waitMs: 170_000 };
const SAID =
  'You are number 2 in the queue. Your expected wait is about 3 minutes. Thank you for waiting.';

describe('the queue experience of a call that waits', () => {
  it('ringback from the moment it queues, then position and wait, then music, the announcement again every 30 s from entry', () => {
    const { effects } = run(fresh(), [
      queued,
      [20, played('p1', 5_000)],
      [5_020, fired('t3')],
      [5_020, standing],
      [5_040, played('p4', 6_300)],
      [11_340, fired('t5')],
      [11_360, played('p6', 180_000)],
      [30_000, fired('t2')],
      [30_000, { type: 'announcement', position: 1, waitMs: 50_000 }],
      [30_030, played('p9', 4_000)],
      [34_030, fired('t10')],
    ]);
    expect(effects).toEqual([
      [
        'kamailio provisional',
        'caller: none -> early',
        'publish queued',
        'play p1 ringback',
        'start_timer t2 30000',
      ],
      // rtpengine says one period plays 5 s: it ends then
      ['start_timer t3 5000'],
      // ringback done (about 5 s asked): where the caller stands, from the ACD
      ['acd announcement'],
      [`play p4 announcement: ${SAID}`, 'publish announced', 'log queue_announced'],
      ['start_timer t5 6300'],
      ['play p6 music'],
      ['start_timer t7 180000'],
      // 30 s from entry: the announcement interrupts the music, the next falls due at 60 s
      ['acd announcement', 'start_timer t8 30000'],
      [
        'play p9 announcement: You are next in the queue. Your expected wait is less than a minute. Thank you for waiting.',
        'publish announced',
        'log queue_announced',
      ],
      ['start_timer t10 4000'],
      ['play p11 music'],
    ]);
  });

  it('publishes what was announced: the position, the calibrated wait before rounding, the wait as heard, the language', () => {
    const next = step(
      run(fresh(), [queued, [20, played('p1', 5_000)], [5_020, fired('t3')]]).state,
      standing,
      T0 + 5_020,
      SITE,
    );
    expect(next.effects.find((e) => e.type === 'publish')).toEqual({
      type: 'publish',
      kind: {
        $case: 'announced',
        value: { position: 2, expectedWaitMs: 170_000, announcedWait: '3', language: 'en' },
      },
    });
    const play = next.effects.find((e) => e.type === 'media');
    expect(play).toMatchObject({
      action: {
        prompt: {
          kind: 'announcement',
          pieces: [
            'en/you-are-number',
            'en/number-2',
            'en/in-the-queue',
            'en/expected-wait',
            'en/number-3',
            'en/minutes',
            'en/thank-you',
          ],
        },
      },
    });
  });

  it('speaks the number’s language: Mandarin pieces for a zh number', () => {
    const zh = run(fresh({ ...MEDIA, language: 'zh', ringbackMs: 0 }), [
      queued,
      [0, { type: 'announcement', position: 2, waitMs: 120_000 }],
    ]);
    expect(zh.effects[0]).toEqual([
      'kamailio provisional',
      'caller: none -> early',
      'publish queued',
      // no ringback asked: the announcement at once
      'acd announcement',
      'start_timer t1 30000',
    ]);
    expect(zh.effects[1]![0]).toBe(
      'play p2 announcement: 您现在排在第二位。预计等待时间约两分钟。感谢您的耐心等待。',
    );
  });

  it('rings back for whole periods close to what the skill asks', () => {
    const { effects } = run(fresh({ ...MEDIA, ringbackMs: 12_000 }), [
      queued,
      [10, played('p1', 5_000)],
      [5_010, fired('t3')],
      [5_020, played('p4', 5_000)],
      [10_020, fired('t5')],
    ]);
    // 5 s played, 7 s left: another period; 10 s played, 2 s left (under half a period): done
    expect(effects.slice(2)).toEqual([
      ['play p4 ringback'],
      ['start_timer t5 5000'],
      ['acd announcement'],
    ]);
  });
});

describe('late and stale results change nothing', () => {
  const cases: [string, readonly Row[], CallInput][] = [
    [
      'a result for a play already replaced',
      [queued, [20, played('p1', 5_000)], [5_020, fired('t3')]],
      played('p1', 5_000),
    ],
    ['a second result for the same play', [queued, [20, played('p1', 5_000)]], played('p1', 5_000)],
    [
      'a timer that was cancelled',
      [queued, [10, { type: 'assigned', agentId: 'bj-002', uri: 'sip:a@127.0.0.1' }]],
      fired('t2'),
    ],
    ['a timer id never started', [queued], fired('t99')],
    ['an announcement nobody asked for', [queued], standing],
    [
      'a result after the answer',
      [
        queued,
        [10, { type: 'assigned', agentId: 'bj-002', uri: 'sip:a@127.0.0.1' }],
        [900, { type: 'answered' }],
      ],
      played('p1', 5_000),
    ],
    [
      'a timer after the caller hung up',
      [queued, [20, played('p1', 5_000)], [3_000, { type: 'cancel' }]],
      fired('t3'),
    ],
  ];
  it.each(cases)('%s', (_what, rows, input) => {
    const before = run(fresh(), rows).state;
    const next = step(before, input, T0 + 60_000, SITE);
    expect(next.effects).toEqual([]);
    expect(next.state).toEqual(before);
  });
});

describe('the queue experience around the call’s phases', () => {
  const ringing: Row = [3_000, { type: 'assigned', agentId: 'bj-002', uri: 'sip:a@127.0.0.1' }];

  it('while an agent’s phone rings: what plays goes on, ringback ends in music, no announcement', () => {
    const { effects } = run(fresh(), [
      queued,
      [20, played('p1', 5_000)],
      ringing,
      [5_020, fired('t3')],
      [5_030, played('p4', 180_000)],
    ]);
    expect(effects.slice(2)).toEqual([
      ['kamailio relay', 'agent: none -> trying', 'cancel_timer t2', 'log call_assigned'],
      ['play p4 music'],
      ['start_timer t5 180000'],
    ]);
  });

  it('the agent answers: playback stops (Kamailio stopped it with the 200 too), every timer is cancelled', () => {
    const { state, effects } = run(fresh(), [
      queued,
      [20, played('p1', 5_000)],
      ringing,
      [4_000, { type: 'answered' }],
    ]);
    expect(effects[3]).toEqual([
      'agent: trying -> confirmed',
      'caller: early -> confirmed',
      'cancel_timer t3',
      'stop s4',
      'acd answered',
      'day_stats answered',
      'publish answered',
    ]);
    expect(state.media.over).toBe(true);
  });

  it('the phone did not answer: back in the queue, the music goes on and announcements resume on their schedule', () => {
    const { effects } = run(fresh(), [
      queued,
      [20, played('p1', 5_000)],
      ringing,
      [5_020, fired('t3')],
      [5_030, played('p4', 180_000)],
      [23_000, { type: 'branch_failed', code: 408, requeued: { tindex: 5, tlabel: 6 } }],
      [23_000, { type: 'queued', position: 1, expectedWaitMs: 20_000 }],
      [30_000, fired('t6')],
    ]);
    expect(effects.slice(6)).toEqual([
      ['kamailio provisional', 'publish queued', 'start_timer t6 7000'],
      ['acd announcement', 'start_timer t7 30000'],
    ]);
  });

  it('moved to another site: its timers stop here and nothing is stopped (the target’s early media replaces it); refused there, music again here', () => {
    const target = siteById(TOPOLOGY, 'guangzhou');
    const { effects } = run(fresh(), [
      queued,
      [20, played('p1', 5_000)],
      [
        4_000,
        {
          type: 'move_out',
          target,
          decisionId: 'd',
          topology: TOPOLOGY,
          signingKey: Buffer.alloc(32, 1),
        },
      ],
      [4_200, { type: 'branch_failed', code: 486, requeued: { tindex: 7, tlabel: 8 } }],
      [4_200, { type: 'queued', position: 3, expectedWaitMs: 90_000 }],
    ]);
    expect(effects[2]!.slice(0, 4)).toEqual([
      'acd withdraw',
      'cancel_timer t2',
      'cancel_timer t3',
      'kamailio relay',
    ]);
    expect(effects[2]).not.toContainEqual(expect.stringMatching(/^stop/));
    expect(effects[4]).toEqual([
      'kamailio provisional',
      'publish queued',
      'play p4 music',
      'start_timer t5 25800',
    ]);
  });

  it('a prompt that cannot be played: on to what follows, and music that cannot be played is silence, not a loop', () => {
    const failed = (id: string): CallInput => ({
      type: 'media_result',
      id,
      ok: false,
      durationMs: -1,
      reason: 'no prompt en/number-2',
    });
    const { effects } = run(fresh(), [
      queued,
      [20, played('p1', 5_000)],
      [5_020, fired('t3')],
      [5_020, standing],
      [5_040, failed('p4')],
      [5_060, failed('p5')],
      [30_000, fired('t2')],
    ]);
    expect(effects.slice(4)).toEqual([
      ['log queue_media_failed', 'play p5 music'],
      ['log queue_media_failed'],
      // announcements go on on their schedule
      ['acd announcement', 'start_timer t6 30000'],
    ]);
  });

  it('a ringback that cannot be played is not asked for again: the announcement comes at once', () => {
    const { effects } = run(fresh(), [
      queued,
      [20, { type: 'media_result', id: 'p1', ok: false, durationMs: -1, reason: 'no prompt' }],
    ]);
    expect(effects[1]).toEqual(['log queue_media_failed', 'acd announcement']);
  });
});

describe('keys the caller presses while waiting', () => {
  const dtmf = (sourceTag: string): CallInput => ({
    type: 'dtmf',
    digit: '1',
    sourceTag,
    durationMs: 240,
  });

  it('are events of the call while it waits, with how long the caller had waited', () => {
    const at = run(fresh(), [queued]).state;
    const next = step(at, dtmf('caller-tag'), T0 + 7_500, SITE);
    expect(next.effects).toEqual([
      {
        type: 'publish',
        kind: { $case: 'digitPressed', value: { digit: '1', durationMs: 240, waitedMs: 7_500 } },
      },
      {
        type: 'log',
        level: 'info',
        event: 'digit_pressed',
        message: 'the waiting caller pressed a key',
        fields: { digit: '1', waitedMs: 7_500 },
      },
    ]);
  });

  it('are nothing from another party, or once the call is answered', () => {
    const waiting = run(fresh(), [queued]).state;
    expect(step(waiting, dtmf('ccfed-far-end'), T0 + 1_000, SITE).effects).toEqual([]);
    const talking = run(fresh(), [
      queued,
      [1_000, { type: 'assigned', agentId: 'bj-002', uri: 'sip:a@127.0.0.1' }],
      [2_000, { type: 'answered' }],
    ]).state;
    expect(step(talking, dtmf('caller-tag'), T0 + 3_000, SITE).effects).toEqual([]);
  });
});

describe('the callback offer (docs/callbacks.md)', () => {
  /** A support call whose skill offers callbacks once the announced wait reaches 2 minutes. */
  const offering = (): CallState =>
    newCall({
      callId: 'c1',
      context: CONTEXT,
      callerHash: '',
      dialedNumber: '400200200',
      fromTag: 'caller-tag',
      cseq: 1,
      transaction: { tindex: 1, tlabel: 2, tsS: 0, tsU: 0 },
      serviceLevel: { thresholdMs: 20_000, shortAbandonMs: 5_000 },
      media: MEDIA,
      callbackOfferAfterMs: 120_000,
    });
  const press = (digit: string): CallInput => ({
    type: 'dtmf',
    digit,
    sourceTag: 'caller-tag',
    durationMs: 200,
  });
  const untilAsked: Row[] = [queued, [20, played('p1', 5_000)], [5_020, fired('t3')]];

  it('is not made while the announced wait is under the threshold, and "1" then asks nothing', () => {
    const { state, effects } = run(offering(), [
      ...untilAsked,
      [5_020, { type: 'announcement', position: 1, waitMs: 119_000 }],
      [6_000, press('1')],
    ]);
    expect(effects[3]![0]).toBe(
      'play p4 announcement: You are next in the queue. Your expected wait is about 2 minutes. Thank you for waiting.',
    );
    expect(effects[4]).toEqual(['publish digitPressed', 'log digit_pressed']);
    expect(state.callback).toEqual({ offerAfterMs: 120_000, offered: false });
  });

  it('ends the announcement that tells a wait at the threshold with "press 1"; then "1" asks for the callback, other keys do not', () => {
    const { state, effects } = run(offering(), [
      ...untilAsked,
      [5_020, standing],
      [8_000, press('2')],
      [9_000, press('1')],
    ]);
    expect(effects[3]![0]).toBe(
      `play p4 announcement: ${SAID} Press 1 to be called back, keeping your place in the queue.`,
    );
    expect(effects[4]).toEqual(['publish digitPressed', 'log digit_pressed']);
    expect(effects[5]).toEqual(['publish digitPressed', 'log digit_pressed', 'callback request']);
    expect(state.phase.name).toBe('queued');
  });

  it('is made once: the next announcements do not repeat it', () => {
    const { effects } = run(offering(), [
      ...untilAsked,
      [5_020, standing],
      [5_040, played('p4', 6_300)],
      [11_340, fired('t5')],
      [11_360, played('p6', 180_000)],
      [30_000, fired('t2')],
      [30_000, standing],
    ]);
    expect(effects[8]).toEqual([
      `play p9 announcement: ${SAID}`,
      'publish announced',
      'log queue_announced',
    ]);
  });

  const BOOKED =
    'Thank you. We will call you back at this number, and you keep your place in the queue. Goodbye.';

  it('taken: the caller hears it confirmed, then is answered 480 Callback Requested; the call leaves neither answered nor abandoned', () => {
    const { state, effects } = run(offering(), [
      ...untilAsked,
      [5_020, standing],
      [9_000, { type: 'callback_taken' }],
      [9_020, played('p5', 6_000)],
      // The keys and announcements of a queued caller mean nothing any more.
      [10_000, press('1')],
      [15_020, fired('t6')],
    ]);
    // What played is cut, the announcements stop, and only the confirmation plays.
    expect(effects[4]).toEqual([
      'cancel_timer t2',
      `play p5 farewell: ${BOOKED}`,
      'log queue_farewell',
    ]);
    expect(effects[5]).toEqual(['start_timer t6 6000']);
    expect(effects[6]).toEqual([]);
    expect(effects[7]).toEqual([
      'kamailio reply',
      'caller: early -> terminated',
      'log call_ended_for_callback',
      'leave callback',
    ]);
    expect(state.phase.name).toBe('done');
  });

  it('taken, and the caller hangs up during the confirmation: the callback is not given up, nothing is abandoned', () => {
    const { state, effects } = run(offering(), [
      ...untilAsked,
      [5_020, standing],
      [9_000, { type: 'callback_taken' }],
      [10_000, { type: 'cancel' }],
    ]);
    expect(effects[5]).toEqual([
      'caller: early -> terminated',
      'log call_ended_for_callback',
      'leave callback',
    ]);
    expect(state.phase.name).toBe('done');
  });

  it('taken, and the confirmation cannot play: the call ends at once', () => {
    const at = run(offering(), [
      ...untilAsked,
      [5_020, standing],
      [9_000, { type: 'callback_taken' }],
    ]);
    const next = step(
      at.state,
      { type: 'media_result', id: 'p5', ok: false, durationMs: 0, reason: 'no file' },
      T0 + 9_050,
      SITE,
    );
    expect(next.effects.map((e) => e.type)).toEqual([
      'log',
      'kamailio',
      'transition',
      'log',
      'leave',
    ]);
  });

  it('refused (one pending for the number): the caller is told so and stays queued, music after it', () => {
    const at = run(offering(), [...untilAsked, [5_020, standing]]).state;
    const { state, effects } = run(at, [
      [9_000, { type: 'callback_refused', reason: 'duplicate' }],
      [9_020, played('p5', 4_000)],
      [13_020, fired('t6')],
    ]);
    expect(effects[0]).toEqual([
      'play p5 announcement: We could not book a call back for this number. Please stay on the line.',
      'log callback_refused',
    ]);
    expect(effects[2]).toEqual(['play p7 music']);
    expect(state.phase.name).toBe('queued');
  });
});

describe('the queue experience of a call a restarted site agent takes up', () => {
  it('music at once, and the announcement on its schedule from entry; nothing for a call not queued', () => {
    const { state } = run(fresh(), [queued, [20, played('p1', 5_000)]]);
    // 12 s after it queued: the next announcement is due at 30 s
    expect(run(state, [[12_000, { type: 'resumed' }]]).effects).toEqual([
      ['play p4 music', 'start_timer t5 18000'],
    ]);
    expect(run(fresh(), [[0, { type: 'resumed' }]]).effects).toEqual([[]]);
  });
});
