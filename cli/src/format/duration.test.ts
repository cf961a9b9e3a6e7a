import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from './duration.js';

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [999, '0s'],
    [45_000, '45s'],
    [125_000, '2m05s'],
    [3_720_000, '1h02m'],
    [277_200_000, '3d05h'],
  ])('%d ms is %s', (ms, text) => expect(formatDuration(ms)).toBe(text));

  it('refuses negative and non-finite values', () => {
    expect(() => formatDuration(-1)).toThrow('not a duration: -1');
    expect(() => formatDuration(Number.NaN)).toThrow('not a duration');
  });
});

describe('parseDuration', () => {
  it.each([
    ['90s', 90_000],
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    ['2d', 172_800_000],
    ['1d2h3m4s', 93_784_000],
  ])('%s is %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['', '5', 'm', '5x', '-5m', '30m1h', '1.5h'])(
    'refuses %j saying what it expects',
    (text) =>
      expect(() => parseDuration(text)).toThrow(/is not a duration: expected a number with a unit/),
  );
});
