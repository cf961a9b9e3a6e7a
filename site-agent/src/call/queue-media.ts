// What a queued caller hears, decided here and carried out by rtpengine through Kamailio: ringback
// from the moment the call is queued, then the caller's position and expected wait, then music on
// hold, with the announcement again every announceEveryMs from the call's entry. Pure: it only
// says which media actions to take and which timers to set; the call machine (call-machine.ts)
// holds this state per call and the adapters report back.
//
// rtpengine says how long a file plays (its reply to play media) but not when it has finished, so
// the end of each file is a timer set from that length. Every play and every timer has an id: a
// result or a firing whose id is no longer the current one (replaced, stopped, the call moved on)
// changes nothing.

import { queueAnnouncement, type PromptLanguage } from '@ccfed/services/media/announcement';
import type { QueueAnnounced } from '@ccfed/proto';

export interface QueueMediaSettings {
  /** The number's language (topology numbers[].language). */
  readonly language: PromptLanguage;
  /** The prompt piece of one ringback cadence period, e.g. tones/ringback-cn. */
  readonly ringback: string;
  /** About this long of ringback first, in whole periods (at least one), unless 0. */
  readonly ringbackMs: number;
  /** Announcements fall due every this long from the call's entry. */
  readonly announceEveryMs: number;
  /** A music-on-hold name (moh/<name>); the site's first when not given. */
  readonly music?: string;
}

/** What to play: one file, or several prompt pieces played as one. */
export type Prompt =
  | { readonly kind: 'ringback'; readonly piece: string }
  | {
      readonly kind: 'announcement';
      readonly pieces: readonly string[];
      /** The sentence, for logs. */
      readonly text: string;
    }
  | { readonly kind: 'music'; readonly name?: string }
  /** The last thing the caller hears before the site ends the call (their callback is booked). */
  | {
      readonly kind: 'farewell';
      readonly pieces: readonly string[];
      readonly text: string;
    };

/**
 * A media action on the call's rtpengine session, tagged with its id; its result comes back as
 * the call machine's media_result input carrying that id. (Recordings add their own ops here.)
 */
export type MediaAction =
  | { readonly op: 'play'; readonly id: string; readonly prompt: Prompt }
  | { readonly op: 'stop'; readonly id: string };

type Playing = Prompt['kind'];

export interface QueueMedia {
  readonly settings: QueueMediaSettings;
  /** When the call first queued at this site; undefined before. */
  readonly enteredMs?: number;
  /** What plays (or was asked to), and once its length is known the timer that ends it. */
  readonly current?: {
    readonly id: string;
    readonly what: Playing;
    readonly endTimer?: string;
    readonly durationMs?: number;
  };
  /** The timer of the next announcement. */
  readonly announceTimer?: string;
  /** The ACD was asked for the caller's position and wait. */
  readonly asking: boolean;
  /** An agent's phone rings: no announcement starts, the caller may be answered any moment. */
  readonly ringing: boolean;
  /** The call was answered or left: nothing more plays. */
  readonly over: boolean;
  /**
   * The caller is being let go with a last word (farewell()): `playing` until it has played out
   * or failed, then `played` (and nothing more plays).
   */
  readonly farewell?: 'playing' | 'played';
  /** Numbers the ids of actions and timers. */
  readonly seq: number;
}

/** What the queue experience asks of the adapters, in order. */
export type MediaEffect =
  | { readonly type: 'media'; readonly action: MediaAction }
  | { readonly type: 'start_timer'; readonly id: string; readonly afterMs: number }
  | { readonly type: 'cancel_timer'; readonly id: string }
  /** Ask the ACD where the call stands; its answer is the announcement input. */
  | { readonly type: 'acd'; readonly op: 'announcement' }
  | {
      readonly type: 'publish';
      readonly kind: { readonly $case: 'announced'; readonly value: QueueAnnounced };
    }
  | {
      readonly type: 'log';
      readonly level: 'info' | 'warn';
      readonly event: string;
      readonly message: string;
      readonly fields?: Readonly<Record<string, unknown>>;
    };

export interface MediaStep {
  readonly media: QueueMedia;
  readonly effects: readonly MediaEffect[];
}

// When rtpengine cannot tell a file's length: a ringback period, an announcement, a loop of music.
const UNKNOWN_LENGTH_MS: Readonly<Record<Playing, number>> = {
  ringback: 5_000,
  announcement: 8_000,
  music: 60_000,
  farewell: 8_000,
};

/** A call's queue experience before it has queued. */
export function queueMedia(settings: QueueMediaSettings): QueueMedia {
  return { settings, asking: false, ringing: false, over: false, seq: 0 };
}

/**
 * The call is queued: the first time, ringback (or at once the announcement) and the
 * announcements' timer; back in the queue after a ring or an overflow that failed, whatever
 * played goes on (music if nothing does) and the announcements resume on their schedule.
 */
