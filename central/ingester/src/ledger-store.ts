// Loads a partition's ledger from what ClickHouse holds, once per assignment; forgets one when its
// partition's lane says so: after a rebalance (another ingester may have stored batches
// meanwhile) or a batch that was not stored (whatever ClickHouse holds then is the truth to
// reload).
//
// A load first waits out the INSERTs into the table that ClickHouse is running at that moment.
// After a rebalance the partition's previous owner may still have one under way, sent before it
// rejoined the group (it sends nothing after: partition-lane.ts); a ledger read before that lands
// would let this ingester store the same rows again.
import type { ClickHouseClient } from '@clickhouse/client';
import { ident, sql } from '@ccfed/common';
import { PartitionLedger, type LedgerEntry } from './ledger.js';

/** Offsets of recent history whose event ids are kept to catch producer duplicates. */
export const DUPLICATE_WINDOW = 50_000n;
const INSERTS_SETTLE_POLL_MS = 50;
/** An INSERT running longer than this is stuck; the load fails and the batch is retried. */
const INSERTS_SETTLE_TIMEOUT_MS = 120_000;

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

  private async load(table: string, partition: number): Promise<PartitionLedger> {
    await this.insertsSettled(table);
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

  /** Resolves once every INSERT into `table` running now has ended (those begun later aside). */
  private async insertsSettled(table: string): Promise<void> {
    const running = async () => {
      const rows = await this.query<{ query_id: string }>(
        sql`SELECT query_id FROM system.processes
            WHERE position(query, ${`INSERT INTO ${table} `}) = 1`.text,
      );
      return new Set(rows.map((r) => r.query_id));
    };
    const waitingFor = await running();
    const deadline = performance.now() + INSERTS_SETTLE_TIMEOUT_MS;
    while (waitingFor.size > 0) {
      if (performance.now() > deadline)
        throw new Error(
          `${waitingFor.size} INSERT(s) into ${table} still running after ${INSERTS_SETTLE_TIMEOUT_MS / 1000} s: not loading the ledger of a table being written`,
        );
      await new Promise((r) => setTimeout(r, INSERTS_SETTLE_POLL_MS));
      const now = await running();
      for (const id of waitingFor) if (!now.has(id)) waitingFor.delete(id);
    }
  }

  private async query<T>(query: string): Promise<T[]> {
    const rs = await this.clickhouse.query({ query, format: 'JSONEachRow' });
    return rs.json<T>();
  }
}
