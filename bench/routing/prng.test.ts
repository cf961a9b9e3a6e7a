import { describe, expect, it } from 'vitest';
import { Prng } from './prng.js';

describe('Prng', () => {
  it('gives the same stream for the same seed and another for another seed', () => {
    const draw = (seed: number) => {
      const r = new Prng(seed);
      return Array.from({ length: 5 }, () => r.next());
    };
    expect(draw(42)).toEqual(draw(42));
    expect(draw(42)).not.toEqual(draw(43));
    expect(new Prng(42).fork().next()).toBe(new Prng(42).fork().next());
  });

  it('draws uniforms in [0, 1) and exponentials with the asked mean', () => {
    const r = new Prng(1);
    let sum = 0;
    let min = 1;
    let max = 0;
    let expSum = 0;
    const n = 200_000;
    for (let i = 0; i < n; i++) {
      const u = r.next();
      sum += u;
      min = Math.min(min, u);
      max = Math.max(max, u);
      expSum += r.exponential(180);
    }
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThan(1);
    expect(sum / n).toBeCloseTo(0.5, 2);
    expect(expSum / n / 180).toBeCloseTo(1, 1);
  });
});