export function enterQueue(media: QueueMedia, nowMs: number): MediaStep {
  const b = new Builder(media);
  if (b.m.over) return b.done();
  if (b.m.enteredMs === undefined) {
    b.set({ enteredMs: nowMs });
    if (b.m.settings.ringbackMs > 0) b.play({ kind: 'ringback', piece: b.m.settings.ringback });
    else b.ask();
  } else {
    b.set({ ringing: false });
    if (!b.m.current && !b.m.asking) b.play(music(b.m));
  }
  b.armAnnouncement(nowMs);
  return b.done();
}

/**
 * A restarted site agent takes the queued call up: the timers of what played and of the next
 * announcement died with the old process (rtpengine plays the file on to its end), so music
 * starts now and the announcements resume on their schedule from when the call queued.
 */
export function resumeQueue(media: QueueMedia, nowMs: number): MediaStep {
  const b = new Builder(media);
  if (b.m.over || b.m.enteredMs === undefined) return b.done();
  b.set({ current: undefined, asking: false, announceTimer: undefined });
  b.play(music(b.m));
  b.armAnnouncement(nowMs);
  return b.done();
}

/** An agent's phone rings: what plays goes on, but no announcement starts while it rings. */
export function agentRinging(media: QueueMedia): MediaStep {
  const b = new Builder(media);
  if (b.m.over) return b.done();
  b.cancelAnnouncement();
  b.set({ ringing: true });
  return b.done();
}

/**
 * Nothing more plays from this site for now: the call moved to another site (whose own queue
 * plays to the caller once it answers with early media; back here if it refuses).
 */
export function pauseMedia(media: QueueMedia): MediaStep {
  const b = new Builder(media);
  b.cancelAll();
  return b.done();
}

/**
 * The call was answered (`stop`: playback stops, which Kamailio has also done with the answer) or
 * left this site (its media session is gone): nothing plays any more.
 */
export function endMedia(media: QueueMedia, opts: { readonly stop: boolean }): MediaStep {
  const b = new Builder(media);
  if (b.m.over) return b.done();
  const playing = b.m.current;
  b.cancelAll();
  if (opts.stop && playing) b.push({ type: 'media', action: { op: 'stop', id: b.id('s') } });
  b.set({ over: true });
  return b.done();
}

/**
 * A sentence for the queued caller now (e.g. their callback could not be booked), in place of what
 * plays; the music and the announcements' schedule go on after it.
 */
export function say(
  media: QueueMedia,
  said: { readonly pieces: readonly string[]; readonly text: string },
): MediaStep {
  const b = new Builder(media);
  if (b.m.over || b.m.farewell) return b.done();
  if (b.m.current?.endTimer) b.push({ type: 'cancel_timer', id: b.m.current.endTimer });
  b.play({ kind: 'announcement', pieces: said.pieces, text: said.text });
  return b.done();
}

/**
 * The caller leaves the queue with a last word (their callback is booked): it replaces what plays,
 * nothing follows it, and once it has played out (or could not play) `farewell` is `played`: the
 * call machine then ends the call.
 */
export function farewell(
  media: QueueMedia,
  said: { readonly pieces: readonly string[]; readonly text: string },
): MediaStep {
  const b = new Builder(media);
  if (b.m.over || b.m.farewell) return b.done();
  b.cancelAll();
  b.set({ farewell: 'playing' });
  b.play({ kind: 'farewell', pieces: said.pieces, text: said.text });
  b.push({
    type: 'log',
    level: 'info',
    event: 'queue_farewell',
    message: said.text,
  });
  return b.done();
}

/** rtpengine's answer to a play: its length sets the timer that ends it; a failure moves on. */
export function mediaResult(
  media: QueueMedia,
  result: {
    readonly id: string;
    readonly ok: boolean;
    readonly durationMs: number;
    readonly reason?: string;
  },
): MediaStep {
  const b = new Builder(media);
  const { current } = b.m;
  if (!current || current.id !== result.id || current.endTimer || b.m.over) return b.done();
  if (!result.ok) {
    b.push({
      type: 'log',
      level: 'warn',
      event: 'queue_media_failed',
      message: `could not play the ${current.what} to the queued caller`,
      fields: { actionId: result.id, reason: result.reason ?? '' },
    });
    b.set({ current: undefined });
    if (current.what === 'farewell') {
      b.set({ farewell: 'played', over: true });
      return b.done();
    }
    // Never the same kind again (a missing file would fail as fast as it is asked for): ringback
    // failed, the announcement at once; an announcement failed, music; music failed, silence.
    if (current.what === 'ringback' && !b.m.ringing) b.ask();
    else if (current.what !== 'music') b.play(music(b.m));
    return b.done();
  }
  const durationMs = result.durationMs > 0 ? result.durationMs : UNKNOWN_LENGTH_MS[current.what];
  const endTimer = b.id('t');
  b.set({ current: { ...current, endTimer, durationMs } });
  b.push({ type: 'start_timer', id: endTimer, afterMs: durationMs });
  return b.done();
}

