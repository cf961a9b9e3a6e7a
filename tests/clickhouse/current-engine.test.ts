// Every migration must also run on a current ClickHouse (chdb), not only on the 18.16 server the
// other tests use, so that moving the production server forward does not break the schema.
import {
  addedColumns,
  assertRunsOnCurrentClickHouse,
  clusterMigrations,
  currentClickHouseVersion,
  readMigrations,
  runOnCurrentClickHouse,
} from '@ccfed/services';
import { describe, expect, it } from 'vitest';

const IN_DATABASE = ['CREATE DATABASE ccfed', 'USE ccfed'];

describe('current ClickHouse engine (chdb)', () => {
  it('runs every migration statement, twice as migrate() would (they are idempotent)', async () => {
    const statements = readMigrations().flatMap((m) =>
      m.statements.map((sql, i) => ({
        name: `${String(m.version).padStart(3, '0')}_${m.name} #${i + 1}`,
        sql,
      })),
    );
    expect(statements.length).toBeGreaterThan(0);
    // Again, as migrate() runs them: an ALTER … ADD COLUMN whose columns are there is skipped
    // (18.16 has no ADD COLUMN IF NOT EXISTS; migrate.test.ts checks the skip).
    const again = statements.filter((s) => addedColumns(s.sql) === undefined);
    expect(again.length).toBeLessThan(statements.length);
    await assertRunsOnCurrentClickHouse(IN_DATABASE, [
      ...statements,
      ...again.map((s) => ({ ...s, name: `${s.name} (again)` })),
    ]);
  });

  it('parses every statement of the cluster form, and runs it with the replication taken out', async () => {
    // chdb has no ZooKeeper and no cluster: each statement is parsed as it is (EXPLAIN AST), then
    // run with Replicated*MergeTree as the plain engine and each Distributed table as a Merge
    // table over its _local one, which checks every name a view, ALTER or backfill uses.
    const cluster = clusterMigrations(readMigrations(), { cluster: 'ccfed', database: 'ccfed' });
    const statements = cluster.flatMap((m) =>
      [...m.everyServer, ...m.firstReplica].map((sql, i) => ({
        name: `${String(m.version).padStart(3, '0')}_${m.name} cluster #${i + 1}`,
        sql,
      })),
    );
    const local = (sql: string) =>
      sql
        .replace(/ENGINE = Replicated(\w*MergeTree)\('[^']*', '\{replica\}'(?:, )?/, 'ENGINE = $1(')
        .replace(
          /ENGINE = Distributed\(ccfed, ccfed, (\w+), [^\n]*\)$/,
          (_, table: string) => `ENGINE = Merge(currentDatabase(), '^${table}$')`,
        );
    expect(statements.some((s) => local(s.sql).includes('Merge(currentDatabase()'))).toBe(true);
    await assertRunsOnCurrentClickHouse(IN_DATABASE, [
      ...statements.map((s) => ({ name: `${s.name} (parse)`, sql: `EXPLAIN AST ${s.sql}` })),
      ...statements.map((s) => ({ ...s, sql: local(s.sql) })),
    ]);
  });

  it('reports a statement only 18.16 accepts as a failure, and runs the ones after it', async () => {
    // The pre-2019 MergeTree(date, key, granularity) form: 18.16 takes it, current ClickHouse refuses.
    const oldSyntax =
      'CREATE TABLE old_style (d Date, x UInt8) ENGINE = MergeTree(d, (d, x), 8192)';
    const results = await runOnCurrentClickHouse([...IN_DATABASE, oldSyntax, 'SELECT 1 AS one']);
    expect(results[2]).toMatchObject({ ok: false, error: expect.stringMatching(/deprecated/) });
    expect(results[3]).toEqual({ ok: true, rows: [{ one: 1 }] });

    const thrown = await assertRunsOnCurrentClickHouse(IN_DATABASE, [
      { name: 'old style', sql: oldSyntax },
      { name: 'typo', sql: 'SELEC 1' },
      { name: 'fine', sql: 'SELECT 1' },
    ]).catch((e: Error) => e);
    expect(thrown).toBeInstanceOf(Error);
    const message = (thrown as Error).message;
    expect(message).toMatch(/^2 of 5 statements fail/);
    expect(message).toContain(`old style: `);
    expect(message).toContain(oldSyntax);
    expect(message).toContain('typo: ');
    expect(message).not.toContain('fine: ');
  });

  it('is a current engine (23 or later)', async () => {
    const version = await currentClickHouseVersion();
    expect(version).toMatch(/^\d+\.\d+/);
    expect(Number(version.split('.')[0])).toBeGreaterThanOrEqual(23);
  });
});
