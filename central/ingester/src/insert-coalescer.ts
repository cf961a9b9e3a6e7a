// The ingester's INSERTs go to ClickHouse in rounds: one INSERT per table that has rows waiting,
// all at once; the batches that become ready while a round is under way wait and go together into
// the next round, which starts as soon as the last one has ended. Each batch still waits for the
// INSERT that holds its rows and commits only after it: a failed INSERT fails every batch in it,
// and each is delivered again.
//
// Why rounds: every INSERT costs ClickHouse 18.16 a fixed 20-90 ms of CPU whatever its size (each
// materialized view's query is analysed again, and a part is written for every table it feeds).
// The same 311,000 events cost it 5.6 µs each in INSERTs of 100,000 messages and 43-57 µs each in
// INSERTs of 10,000 (measured 2026-11-23). Sending each table's INSERT whenever that table's
// previous one ended let the small tables (surveys, CRM events, decisions) INSERT ten times a
// second each and saturated ClickHouse under live traffic; in rounds, the slowest table sets the
// pace for all, and the rounds grow with the load: a backlog goes in a few large INSERTs. Under
// live traffic rounds start at most every MIN_ROUND_INTERVAL_MS, which bounds what ClickHouse
// spends on INSERTs whatever the load, at the price of up to that long a wait for freshness.
import { Readable } from 'node:stream';
import type { ClickHouseClient, ClickHouseSettings } from '@clickhouse/client';
import type { Logger } from 'pino';

/** One batch's rows for one table, in TabSeparated format. */
export interface InsertBody {
  readonly columns: [string, ...string[]];
  readonly bytes: Buffer;
  readonly rows: number;
}

/** Least time between the starts of two rounds. */
export const MIN_ROUND_INTERVAL_MS = 500;

/**
 * One shard of a cluster (docs/clickhouse-cluster.md, "Exactly once"): its replicas, the suffix of
 * the replicated tables the rows go to, and the INSERT settings (shards.ts). INSERTs go to one
 * replica while it takes connections, then to the next.
 */
export interface ShardInsertTarget {
  readonly replicas: readonly ClickHouseClient[];
  readonly tableSuffix: string;
  readonly settings: ClickHouseSettings;
}

interface Pending {
  readonly table: string;
  readonly columns: [string, ...string[]];
  readonly bodies: Buffer[];
  readonly settled: Promise<void>;
  resolve(): void;
  reject(err: unknown): void;
}

export class InsertCoalescer {
  /** INSERTs gathering rows for the next round, by table and columns. */
  private gathering = new Map<string, Pending>();
  /** Lanes waiting to hand over their batches when the next round starts (nextRound). */
  private waiting: (() => void)[] = [];
  private roundUnderWay = false;
  private roundScheduled = false;
  private lastRoundAt = -Infinity;
  private inserts = 0;

  /**
   * @param afterInsert called after each INSERT, before any of its batches learns it succeeded,
   *   with the number of INSERTs so far (the ingester's failpoint)
   */
  private readonly shard: ShardInsertTarget;
  /** The replica INSERTs go to while it takes connections. */
  private replica = 0;

  constructor(
    clickhouse: ClickHouseClient | ShardInsertTarget,
    private readonly log: Logger,
    private readonly afterInsert?: (inserts: number) => void,
  ) {
    this.shard =
      'replicas' in clickhouse
        ? clickhouse
        : { replicas: [clickhouse], tableSuffix: '', settings: {} };
  }

  /** Resolves once ClickHouse holds `body`'s rows; rejects if the INSERT holding them failed. */
  insert(table: string, body: InsertBody): Promise<void> {
    const { columns } = body;
    const key = `${table}(${columns.join(',')})`;
    let pending = this.gathering.get(key);
    if (!pending) {
      let resolve!: () => void;
      let reject!: (err: unknown) => void;
      const settled = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      pending = { table, columns, bodies: [], settled, resolve, reject };
      this.gathering.set(key, pending);
    }
    pending.bodies.push(body.bytes);
    this.scheduleRound();
    return pending.settled;
  }

  /**
   * Resolves as the next round starts; an INSERT asked for before the event loop's next turn
   * still joins that round. A partition's lane waits here before it hands over its batches, so
   * that every batch that arrived before the round starts goes into it, not only those that were
   * there when the lane's last INSERT ended. (Handing them over at once made a batch wait for one
   * to two round intervals instead of up to one: bench:ingest, freshness p50 about 0.9 s at 500 ms
   * rounds, 1.5 s at 1 s.)
   */
  nextRound(): Promise<void> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.scheduleRound();
    });
  }

  /**
   * The next round starts once none is under way and MIN_ROUND_INTERVAL_MS after the last one
   * started, and never before the next turn of the event loop, so that a whole fetch joins it.
   */
  private scheduleRound(): void {
    if (this.roundUnderWay || this.roundScheduled) return;
    this.roundScheduled = true;
    const start = () => {
      this.roundScheduled = false;
      void this.round();
    };
    const wait = this.lastRoundAt + MIN_ROUND_INTERVAL_MS - performance.now();
    if (wait > 0) setTimeout(start, wait);
    else setImmediate(start);
  }

  private async round(): Promise<void> {
    if (this.roundUnderWay || (this.gathering.size === 0 && this.waiting.length === 0)) return;
    this.roundUnderWay = true;
    this.lastRoundAt = performance.now();
    if (this.waiting.length > 0) {
      for (const wake of this.waiting.splice(0)) wake();
      // The lanes woken hand over their batches in the microtasks that run before this.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    const inserts = [...this.gathering.values()];
    this.gathering = new Map();
    await Promise.all(inserts.map((p) => this.send(p)));
    this.roundUnderWay = false;
    if (this.gathering.size > 0 || this.waiting.length > 0) this.scheduleRound();
  }

  /** Sends one INSERT and settles its batches; never rejects. */
  private async send(p: Pending): Promise<void> {
    const startedAt = performance.now();
    try {
      await this.sendToReplica(p);
      this.afterInsert?.(++this.inserts);
      this.log.debug({
        event: 'insert_done',
        table: p.table,
        batches: p.bodies.length,
        bytes: p.bodies.reduce((n, b) => n + b.length, 0),
        ms: Math.round(performance.now() - startedAt),
      });
      p.resolve();
    } catch (err) {
      p.reject(err);
    }
  }

  /**
   * Sends to the current replica; to the next one only when the current one refused the
   * connection, so that the INSERT cannot have reached it (any other failure may have stored the
   * rows: the batch fails and its ledger is reloaded from every replica).
   */
  private async sendToReplica(p: Pending): Promise<void> {
    const { replicas, tableSuffix, settings } = this.shard;
    for (let tried = 1; ; tried++) {
      try {
        await replicas[this.replica]!.insert({
          table: p.table + tableSuffix,
          columns: p.columns,
          values: Readable.from(p.bodies, { objectMode: false }),
          format: 'TabSeparated',
          ...(Object.keys(settings).length > 0 ? { clickhouse_settings: settings } : {}),
        });
        return;
      } catch (err) {
        if (!connectionRefused(err) || tried >= replicas.length) throw err;
        this.replica = (this.replica + 1) % replicas.length;
        this.log.warn({ event: 'replica_refused', table: p.table, next: this.replica });
      }
    }
  }
}

function connectionRefused(err: unknown): boolean {
  for (let e = err; e instanceof Error; e = e.cause)
    if ((e as NodeJS.ErrnoException).code === 'ECONNREFUSED') return true;
  return false;
}