/** A timer of the queue experience fired: a file played out, or an announcement falls due. */
export function mediaTimer(media: QueueMedia, timerId: string, nowMs: number): MediaStep {
  const b = new Builder(media);
  if (b.m.over) return b.done();
  const { current } = b.m;
  if (current?.endTimer === timerId) {
    b.set({ current: undefined });
    b.after(current.what, nowMs, current.durationMs);
  } else if (b.m.announceTimer === timerId) {
    b.set({ announceTimer: undefined });
    // While ringback or an announcement plays, this one is skipped: ringback ends in one.
    if (
      !b.m.ringing &&
      !b.m.asking &&
      current?.what !== 'ringback' &&
      current?.what !== 'announcement'
    )
      b.ask();
    b.armAnnouncement(nowMs);
  }
  return b.done();
}

/**
 * The ACD's answer to the announcement request: where the call stands and the calibrated wait to
 * announce (none when the call is no longer queued). Played as one assembled prompt.
 */
export function announce(
  media: QueueMedia,
  standing: {
    readonly position?: number;
    readonly waitMs?: number;
    /** End with "press 1 to be called back" (the call machine decides when). */
    readonly offerCallback?: boolean;
  },
): MediaStep {
  const b = new Builder(media);
  if (!b.m.asking) return b.done();
  b.set({ asking: false });
  if (b.m.over) return b.done();
  if (standing.position === undefined || b.m.ringing) {
    if (!b.m.current) b.play(music(b.m));
    return b.done();
  }
  const { language } = b.m.settings;
  const said = queueAnnouncement({
    language,
    position: standing.position,
    ...(standing.waitMs === undefined ? {} : { expectedWaitS: standing.waitMs / 1000 }),
    ...(standing.offerCallback ? { offerCallback: true } : {}),
  });
  b.play({ kind: 'announcement', pieces: said.pieces, text: said.text });
  b.push({
    type: 'publish',
    kind: {
      $case: 'announced',
      value: {
        position: standing.position,
        expectedWaitMs: Math.round(standing.waitMs ?? 0),
        announcedWait: said.announcedWait === undefined ? '' : String(said.announcedWait),
        language,
      },
    },
  });
  b.push({
    type: 'log',
    level: 'info',
    event: 'queue_announced',
    message: said.text,
    fields: {
      position: standing.position,
      expectedWaitMs: standing.waitMs,
      announcedWait: said.announcedWait,
      language,
      ...(standing.offerCallback ? { callbackOffered: true } : {}),
    },
  });
  return b.done();
}

function music(m: QueueMedia): Prompt {
  return m.settings.music === undefined
    ? { kind: 'music' }
    : { kind: 'music', name: m.settings.music };
}

/** Builds one step: the state as it changes and the effects in order. */
class Builder {
  readonly effects: MediaEffect[] = [];

  constructor(public m: QueueMedia) {}

  set(change: Partial<QueueMedia>): void {
    this.m = { ...this.m, ...change };
  }

  push(effect: MediaEffect): void {
    this.effects.push(effect);
  }

  /** A fresh id: `p` plays, `s` stops, `t` timers. */
  id(prefix: 'p' | 's' | 't'): string {
    const seq = this.m.seq + 1;
    this.set({ seq });
    return `${prefix}${seq}`;
  }

  play(prompt: Prompt): void {
    const id = this.id('p');
    this.set({ current: { id, what: prompt.kind } });
    this.push({ type: 'media', action: { op: 'play', id, prompt } });
  }

  ask(): void {
    this.set({ asking: true });
    this.push({ type: 'acd', op: 'announcement' });
  }

  /** What follows a file that has played out (or failed). */
  after(what: Playing, nowMs: number, periodMs = 0): void {
    const { settings, enteredMs = nowMs } = this.m;
    if (what === 'farewell') return this.set({ farewell: 'played', over: true });
    if (what === 'ringback' && nowMs - enteredMs + periodMs / 2 < settings.ringbackMs)
      return this.play({ kind: 'ringback', piece: settings.ringback });
    if (what === 'ringback' && !this.m.ringing) return this.ask();
    this.play(music(this.m));
  }

  /** The next announcement's timer: the first multiple of the interval from entry after now. */
  armAnnouncement(nowMs: number): void {
    const { enteredMs, announceTimer, settings } = this.m;
    if (enteredMs === undefined || announceTimer) return;
    const every = settings.announceEveryMs;
    const due = enteredMs + (Math.floor((nowMs - enteredMs) / every) + 1) * every;
    const id = this.id('t');
    this.set({ announceTimer: id });
    this.push({ type: 'start_timer', id, afterMs: due - nowMs });
  }

  cancelAnnouncement(): void {
    if (!this.m.announceTimer) return;
    this.push({ type: 'cancel_timer', id: this.m.announceTimer });
    this.set({ announceTimer: undefined });
  }

  cancelAll(): void {
    this.cancelAnnouncement();
    if (this.m.current?.endTimer) this.push({ type: 'cancel_timer', id: this.m.current.endTimer });
    this.set({ current: undefined, asking: false, ringing: false });
  }

  done(): MediaStep {
    return { media: this.m, effects: this.effects };
  }
}
