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

/**
 * Where a ledger is read: one server, or every replica of one shard of a cluster, whose rows are
 * in `<table><suffix>` (docs/clickhouse-cluster.md, "Exactly once").
 */
export interface LedgerSource {
  readonly replicas: readonly ClickHouseClient[];
  readonly tableSuffix: string;
}

export class LedgerStore {
  private readonly ledgers = new Map<string, Promise<PartitionLedger>>();
  private readonly source: LedgerSource;

  /**
   * On a cluster the ledger is the union of what every replica of the shard holds, and loading it
   * needs them all: an INSERT that failed waiting for its quorum has still stored its rows on the
   * replica it was sent to, which may be the only one holding them until the others fetch them.
   * A ledger read without that replica would let the ingester store those rows a second time.
   */
  constructor(
    source: ClickHouseClient | LedgerSource,
    private readonly window: bigint = DUPLICATE_WINDOW,
  ) {
    this.source = 'replicas' in source ? source : { replicas: [source], tableSuffix: '' };
  }

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
    const local = table + this.source.tableSuffix;
    let high = -1n;
    const entries = new Map<string, bigint>();
    for (const replica of this.source.replicas) {
      const held = await this.loadFrom(replica, local, partition);
      if (held.high > high) high = held.high;
      for (const e of held.entries) {
        const seen = entries.get(e.eventId);
        if (seen === undefined || e.offset > seen) entries.set(e.eventId, e.offset);
      }
    }
    if (high < 0n) return new PartitionLedger(-1n, [], this.window);
    // Each replica's entries are those of its own window; keep the union's.
    const from = high > this.window ? high - this.window : 0n;
    const recent: LedgerEntry[] = [];
    for (const [eventId, offset] of entries) if (offset >= from) recent.push({ eventId, offset });
    return new PartitionLedger(high, recent, this.window);
  }

  private async loadFrom(
    clickhouse: ClickHouseClient,
    table: string,
    partition: number,
  ): Promise<{ high: bigint; entries: LedgerEntry[] }> {
    await this.insertsSettled(clickhouse, table);
    const t = ident(table);
    const top = await query<{ high: string; n: string }>(
      clickhouse,
      sql`SELECT max(kafka_offset) AS high, count() AS n FROM ${t} WHERE kafka_partition = ${partition}`
        .text,
    );
    if (Number(top[0]?.n ?? 0) === 0) return { high: -1n, entries: [] };
    const high = BigInt(top[0]!.high);
    const from = high > this.window ? high - this.window : 0n;
    const recent = await query<{ event_id: string; offset: string }>(
      clickhouse,
      sql`SELECT event_id, max(kafka_offset) AS offset FROM ${t}
          WHERE kafka_partition = ${partition} AND kafka_offset >= ${from}
          GROUP BY event_id`.text,
    );
    return {
      high,
      entries: recent.map((r) => ({ eventId: r.event_id, offset: BigInt(r.offset) })),
    };
  }

  /** Resolves once every INSERT into `table` running now has ended (those begun later aside). */
  private async insertsSettled(clickhouse: ClickHouseClient, table: string): Promise<void> {
    const running = async () => {
      const rows = await query<{ query_id: string }>(
        clickhouse,
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
}

async function query<T>(clickhouse: ClickHouseClient, text: string): Promise<T[]> {
  const rs = await clickhouse.query({ query: text, format: 'JSONEachRow' });
  return rs.json<T>();
}
