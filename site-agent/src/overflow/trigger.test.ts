import { describe, expect, it } from 'vitest';
import { OverflowTrigger, type WaitingCall } from './trigger.js';

const trigger = () =>
  new OverflowTrigger({ thresholdMs: new Map([['support', 30_000]]), reRequestIntervalMs: 5_000 });
const call = (over: Partial<WaitingCall> = {}): WaitingCall => ({
  callId: 'c1',
  skill: 'support',
  waitedMs: 0,
  expectedWaitMs: 40_000,
  hops: 0,
  ...over,
});

describe('OverflowTrigger', () => {
  it('asks once the expected total wait passes the threshold, then again every re-request interval', () => {
    const t = trigger();
    expect(t.due([call({ expectedWaitMs: 29_999 })], 0)).toEqual([]);
    expect(t.due([call()], 1000).map((c) => c.callId)).toEqual(['c1']);
    expect(t.due([call()], 5999)).toEqual([]);
    expect(t.due([call()], 6000).map((c) => c.callId)).toEqual(['c1']);
  });

  it('counts the wait so far: a call forecast short asks once it has waited long enough', () => {
    const t = trigger();
    expect(t.due([call({ waitedMs: 20_000, expectedWaitMs: 9_999 })], 0)).toEqual([]);
    expect(
      t.due([call({ waitedMs: 25_000, expectedWaitMs: 5_000 })], 5_000).map((c) => c.callId),
    ).toEqual(['c1']);
  });

  it('asks for a call that has waited askAfter, whatever its forecast', () => {
    const t = new OverflowTrigger({
      thresholdMs: new Map([['support', 60_000]]),
      askAfterMs: new Map([['support', 18_000]]),
      reRequestIntervalMs: 5_000,
    });
    expect(t.due([call({ waitedMs: 17_999, expectedWaitMs: 1_000 })], 0)).toEqual([]);
    expect(
      t.due([call({ waitedMs: 18_000, expectedWaitMs: 1_000 })], 1).map((c) => c.callId),
    ).toEqual(['c1']);
    // A skill with no overflow policy never asks, however long its calls wait.
    expect(t.due([call({ callId: 'c2', skill: 'sales', waitedMs: 600_000 })], 2)).toEqual([]);
  });

  it('never asks for a call already overflowed once, or for a skill without overflow', () => {
    const t = trigger();
    expect(t.due([call({ hops: 1 }), call({ callId: 'c2', skill: 'sales' })], 0)).toEqual([]);
  });

  it('forgets a call that no longer waits, so a call id seen again starts afresh', () => {
    const t = trigger();
    t.due([call()], 0);
    t.due([], 1);
    expect(t.due([call()], 2).map((c) => c.callId)).toEqual(['c1']);
  });

  it('starts afresh for a call it was told to forget', () => {
    const t = trigger();
    t.due([call()], 0);
    t.forget('c1');
    expect(t.due([call()], 1).map((c) => c.callId)).toEqual(['c1']);
  });
});
