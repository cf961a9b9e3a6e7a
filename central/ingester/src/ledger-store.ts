// Loads a partition's ledger from what ClickHouse holds, once per assignment; forgets them all
// when the consumer group rebalances (another ingester may have stored batches meanwhile) or
// when a batch fails (whatever ClickHouse holds then is the truth to reload).
import type { ClickHouseClient } from '@clickhouse/client';
import { ident, sql } from '@ccfed/common';
import { PartitionLedger, type LedgerEntry } from './ledger.js';

/** Offsets of recent history whose event ids are kept to catch producer duplicates. */
export const DUPLICATE_WINDOW = 50_000n;

export class LedgerStore {
  private readonly ledgers = new Map<string, Promise<PartitionLedger>>();

  constructor(
    private readonly clickhouse: ClickHouseClient,
    private readonly window: bigint = DUPLICATE_WINDOW,
  ) {}

  /** The ledger of `table`'s rows from Kafka partition `partition`, loaded on first use. */
  ledger(table: string, partition: number): Promise<PartitionLedger> {
    const key = `${table}/${partition}`;
    let ledger = this.ledgers.get(key);
    if (!ledger) {
      ledger = this.load(table, partition);
      // A failed load is not cached: the next batch tries again.
      const loading = ledger;
      loading.catch(() => {
        if (this.ledgers.get(key) === loading) this.ledgers.delete(key);
      });
      this.ledgers.set(key, ledger);
    }
    return ledger;
  }

  /** Forgets one partition's ledger, e.g. after a failed insert whose outcome is unknown. */
  forget(table: string, partition: number): void {
    this.ledgers.delete(`${table}/${partition}`);
  }

  /** Forgets every ledger: after a rebalance, another consumer may have stored batches. */
  forgetAll(): void {
    this.ledgers.clear();
  }

  private async load(table: string, partition: number): Promise<PartitionLedger> {
    const t = ident(table);
    const top = await this.query<{ high: string; n: string }>(
      sql`SELECT max(kafka_offset) AS high, count() AS n FROM ${t} WHERE kafka_partition = ${partition}`
        .text,
    );
    if (Number(top[0]?.n ?? 0) === 0) return new PartitionLedger(-1n, [], this.window);
    const high = BigInt(top[0]!.high);
    const from = high > this.window ? high - this.window : 0n;
    const recent = await this.query<{ event_id: string; offset: string }>(
      sql`SELECT event_id, max(kafka_offset) AS offset FROM ${t}
          WHERE kafka_partition = ${partition} AND kafka_offset >= ${from}
          GROUP BY event_id`.text,
    );
    const entries: LedgerEntry[] = recent.map((r) => ({
      eventId: r.event_id,
      offset: BigInt(r.offset),
    }));
    return new PartitionLedger(high, entries, this.window);
  }

  private async query<T>(query: string): Promise<T[]> {
    const rs = await this.clickhouse.query({ query, format: 'JSONEachRow' });
    return rs.json<T>();
  }
}
