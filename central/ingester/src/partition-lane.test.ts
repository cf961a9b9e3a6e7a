import { describe, expect, it } from 'vitest';
import { PartitionLane, type LaneOutcome } from './partition-lane.js';

/** A ClickHouse and a Kafka group stand-in the test drives by hand: each INSERT waits for it. */
class Steps {
  readonly inserts: number[][] = [];
  readonly commits: number[] = [];
  private pending: { resolve(ok: boolean): void; reject(err: Error): void }[] = [];
  current = true;

  store = (batches: readonly number[]): Promise<boolean> => {
    this.inserts.push([...batches]);
    return new Promise((resolve, reject) => this.pending.push({ resolve, reject }));
  };

  commit = async (last: number): Promise<void> => {
    this.commits.push(last);
  };

  /** Ends the oldest INSERT under way. */
  finish(outcome: 'stored' | 'failed' | 'declined' = 'stored'): void {
    const insert = this.pending.shift();
    if (!insert) throw new Error('no INSERT under way');
    if (outcome === 'failed') insert.reject(new Error('Code: 241, Memory limit exceeded'));
    else insert.resolve(outcome === 'stored');
  }
}

const turn = () => new Promise((r) => setImmediate(r));

function lane(maxBytes = 100) {
  const steps = new Steps();
  const outcomes = new Map<number, LaneOutcome>();
  const l = new PartitionLane<number>(maxBytes, steps);
  const take = (batch: number, bytes = 10) =>
    void l.take(batch, bytes).then((o) => outcomes.set(batch, o));
  return { l, steps, outcomes, take };
}

/** A lane that hands its batches over only when the test starts the next INSERT round. */
function laneWithRounds() {
  const steps = new Steps();
  let startRound: () => void = () => undefined;
  const l = new PartitionLane<number>(100, {
    ready: () => new Promise<void>((resolve) => (startRound = resolve)),
    store: steps.store,
    commit: steps.commit,
  });
  return { l, steps, roundStarts: () => startRound() };
}

