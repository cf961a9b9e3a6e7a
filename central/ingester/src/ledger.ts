// What one Kafka partition has already put into ClickHouse: the highest stored offset, and the
// event ids of the last `window` offsets. Pure: the ingester loads it from ClickHouse once per
// partition assignment (ledger-store.ts) and keeps it current as it stores batches.
//
// A message comes twice for one of two reasons:
//   - a replay: the ingester stored a batch, then died (or lost the partition) before committing
//     its offsets, so Kafka hands it the same offsets again. Every offset at or below the high
//     water mark is already stored: skipped.
//   - a producer duplicate: a site agent resent an event it had sent before it crashed, so the
//     same event id sits at a second, later offset. Resends follow a restart within seconds, so
//     the ids of the recent `window` offsets catch them.
// Between the two, every event reaches the raw tables, and so the rollup views, exactly once.

export interface LedgerEntry {
  readonly offset: bigint;
  readonly eventId: string;
}

export type Verdict = 'store' | 'replayed' | 'duplicate';

export class PartitionLedger {
  private highWater: bigint;
  private readonly ids = new Map<string, bigint>();
  /** Entries in offset order, for forgetting those that fall out of the window. */
  private readonly order: LedgerEntry[] = [];
  private head = 0;

  /**
   * @param highWater the highest offset stored, -1n when none
   * @param recent the stored entries of the last `window` offsets, in any order
   */
  constructor(
    highWater: bigint,
    recent: readonly LedgerEntry[],
    private readonly window: bigint,
  ) {
    this.highWater = highWater;
    for (const e of [...recent].sort((a, b) => (a.offset < b.offset ? -1 : 1))) this.remember(e);
  }

  get highestStored(): bigint {
    return this.highWater;
  }

  /** Whether the message at `offset` carrying `eventId` is new (store), or already in. */
  verdict(offset: bigint, eventId: string): Verdict {
    if (offset <= this.highWater) return 'replayed';
    const seenAt = this.ids.get(eventId);
    return seenAt !== undefined && seenAt !== offset ? 'duplicate' : 'store';
  }

  /** Whether the message at `offset` was stored already; for messages with no usable event id. */
  isReplayed(offset: bigint): boolean {
    return offset <= this.highWater;
  }

  /** Records a batch that ClickHouse now holds, in offset order. */
  stored(entries: readonly LedgerEntry[]): void {
    for (const e of entries) {
      this.remember(e);
      if (e.offset > this.highWater) this.highWater = e.offset;
    }
    this.forgetBefore(this.highWater - this.window);
  }

  /** How many event ids the ledger holds: bounded by the window. */
  get size(): number {
    return this.ids.size;
  }

  private remember(e: LedgerEntry): void {
    if (!this.ids.has(e.eventId)) {
      this.ids.set(e.eventId, e.offset);
      this.order.push(e);
    }
  }

  private forgetBefore(offset: bigint): void {
    while (this.head < this.order.length && this.order[this.head]!.offset < offset) {
      const e = this.order[this.head++]!;
      if (this.ids.get(e.eventId) === e.offset) this.ids.delete(e.eventId);
    }
    // Compact now and then instead of shifting on every forget.
    if (this.head > 4096 && this.head * 2 > this.order.length) {
      this.order.splice(0, this.head);
      this.head = 0;
    }
  }
}
