import { describe, expect, it } from 'vitest';
import { EventQueue } from './event-queue.js';
import { Prng } from './prng.js';

describe('EventQueue', () => {
  it('pops in time order, ties in push order', () => {
    const q = new EventQueue<string>();
    q.push(5, 'e');
    q.push(1, 'a');
    q.push(3, 'c1');
    q.push(3, 'c2');
    q.push(0, 'z');
    q.push(3, 'c3');
    const out: string[] = [];
    for (let e = q.pop(); e; e = q.pop()) out.push(e.event);
    expect(out).toEqual(['z', 'a', 'c1', 'c2', 'c3', 'e']);
    expect(q.size).toBe(0);
  });

  it('sorts many random events stably', () => {
    const rng = new Prng(7);
    const q = new EventQueue<number>();
    const pushed: { at: number; i: number }[] = [];
    for (let i = 0; i < 5000; i++) {
      const at = Math.floor(rng.next() * 100);
      pushed.push({ at, i });
      q.push(at, i);
    }
    const expected = [...pushed].sort((a, b) => a.at - b.at || a.i - b.i).map((p) => p.i);
    const out: number[] = [];
    for (let e = q.pop(); e; e = q.pop()) out.push(e.event);
    expect(out).toEqual(expected);
  });
});
