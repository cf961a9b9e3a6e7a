// What a queued caller is told about where they stand, as the ordered prompt pieces to play and
// the sentence they make. Pure: the pieces' texts live here, their audio is rendered at install
// time (prompts.ts) and played by rtpengine.

export type PromptLanguage = 'en' | 'zh';
export const PROMPT_LANGUAGES: readonly PromptLanguage[] = ['en', 'zh'];

/** Positions above this are announced as "more than N callers ahead". */
export const MAX_ANNOUNCED_POSITION = 30;
/** Waits above this many minutes are announced as "more than N minutes". */
export const MAX_ANNOUNCED_WAIT_MINUTES = 30;

/** One prompt piece: its id is also its file name (`<id>.wav`) under the prompts directory. */
export interface PromptPiece {
  readonly id: string;
  readonly language: PromptLanguage;
  readonly text: string;
}

// Mandarin numerals for 1..99; counts of two are 两 (liǎng), positions 第二 are 二.
function zhNumeral(n: number): string {
  const digits = '零一二三四五六七八九';
  if (n < 10) return digits[n]!;
  const tens = Math.floor(n / 10);
  const ones = n % 10;
  return `${tens === 1 ? '' : digits[tens]}十${ones ? digits[ones] : ''}`;
}

const FIXED: Readonly<Record<PromptLanguage, Readonly<Record<string, string>>>> = {
  en: {
    'you-are-next': 'You are next in the queue.',
    'you-are-number': 'You are number',
    'in-the-queue': 'in the queue.',
    'more-than-max-ahead': `There are more than ${MAX_ANNOUNCED_POSITION} callers ahead of you.`,
    'expected-wait': 'Your expected wait is about',
    minute: 'minute.',
    minutes: 'minutes.',
    'less-than-a-minute': 'Your expected wait is less than a minute.',
    'more-than-max-wait': `Your expected wait is more than ${MAX_ANNOUNCED_WAIT_MINUTES} minutes.`,
    'thank-you': 'Thank you for waiting.',
    'press-1-callback': 'Press 1 to be called back, keeping your place in the queue.',
    'callback-booked':
      'Thank you. We will call you back at this number, and you keep your place in the queue. Goodbye.',
    'callback-not-booked':
      'We could not book a call back for this number. Please stay on the line.',
  },
  zh: {
    'you-are-next': '下一位就是您。',
    'you-are-number': '您现在排在第',
    'in-the-queue': '位。',
    'more-than-max-ahead': `您前面还有${zhNumeral(MAX_ANNOUNCED_POSITION)}多位来电。`,
    'expected-wait': '预计等待时间约',
    minute: '分钟。',
    minutes: '分钟。',
    'less-than-a-minute': '预计等待时间不到一分钟。',
    'more-than-max-wait': `预计等待时间超过${zhNumeral(MAX_ANNOUNCED_WAIT_MINUTES)}分钟。`,
    'thank-you': '感谢您的耐心等待。',
    'press-1-callback': '按一键预约回电，保留您的排队位置。',
    'callback-booked': '谢谢。我们将回电至此号码，并为您保留排队位置。再见。',
    'callback-not-booked': '无法为此号码预约回电，请继续等待。',
  },
};

const MAX_NUMBER = Math.max(MAX_ANNOUNCED_POSITION, MAX_ANNOUNCED_WAIT_MINUTES);

/** Every prompt piece of every language: what the install step renders. */
export function promptCatalog(): PromptPiece[] {
  const pieces: PromptPiece[] = [];
  for (const language of PROMPT_LANGUAGES) {
    for (const [name, text] of Object.entries(FIXED[language])) {
      pieces.push({ id: `${language}/${name}`, language, text });
    }
    for (let n = 1; n <= MAX_NUMBER; n++) {
      // espeak-ng reads English digits as words; Mandarin is given its numerals.
      pieces.push({
        id: `${language}/number-${n}`,
        language,
        text: language === 'en' ? String(n) : zhNumeral(n),
      });
    }
    if (language === 'zh') pieces.push({ id: 'zh/count-2', language, text: '两' });
  }
  return pieces;
}

export interface QueueAnnouncementInput {
  readonly language: PromptLanguage;
  /** 1 for the next caller to be answered. */
  readonly position: number;
  /** The wait to announce, in seconds; undefined when there is no forecast yet. */
  readonly expectedWaitS?: number;
  /** Add the "press 1 to be called back" offer. */
  readonly offerCallback?: boolean;
}

/** What a caller who pressed 1 hears, in its language: the callback is booked, or it is not. */
export function callbackReply(
  language: PromptLanguage,
  booked: boolean,
): { readonly pieces: readonly string[]; readonly text: string } {
  if (!PROMPT_LANGUAGES.includes(language)) throw new RangeError(`no prompts in ${language}`);
  const name = booked ? 'callback-booked' : 'callback-not-booked';
  return { pieces: [`${language}/${name}`], text: FIXED[language][name]! };
}

export interface Announcement {
  /** Prompt piece ids in playing order. */
  readonly pieces: readonly string[];
  /** The sentence they make, for logs, events and tests. */
  readonly text: string;
  /** The wait as announced: "<1" (under a minute), whole minutes, or ">max". */
  readonly announcedWait: '<1' | `>${number}` | number | undefined;
}

/**
 * Rounds a forecast wait as callers expect to hear it: under a minute is "less than a minute";
 * otherwise whole minutes to the nearest (so the announced wait is neither long nor short on
 * average), at least one; beyond the cap, "more than" the cap.
 */
export function announcedWait(expectedWaitS: number): '<1' | `>${number}` | number {
  if (!Number.isFinite(expectedWaitS) || expectedWaitS < 0) {
    throw new RangeError(`expected wait must be a finite number of seconds >= 0: ${expectedWaitS}`);
  }
  if (expectedWaitS < 60) return '<1';
  const minutes = Math.max(1, Math.round(expectedWaitS / 60));
  return minutes > MAX_ANNOUNCED_WAIT_MINUTES ? `>${MAX_ANNOUNCED_WAIT_MINUTES}` : minutes;
}

/** The pieces that tell a queued caller their position and expected wait, in their language. */
export function queueAnnouncement(input: QueueAnnouncementInput): Announcement {
  const { language, position } = input;
  if (!PROMPT_LANGUAGES.includes(language)) throw new RangeError(`no prompts in ${language}`);
  if (!Number.isInteger(position) || position < 1) {
    throw new RangeError(`queue position must be an integer >= 1: ${position}`);
  }
  const ids: string[] = [];
  const p = (name: string) => ids.push(`${language}/${name}`);
  if (position === 1) p('you-are-next');
  else if (position > MAX_ANNOUNCED_POSITION) p('more-than-max-ahead');
  else {
    p('you-are-number');
    p(`number-${position}`);
    p('in-the-queue');
  }
  const wait = input.expectedWaitS === undefined ? undefined : announcedWait(input.expectedWaitS);
  if (wait === '<1') p('less-than-a-minute');
  else if (typeof wait === 'string') p('more-than-max-wait');
  else if (typeof wait === 'number') {
    p('expected-wait');
    p(language === 'zh' && wait === 2 ? 'count-2' : `number-${wait}`);
    p(wait === 1 ? 'minute' : 'minutes');
  }
  p('thank-you');
  if (input.offerCallback) p('press-1-callback');
  const texts = new Map(promptCatalog().map((piece) => [piece.id, piece.text]));
  const words = ids.map((id) => texts.get(id)!);
  return {
    pieces: ids,
    text: language === 'zh' ? words.join('') : words.join(' '),
    announcedWait: wait,
  };
}
