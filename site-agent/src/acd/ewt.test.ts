import { describe, expect, it } from 'vitest';
import { callsAheadBand, WaitCalibration } from './ewt.js';

describe('callsAheadBand', () => {
  it('bands calls ahead as 0, 1-2, 3-8 and 9+', () => {
    expect([0, 1, 2, 3, 8, 9, 40].map(callsAheadBand)).toEqual([
      '0',
      '1-2',
      '1-2',
      '3-8',
      '3-8',
      '9+',
      '9+',
    ]);
  });
});

describe('WaitCalibration', () => {
  it('announces the model as it is until any call has been answered', () => {
    const c = new WaitCalibration();
    expect(c.forecastMs(40_000, 2)).toBe(40_000);
  });

  it('learns from the first calls that callers wait less than the model says (calls ahead leave)', () => {
    const c = new WaitCalibration();
    // Calls with two ahead were told 60 s and waited 24 s: 0.4 of the model.
    for (let i = 0; i < 30; i++) c.observe(60_000, 2, 24_000);
    const told = c.forecastMs(60_000, 2);
    expect(told).toBeGreaterThan(24_000);
    expect(told).toBeLessThan(30_000);
  });

  it('keeps the mean of what it announces equal to the mean wait, however noisy single waits are', () => {
    const c = new WaitCalibration();
    let told = 0;
    let waited = 0;
    // Waits alternate 10 s and 50 s for a model of 60 s: the mean is 30 s.
    for (let i = 0; i < 400; i++) {
      const wait = i % 2 === 0 ? 10_000 : 50_000;
      if (i >= 200) {
        told += c.forecastMs(60_000, 1);
        waited += wait;
      }
      c.observe(60_000, 1, wait);
    }
    expect(Math.abs(told - waited) / waited).toBeLessThan(0.05);
  });

  it('follows a change of pattern within some tens of calls', () => {
    const c = new WaitCalibration();
    for (let i = 0; i < 500; i++) c.observe(30_000, 0, 30_000);
    for (let i = 0; i < 150; i++) c.observe(30_000, 0, 15_000);
    expect(c.forecastMs(30_000, 0)).toBeLessThan(17_000);
  });

  it('leans a band with few answered calls on what all bands show', () => {
    const c = new WaitCalibration();
    for (let i = 0; i < 200; i++) c.observe(20_000, 0, 10_000);
    // One call with nine ahead waited as long as the model said: not enough to trust alone.
    c.observe(200_000, 9, 200_000);
    const scale = c.scale('9+');
    expect(scale).toBeGreaterThan(0.5);
    expect(scale).toBeLessThan(0.7);
  });

  it('ignores calls it cannot learn from (no model wait, negative or unknown wait)', () => {
    const c = new WaitCalibration();
    c.observe(0, 0, 5_000);
    c.observe(10_000, 0, -1);
    c.observe(10_000, 0, Number.NaN);
    expect(c.forecastMs(10_000, 0)).toBe(10_000);
  });
});