describe('PartitionLane: one partition, stored and committed in offset order', () => {
  it('gathers the batches that arrive during an INSERT into the next one, and commits each INSERT once, at its last batch', async () => {
    const { steps, outcomes, take } = lane();
    take(1);
    await turn();
    take(2);
    take(3);
    await turn();
    // Batch 1 is being inserted; 2 and 3 wait for it: ClickHouse never holds 2 without 1.
    expect(steps.inserts).toEqual([[1]]);
    steps.finish();
    await turn();
    expect(steps.inserts).toEqual([[1], [2, 3]]);
    expect(steps.commits).toEqual([1]);
    steps.finish();
    await turn();
    expect(steps.commits).toEqual([1, 3]);
    expect([...outcomes.values()].every((o) => o.kind === 'committed')).toBe(true);
  });

  it('after a failed INSERT drops what waited behind it, and is consumed again from the failed batch', async () => {
    const { l, steps, outcomes, take } = lane();
    take(1);
    await turn();
    take(2);
    steps.finish('failed');
    await turn();
    await turn();
    expect(outcomes.get(1)).toMatchObject({ kind: 'failed' });
    expect((outcomes.get(1) as { error: Error }).error.message).toContain('Memory limit');
    expect(outcomes.get(2)).toEqual({ kind: 'dropped' });
    // Nothing after the failure was sent or committed.
    expect(steps.inserts).toEqual([[1]]);
    expect(steps.commits).toEqual([]);
    // The ledger counted 1 and 2 as stored: it must be reloaded before the next batch.
    expect(await l.ledgerReloadDue()).toBe(true);
    expect(await l.ledgerReloadDue()).toBe(false);
    take(1);
    await turn();
    steps.finish();
    await turn();
    expect(steps.commits).toEqual([1]);
  });

  it('a break (rebalance) drops the batches not yet sent; the one being inserted still lands and commits', async () => {
    const { l, steps, outcomes, take } = lane();
    take(1);
    await turn();
    take(2);
    l.break();
    steps.finish();
    await turn();
    await turn();
    expect(outcomes.get(1)).toEqual({ kind: 'committed' });
    expect(outcomes.get(2)).toEqual({ kind: 'dropped' });
    expect(steps.inserts).toEqual([[1]]);
    expect(l.breaks).toBe(1);
  });

  it('a batch the store declines (no longer current) is not committed, and breaks the lane', async () => {
    const { l, steps, outcomes, take } = lane();
    take(1);
    await turn();
    steps.finish('declined');
    await turn();
    expect(outcomes.get(1)).toEqual({ kind: 'dropped' });
    expect(steps.commits).toEqual([]);
    expect(l.breaks).toBe(1);
  });

  it('reloads the ledger only once nothing of the lane is in flight', async () => {
    const { l, steps, take } = lane();
    take(1);
    await turn();
    l.break();
    let due: boolean | undefined;
    void l.ledgerReloadDue().then((d) => (due = d));
    await turn();
    // Batch 1's INSERT may still land: a ledger read now would miss it.
    expect(due).toBeUndefined();
    steps.finish();
    await turn();
    await turn();
    expect(due).toBe(true);
  });

  it('bounds the bytes it holds: a batch waits for room, though one batch always fits', async () => {
    const { l, steps, take } = lane(25);
    take(1, 10);
    take(2, 10);
    let roomFor3 = false;
    void l.room(10).then(() => (roomFor3 = true));
    await turn();
    expect(roomFor3).toBe(false);
    steps.finish();
    await turn();
    await turn();
    expect(roomFor3).toBe(true);
    // A batch larger than the whole bound still goes through on an idle lane.
    const big = lane(25);
    await big.l.room(1_000);
    expect(big.l.inFlight).toBe(0);
  });

  it('the next INSERT does not wait for the last commit, but the next commit does', async () => {
    const steps = new Steps();
    let releaseCommit!: () => void;
    steps.commit = (last) => {
      steps.commits.push(last);
      return last === 1 ? new Promise<void>((r) => (releaseCommit = r)) : Promise.resolve();
    };
    const l = new PartitionLane<number>(100, steps);
    const outcomes: LaneOutcome[] = [];
    void l.take(1, 10).then((o) => outcomes.push(o));
    await turn();
    void l.take(2, 10).then((o) => outcomes.push(o));
    steps.finish();
    await turn();
    // Batch 1's commit hangs; batch 2 is inserted meanwhile, but not committed before 1.
    expect(steps.inserts).toEqual([[1], [2]]);
    steps.finish();
    await turn();
    expect(steps.commits).toEqual([1]);
    expect(outcomes).toEqual([]);
    releaseCommit();
    await turn();
    expect(steps.commits).toEqual([1, 2]);
    expect(outcomes.map((o) => o.kind)).toEqual(['committed', 'committed']);
  });

  it('a failed commit leaves the batch stored: it is reported, not retried or rewound', async () => {
    const steps = new Steps();
    steps.commit = () => Promise.reject(new Error('REBALANCE_IN_PROGRESS'));
    const l = new PartitionLane<number>(100, steps);
    const outcome = l.take(1, 10);
    await turn();
    steps.finish();
    expect(await outcome).toMatchObject({ kind: 'commit-failed' });
    expect(l.breaks).toBe(0);
  });

  it('waits for the next INSERT round before handing over, and every batch that arrived until then goes into it', async () => {
    const { l, steps, roundStarts } = laneWithRounds();
    void l.take(1, 10);
    await turn();
    void l.take(2, 10);
    await turn();
    // Nothing handed over before the round starts: 2 goes with 1, not one round later.
    expect(steps.inserts).toEqual([]);
    roundStarts();
    await turn();
    expect(steps.inserts).toEqual([[1, 2]]);
    void l.take(3, 10);
    steps.finish();
    await turn();
    expect(steps.inserts).toEqual([[1, 2]]);
    roundStarts();
    await turn();
    expect(steps.inserts).toEqual([[1, 2], [3]]);
    steps.finish();
    await turn();
    expect(steps.commits).toEqual([2, 3]);
  });

  it('hands a round the batches that are decoded, not holding them back for one still being decoded after them', async () => {
    const { l, steps, roundStarts } = laneWithRounds();
    let decoded2: () => void = () => undefined;
    void l.take(1, 10, Promise.resolve());
    void l.take(2, 10, new Promise<void>((resolve) => (decoded2 = resolve)));
    void l.take(3, 10, Promise.resolve());
    await turn();
    roundStarts();
    await turn();
    // 2 is not decoded yet: 1 goes now; 3 may not overtake 2.
    expect(steps.inserts).toEqual([[1]]);
    steps.finish();
    decoded2();
    await turn();
    roundStarts();
    await turn();
    expect(steps.inserts).toEqual([[1], [2, 3]]);
    steps.finish();
    await turn();
    expect(steps.commits).toEqual([1, 3]);
  });
});
