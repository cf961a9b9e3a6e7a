import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createClient } from '@clickhouse/client';
import { ident, sql } from '@ccfed/common';
import type { ClickHouseTarget } from '@ccfed/common';

export const MIGRATIONS_DIR = new URL('../../clickhouse/migrations', import.meta.url).pathname;

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly statements: readonly string[];
  /** sha256 of the statements: an applied migration whose text changed is refused. */
  readonly checksum: string;
}

const FILE_PATTERN = /^(\d{3})_([a-z0-9_]+)\.sql$/;

/** Reads the numbered migration files; refuses misnamed files and duplicate numbers. */
export function readMigrations(dir: string = MIGRATIONS_DIR): Migration[] {
  const files = readdirSync(dir)
    .filter((f) => !f.startsWith('.'))
    .sort();
  const seen = new Map<number, string>();
  return files.map((file) => {
    const m = FILE_PATTERN.exec(file);
    if (!m)
      throw new Error(
        `${join(dir, file)}: migration files are named NNN_name.sql (e.g. 001_call_events.sql)`,
      );
    const version = Number(m[1]);
    const clash = seen.get(version);
    if (clash)
      throw new Error(`${join(dir, file)}: migration number ${m[1]} is already used by ${clash}`);
    seen.set(version, file);
    const statements = splitStatements(readFileSync(join(dir, file), 'utf8'));
    if (statements.length === 0)
      throw new Error(`${join(dir, file)}: no SQL statement in the file`);
    const checksum = createHash('sha256').update(statements.join(';\n')).digest('hex');
    return { version, name: m[2]!, statements, checksum };
  });
}

/** Splits a migration file into statements on `;` at the end of a line, dropping comments. */
export function splitStatements(text: string): string[] {
  const withoutComments = text
    .split('\n')
    .map((line) => line.replace(/--.*$/, ''))
    .join('\n');
  return withoutComments
    .split(/;\s*(?:\n|$)/)
    .map((s) => s.trim())
    .filter(Boolean);
}

const ADD_COLUMNS = /^ALTER TABLE\s+(\w+)\s+ADD COLUMN\s/i;

/**
 * The columns an `ALTER TABLE t ADD COLUMN a …, ADD COLUMN b …` statement adds, or undefined for
 * any other statement.
 */
export function addedColumns(statement: string): { table: string; columns: string[] } | undefined {
  const m = ADD_COLUMNS.exec(statement);
  if (!m) return undefined;
  const columns = [...statement.matchAll(/ADD COLUMN\s+(\w+)/gi)].map((c) => c[1]!);
  return { table: m[1]!, columns };
}

/**
 * Whether `statement` adds columns that the table already has. ClickHouse 18.16 has no
 * `ADD COLUMN IF NOT EXISTS`, so a migration cut short after its ALTER would fail when run again:
 * an ALTER whose columns are all there is skipped, one with only some of them is refused.
 */
async function columnsAlreadyAdded(
  client: ReturnType<typeof createClient>,
  database: string,
  statement: string,
): Promise<boolean> {
  const added = addedColumns(statement);
  if (!added) return false;
  const rs = await client.query({
    query:
      sql`SELECT name FROM system.columns WHERE database = ${database} AND table = ${added.table}`
        .text,
    format: 'JSONEachRow',
  });
  const present = new Set((await rs.json<{ name: string }>()).map((c) => c.name));
  const there = added.columns.filter((c) => present.has(c));
  if (there.length === 0) return false;
  if (there.length === added.columns.length) return true;
  throw new Error(
    `database ${database}: table ${added.table} has ${there.join(', ')} but not the other columns of: ${statement}`,
  );
}

/**
 * Creates the database if needed and applies the migrations it has not had yet, in order. Every
 * statement is idempotent (IF NOT EXISTS), so a run cut short is simply run again. Returns the
 * versions it applied. `target` logs in as a user that may run DDL (the admin role).
 */
export async function migrate(
  target: ClickHouseTarget,
  database: string,
  migrations: readonly Migration[] = readMigrations(),
): Promise<number[]> {
  const db = ident(database);
  const login = { url: target.url, username: target.username, password: target.password };
  const server = createClient(login);
  try {
    await server.command({ query: sql`CREATE DATABASE IF NOT EXISTS ${db}`.text });
  } finally {
    await server.close();
  }
  // Statements name their tables without a database: they run in the one this client is bound to.
  const client = createClient({ ...login, database });
  try {
    await client.command({
      query:
        'CREATE TABLE IF NOT EXISTS schema_migrations (version UInt32, name String, checksum String, applied_at DateTime DEFAULT now()) ENGINE = ReplacingMergeTree() ORDER BY version',
    });
    const columns = await client.query({
      query:
        sql`SELECT name FROM system.columns WHERE database = ${database} AND table = 'schema_migrations'`
          .text,
      format: 'JSONEachRow',
    });
    if (!(await columns.json<{ name: string }>()).some((c) => c.name === 'checksum'))
      throw new Error(
        `database ${database} was migrated by a pre-release ccfed whose migrations were not checksummed, and its tables have another shape: rebuild it (locally: stop ccfed and delete .ccfed/local/clickhouse).`,
      );
    const done = await client.query({
      query: 'SELECT version, any(checksum) AS checksum FROM schema_migrations GROUP BY version',
      format: 'JSONEachRow',
    });
    const applied = new Map(
      (await done.json<{ version: number; checksum: string }>()).map((r) => [
        Number(r.version),
        r.checksum,
      ]),
    );
    const ran: number[] = [];
    for (const m of migrations) {
      const appliedChecksum = applied.get(m.version);
      if (appliedChecksum !== undefined) {
        if (appliedChecksum !== m.checksum)
          throw new Error(
            `database ${database}: migration ${m.version} (${m.name}) was applied with different SQL than services/clickhouse/migrations holds now. An applied migration must never change: add a new one. (A local development database can be dropped and rebuilt instead.)`,
          );
        continue;
      }
      for (const statement of m.statements) {
        if (await columnsAlreadyAdded(client, database, statement)) continue;
        await client.command({ query: statement });
      }
      await client.insert({
        table: 'schema_migrations',
        values: [{ version: m.version, name: m.name, checksum: m.checksum }],
        format: 'JSONEachRow',
      });
      ran.push(m.version);
    }
    return ran;
  } finally {
    await client.close();
  }
}
