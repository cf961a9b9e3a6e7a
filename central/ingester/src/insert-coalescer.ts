// Batches of one table that become ready in the same turn of the event loop (the partitions of
// one Kafka fetch) go to ClickHouse as one INSERT instead of one each. Every INSERT makes a part
// in the raw table and in each materialized view fed from it, so fewer, larger INSERTs cost
// ClickHouse less CPU and fewer merges, and a fetch's batches land in one round instead of queueing
// behind each other. Each batch still waits for the INSERT that holds its rows and commits only
// after it: a failed INSERT fails every batch in it, and each is delivered again.
import { Readable } from 'node:stream';
import type { ClickHouseClient } from '@clickhouse/client';
import type { Logger } from 'pino';
import type { TsvWriter } from './tsv.js';

interface Pending {
  readonly table: string;
  readonly columns: [string, ...string[]];
  readonly bodies: Buffer[];
  readonly settled: Promise<void>;
  resolve(): void;
  reject(err: unknown): void;
}

export class InsertCoalescer {
  /** INSERTs being gathered, by table and columns; sent on the next turn of the event loop. */
  private readonly gathering = new Map<string, Pending>();
  private inserts = 0;

  /**
   * @param afterInsert called after each INSERT, before any of its batches learns it succeeded,
   *   with the number of INSERTs so far (the ingester's failpoint)
   */
  constructor(
    private readonly clickhouse: ClickHouseClient,
    private readonly log: Logger,
    private readonly afterInsert?: (inserts: number) => void,
  ) {}

  /** Resolves once ClickHouse holds `body`'s rows; rejects if the INSERT holding them failed. */
  insert(table: string, body: TsvWriter): Promise<void> {
    const columns = body.columns();
    const key = `${table}(${columns.join(',')})`;
    let pending = this.gathering.get(key);
    if (!pending) {
      let resolve!: () => void;
      let reject!: (err: unknown) => void;
      const settled = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      const created: Pending = { table, columns, bodies: [], settled, resolve, reject };
      this.gathering.set(key, created);
      setImmediate(() => {
        this.gathering.delete(key);
        void this.send(created);
      });
      pending = created;
    }
    pending.bodies.push(body.body());
    return pending.settled;
  }

  private async send(p: Pending): Promise<void> {
    const startedAt = performance.now();
    try {
      await this.clickhouse.insert({
        table: p.table,
        columns: p.columns,
        values: Readable.from(p.bodies, { objectMode: false }),
        format: 'TabSeparated',
      });
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
}
