import { describe, expect, it } from 'vitest';
import { MAX_WRAP_UP_NOTE, wrapUpNoteProblem } from './wrap-up-note.js';

describe('wrapUpNoteProblem', () => {
  it('accepts an ordinary note, amounts, dates and short references', () => {
    expect(wrapUpNoteProblem('')).toBeUndefined();
    expect(
      wrapUpNoteProblem('Customer upset about fee of 120.50 on 2026-11-30; refund ref 88421.'),
    ).toBeUndefined();
    expect(wrapUpNoteProblem('客户投诉第三次，已升级')).toBeUndefined();
  });

  it('refuses phone numbers however they are written', () => {
    for (const note of [
      'call back on 13800138000',
      'mobile 138 0013 8000',
      'landline +86-10-6552-9999 after 6',
      'try (010) 65529999',
      'number 010.6552.9999',
    ])
      expect(wrapUpNoteProblem(note), note).toMatch(/phone number/);
  });

  it('refuses a note longer than the limit and control characters', () => {
    expect(wrapUpNoteProblem('a'.repeat(MAX_WRAP_UP_NOTE))).toBeUndefined();
    expect(wrapUpNoteProblem('a'.repeat(MAX_WRAP_UP_NOTE + 1))).toMatch(/at most 2000/);
    expect(wrapUpNoteProblem('bell\u0007')).toMatch(/control/);
  });
});
