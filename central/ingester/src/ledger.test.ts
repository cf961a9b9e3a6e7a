import { describe, expect, it } from 'vitest';
import { PartitionLedger } from './ledger.js';

const entry = (offset: number, eventId: string) => ({ offset: BigInt(offset), eventId });

describe('PartitionLedger: what a partition has already stored', () => {
  it('skips every offset at or below the highest stored one: a replayed batch stores nothing', () => {
    const ledger = new PartitionLedger(-1n, [], 100n);
    expect(ledger.verdict(0n, 'e0')).toBe('store');
    ledger.stored([entry(0, 'e0'), entry(1, 'e1'), entry(2, 'e2')]);
    expect(ledger.isReplayed(2n)).toBe(true);
    expect(ledger.verdict(1n, 'e1')).toBe('replayed');
    expect(ledger.verdict(3n, 'e3')).toBe('store');
  });

  it('catches a producer duplicate: the same event id again at a later offset', () => {
    const ledger = new PartitionLedger(-1n, [], 100n);
    ledger.stored([entry(10, 'call-1-offered')]);
    expect(ledger.verdict(57n, 'call-1-offered')).toBe('duplicate');
  });

  it('starts from what ClickHouse holds, whatever order the rows come back in', () => {
    const ledger = new PartitionLedger(42n, [entry(42, 'b'), entry(40, 'a')], 100n);
    expect(ledger.highestStored).toBe(42n);
    expect(ledger.verdict(43n, 'a')).toBe('duplicate');
    expect(ledger.verdict(41n, 'zzz')).toBe('replayed');
  });

  it('forgets event ids older than the window, so memory stays bounded', () => {
    const ledger = new PartitionLedger(-1n, [], 1000n);
    for (let o = 0; o < 20_000; o++) ledger.stored([entry(o, `e${o}`)]);
    expect(ledger.size).toBeLessThanOrEqual(1001);
    expect(ledger.verdict(20_000n, 'e19500')).toBe('duplicate');
    // Outside the window a duplicate is no longer recognised; the raw tables' ReplacingMergeTree
    // is the guard of last resort (see ledger.ts).
    expect(ledger.verdict(20_000n, 'e5')).toBe('store');
  });
});
