// One Kafka partition's batches on their way into ClickHouse. A batch is decoded as soon as it
// arrives, so that decoding the next fetch overlaps ClickHouse storing the last one; but the
// batches of a partition are stored and committed strictly in offset order: the batches that
// arrive until the next INSERT round starts (steps.ready) go together into it, and a lane's next
// INSERT starts only once its previous one is in ClickHouse; each commit starts once the previous
// commit has ended. So ClickHouse never holds a later batch of a partition without the earlier
// ones (the ledger's high-water mark stays true), the committed offset never passes a batch that
// is not stored, and a partition that falls behind catches up in fewer, larger INSERTs.
//
// Once a taken batch is not stored (its INSERT failed, the group rebalanced, the consumer is
// stopping), the lane breaks: every batch taken before the break and not yet sent is dropped
// unstored, and the partition's ledger, which already counted them, is reloaded from ClickHouse
// before the next batch is decoded, once nothing of the lane is in flight any more. Pure: no I/O,
// no clock.

/** What became of a batch handed to the lane. */
export type LaneOutcome =
  | { readonly kind: 'committed' }
  /** Stored in ClickHouse; the commit failed (a replay is skipped by the ledger). */
  | { readonly kind: 'commit-failed'; readonly error: unknown }
  /** Not stored: the lane broke before it was sent, or `store` declined it. */
  | { readonly kind: 'dropped' }
  /** Not stored: `store` threw. Its partition must be consumed again from this batch. */
  | { readonly kind: 'failed'; readonly error: unknown };

export interface LaneSteps<T> {
  /**
   * Resolves when the lane should hand over what it holds to `store`: batches that arrive until
   * then go into the same INSERT. At once when absent.
   */
  ready?(): Promise<void>;
  /**
   * Stores batches of the lane, in offset order, all or none; false if they must not be stored
   * after all (no longer current).
   */
  store(batches: readonly T[]): Promise<boolean>;
  /** Commits everything up to and including `batch`; only after it is stored. */
  commit(batch: T): Promise<void>;
}

interface Taken<T> {
  readonly batch: T;
  readonly bytes: number;
  readonly epoch: number;
  /** Resolves, never rejects, once the batch can be stored (decoded), well or not. */
  readonly preparing: Promise<void>;
  prepared: boolean;
  settle(outcome: LaneOutcome): void;
}

export class PartitionLane<T> {
  /** Taken and not yet sent, in offset order. */
  private queue: Taken<T>[] = [];
  private sending = false;
  /** Settles when the newest commit has ended, whatever its outcome; never rejects. */
  private committed: Promise<unknown> = Promise.resolve();
  private pending = 0;
  private pendingBytes = 0;
  private waiters: (() => void)[] = [];
  private epoch = 0;
  private reload = false;

  /**
   * @param maxBytes most bytes of batches taken and not yet settled (one batch always fits):
   *   bounds the memory a partition holds, and so how much one INSERT gathers
   */
  constructor(
    private readonly maxBytes: number,
    private readonly steps: LaneSteps<T>,
  ) {}

  /** Batches taken and not settled yet. */
  get inFlight(): number {
    return this.pending;
  }

  /** Resolves once the lane has room for a batch of `bytes`. */
  async room(bytes: number): Promise<void> {
    while (this.pending > 0 && this.pendingBytes + bytes > this.maxBytes) await this.settledOne();
  }

  /** Resolves once every batch taken has settled. */
  async idle(): Promise<void> {
    while (this.pending > 0) await this.settledOne();
  }

  /**
   * Whether the ledger must be reloaded before the next batch is decoded; if so, first waits until
   * nothing of the lane is in flight, so that the reload sees everything that will ever land.
   */
  async ledgerReloadDue(): Promise<boolean> {
    if (!this.reload) return false;
    await this.idle();
    // A break while waiting is covered by this same reload.
    this.reload = false;
    return true;
  }

  /** Counts breaks: a batch fetched before a break must not be taken after it. */
  get breaks(): number {
    return this.epoch;
  }

  /** Drops every batch taken and not yet sent, and reloads the ledger after. */
  break(): void {
    this.epoch++;
    this.reload = true;
  }

  /**
   * Takes one batch of `bytes`, the next in offset order; resolves with its outcome. `preparing`
   * settles once it can be stored (the decode thread is done with it): until then the batches
   * before it go into INSERTs without it, and it and those after it wait for the next.
   */
  take(batch: T, bytes: number, preparing?: Promise<unknown>): Promise<LaneOutcome> {
    this.pending++;
    this.pendingBytes += bytes;
    return new Promise<LaneOutcome>((resolve) => {
      const prepared = () => {
        t.prepared = true;
      };
      const t: Taken<T> = {
        batch,
        bytes,
        epoch: this.epoch,
        preparing: (preparing ?? Promise.resolve()).then(prepared, prepared),
        prepared: preparing === undefined,
        settle: resolve,
      };
      this.queue.push(t);
      void this.pump();
    }).finally(() => {
      this.pending--;
      this.pendingBytes -= bytes;
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  private async pump(): Promise<void> {
    if (this.sending) return;
    this.sending = true;
    while (this.queue.length > 0) {
      await this.steps.ready?.();
      const unprepared = this.queue.findIndex((t) => !t.prepared);
      if (unprepared === 0) {
        // Nothing to hand over to this round: wait for the first batch, then for the next round.
        await this.queue[0]!.preparing;
        continue;
      }
      const taken = this.queue.splice(0, unprepared < 0 ? this.queue.length : unprepared);
      const live = taken.filter((t) => t.epoch === this.epoch);
      for (const t of taken) if (t.epoch !== this.epoch) t.settle({ kind: 'dropped' });
      if (live.length === 0) continue;
      const batches = live.map((t) => t.batch);
      let failure: LaneOutcome = { kind: 'dropped' };
      let stored = false;
      try {
        stored = await this.steps.store(batches);
      } catch (error) {
        failure = { kind: 'failed', error };
      }
      if (!stored) {
        this.break();
        // The first batch carries the failure (its partition is consumed again from it); the
        // rest of the INSERT were not stored either.
        live[0]!.settle(failure);
        for (const t of live.slice(1)) t.settle({ kind: 'dropped' });
        continue;
      }
      // The next INSERT need not wait for this commit, only the next commit does.
      const committed = this.committed.then(() => this.commit(batches.at(-1)!));
      this.committed = committed;
      void committed.then((outcome) => {
        for (const t of live) t.settle(outcome);
      });
    }
    this.sending = false;
  }

  private async commit(last: T): Promise<LaneOutcome> {
    try {
      await this.steps.commit(last);
      return { kind: 'committed' };
    } catch (error) {
      return { kind: 'commit-failed', error };
    }
  }

  private settledOne(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}
