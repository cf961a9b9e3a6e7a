import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { GateBusyError, WorkGate } from './work-gate.js';

/** A task that runs until its `finish` is called. */
function controllable<T>(value: T) {
  let finish!: () => void;
  const done = new Promise<void>((r) => (finish = r));
  let started = false;
  return {
    task: async () => {
      started = true;
      await done;
      return value;
    },
    finish: () => finish(),
    get started() {
      return started;
    },
  };
}

describe('work gate', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('runs at most `concurrency` tasks at once, the next as soon as one ends, in order', async () => {
    const gate = new WorkGate({ concurrency: 2, queue: 5, maxWaitMs: 1000 });
    const tasks = [1, 2, 3, 4].map((n) => controllable(n));
    const results = tasks.map((t) => gate.run(t.task));
    await vi.advanceTimersByTimeAsync(0);
    expect(tasks.map((t) => t.started)).toEqual([true, true, false, false]);
    expect(gate.load).toEqual({ running: 2, waiting: 2 });
    tasks[1]!.finish();
    await vi.advanceTimersByTimeAsync(0);
    expect(tasks.map((t) => t.started)).toEqual([true, true, true, false]);
    for (const t of tasks) t.finish();
    expect(await Promise.all(results)).toEqual([1, 2, 3, 4]);
    expect(gate.load).toEqual({ running: 0, waiting: 0 });
  });

  it('refuses at once when the queue is full, with a Retry-After', async () => {
    const gate = new WorkGate({ concurrency: 1, queue: 1, maxWaitMs: 2500 });
    const first = controllable('a');
    const running = gate.run(first.task);
    const queued = gate.run(async () => 'b');
    await expect(gate.run(async () => 'c')).rejects.toEqual(new GateBusyError(3));
    first.finish();
    expect([await running, await queued]).toEqual(['a', 'b']);
  });

  it('refuses a task that waited maxWaitMs without a turn, and runs it never', async () => {
    const gate = new WorkGate({ concurrency: 1, queue: 4, maxWaitMs: 1000 });
    const first = controllable('a');
    const running = gate.run(first.task);
    let ran = false;
    const late = gate.run(async () => (ran = true));
    const refused = expect(late).rejects.toBeInstanceOf(GateBusyError);
    await vi.advanceTimersByTimeAsync(1000);
    await refused;
    expect(gate.load).toEqual({ running: 1, waiting: 0 });
    first.finish();
    await running;
    expect(ran).toBe(false);
  });

  it('frees its slot when a task fails', async () => {
    const gate = new WorkGate({ concurrency: 1, queue: 1, maxWaitMs: 1000 });
    await expect(gate.run(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await gate.run(async () => 'next')).toBe('next');
  });
});
