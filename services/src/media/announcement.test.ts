import { describe, expect, it } from 'vitest';
import {
  announcedWait,
  callbackReply,
  MAX_ANNOUNCED_POSITION,
  promptCatalog,
  queueAnnouncement,
} from './announcement.js';

describe('announced wait', () => {
  it('says less than a minute under 60 s, then whole minutes to the nearest, then more than the cap', () => {
    expect([0, 59.9].map(announcedWait)).toEqual(['<1', '<1']);
    expect([60, 89, 90, 149, 151, 600].map(announcedWait)).toEqual([1, 1, 2, 2, 3, 10]);
    expect(announcedWait(30 * 60 + 29)).toBe(30);
    expect(announcedWait(30 * 60 + 31)).toBe('>30');
  });

  it('refuses a wait that is not a duration', () => {
    expect(() => announcedWait(-1)).toThrow(RangeError);
    expect(() => announcedWait(Number.NaN)).toThrow(/finite/);
  });
});

describe('queue announcement', () => {
  it('tells an English caller their position and wait in minutes', () => {
    expect(queueAnnouncement({ language: 'en', position: 3, expectedWaitS: 200 })).toEqual({
      pieces: [
        'en/you-are-number',
        'en/number-3',
        'en/in-the-queue',
        'en/expected-wait',
        'en/number-3',
        'en/minutes',
        'en/thank-you',
      ],
      text: 'You are number 3 in the queue. Your expected wait is about 3 minutes. Thank you for waiting.',
      announcedWait: 3,
    });
  });

  it('says a minute in the singular, and next instead of number one', () => {
    const a = queueAnnouncement({ language: 'en', position: 1, expectedWaitS: 70 });
    expect(a.text).toBe(
      'You are next in the queue. Your expected wait is about 1 minute. Thank you for waiting.',
    );
  });

  it('speaks Mandarin word order, with 两 for two minutes and 第二 for second place', () => {
    const a = queueAnnouncement({ language: 'zh', position: 2, expectedWaitS: 120 });
    expect(a.text).toBe('您现在排在第二位。预计等待时间约两分钟。感谢您的耐心等待。');
    expect(a.pieces).toContain('zh/count-2');
    expect(queueAnnouncement({ language: 'zh', position: 21, expectedWaitS: 30 }).text).toBe(
      '您现在排在第二十一位。预计等待时间不到一分钟。感谢您的耐心等待。',
    );
  });

  it('caps the position and the wait, leaves out a wait with no forecast, and can offer a callback', () => {
    const a = queueAnnouncement({
      language: 'en',
      position: MAX_ANNOUNCED_POSITION + 1,
      expectedWaitS: 3 * 3600,
      offerCallback: true,
    });
    expect(a.pieces).toEqual([
      'en/more-than-max-ahead',
      'en/more-than-max-wait',
      'en/thank-you',
      'en/press-1-callback',
    ]);
    expect(a.announcedWait).toBe('>30');
    const b = queueAnnouncement({ language: 'zh', position: 4 });
    expect(b.pieces).toEqual([
      'zh/you-are-number',
      'zh/number-4',
      'zh/in-the-queue',
      'zh/thank-you',
    ]);
    expect(b.announcedWait).toBeUndefined();
  });

  it('refuses a position that is not a place in a queue', () => {
    expect(() => queueAnnouncement({ language: 'en', position: 0 })).toThrow(RangeError);
    expect(() => queueAnnouncement({ language: 'en', position: 2.5 })).toThrow(/integer/);
  });

  it('only ever names pieces the catalog renders', () => {
    const ids = new Set(promptCatalog().map((p) => p.id));
    expect(ids.size).toBe(promptCatalog().length);
    for (const language of ['en', 'zh'] as const) {
      for (const position of [1, 2, 17, 30, 31]) {
        for (const wait of [undefined, 10, 61, 119, 1799, 5000]) {
          const a = queueAnnouncement({
            language,
            position,
            expectedWaitS: wait,
            offerCallback: true,
          });
          for (const id of a.pieces) expect(ids.has(id), id).toBe(true);
        }
      }
    }
  });
});

describe('the reply to a caller who pressed 1', () => {
  it('confirms a booked callback with their place kept, or asks them to stay on the line, in their language', () => {
    expect(callbackReply('en', true)).toEqual({
      pieces: ['en/callback-booked'],
      text: 'Thank you. We will call you back at this number, and you keep your place in the queue. Goodbye.',
    });
    expect(callbackReply('en', false).text).toMatch(/could not book .* stay on the line/);
    expect(callbackReply('zh', true).pieces).toEqual(['zh/callback-booked']);
    // Every piece it names is rendered at install time.
    const ids = new Set(promptCatalog().map((p) => p.id));
    for (const language of ['en', 'zh'] as const)
      for (const booked of [true, false])
        for (const id of callbackReply(language, booked).pieces) expect(ids.has(id)).toBe(true);
  });
});
