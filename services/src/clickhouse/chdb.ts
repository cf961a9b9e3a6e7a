import { spawn } from 'node:child_process';
import { readMigrations } from './migrate.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

// Production tests run on Debian's clickhouse-server 18.16; chdb is a current ClickHouse engine
// in-process, so every statement the project sends can be proved to run on both.
const REPO_ROOT = new URL('../../../', import.meta.url).pathname;
export const CHDB_PYTHON = join(REPO_ROOT, '.ccfed/venv/bin/python');
export const CHDB_RUNNER = join(REPO_ROOT, 'services/clickhouse/chdb_run.py');

export type ChdbResult =
  | { readonly ok: true; readonly rows: readonly Record<string, unknown>[] }
  | { readonly ok: false; readonly error: string };

/**
 * Runs the statements in order in one fresh chdb session (USE and earlier tables hold for later
 * statements) and returns one result per statement. A failing statement is a result, not a
 * throw; this throws only when chdb itself cannot be run. Statements must not carry a FORMAT
 * clause: rows come back as JSONEachRow objects.
 */
export async function runOnCurrentClickHouse(statements: readonly string[]): Promise<ChdbResult[]> {
  if (!existsSync(CHDB_PYTHON))
    throw new Error(`${CHDB_PYTHON} is missing: run scripts/install.sh (it installs chdb)`);
  const { code, stdout, stderr } = await runPython(JSON.stringify({ statements }));
  if (code !== 0)
    throw new Error(`${CHDB_RUNNER} exited with ${code}: ${stderr.trim() || '(no stderr)'}`);
  const results = (JSON.parse(stdout) as { results?: ChdbResult[] }).results;
  if (!Array.isArray(results) || results.length !== statements.length)
    throw new Error(
      `${CHDB_RUNNER} answered ${results?.length ?? 'no'} results for ${statements.length} statements: ${stdout.slice(0, 200)}`,
    );
  return results;
}

/** The version of the engine runOnCurrentClickHouse runs on, e.g. "26.9.2.1". */
export async function currentClickHouseVersion(): Promise<string> {
  const [result] = await runOnCurrentClickHouse(['SELECT version() AS version']);
  if (!result?.ok) throw new Error(`chdb: SELECT version() failed: ${result?.error}`);
  return String(result.rows[0]?.version);
}

/** Setup statements for a chdb session: the `ccfed` database with every migration applied. */
export function migratedDatabaseSetup(): string[] {
  return ['CREATE DATABASE ccfed', 'USE ccfed', ...readMigrations().flatMap((m) => m.statements)];
}

/**
 * Runs setup, then the queries, in one chdb session and throws one Error naming every statement
 * that failed (setup ones as `setup[i]`), with its SQL and the engine's message.
 */
export async function assertRunsOnCurrentClickHouse(
  setup: readonly string[],
  queries: readonly { readonly name: string; readonly sql: string }[],
): Promise<void> {
  const named = [
    ...setup.map((sql, i) => ({ name: `setup[${i}]`, sql })),
    ...queries.map((q) => ({ name: q.name, sql: q.sql })),
  ];
  const results = await runOnCurrentClickHouse(named.map((n) => n.sql));
  const failures = named.flatMap((n, i) => {
    const r = results[i]!;
    return r.ok ? [] : [`${n.name}: ${r.error}\n    ${n.sql.replace(/\s+/g, ' ')}`];
  });
  if (failures.length > 0)
    throw new Error(
      `${failures.length} of ${named.length} statements fail on current ClickHouse (chdb):\n${failures.join('\n')}`,
    );
}

function runPython(
  input: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(CHDB_PYTHON, [CHDB_RUNNER], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    // A runner that dies before reading its input is reported by its exit code and stderr.
    child.stdin.on('error', () => {});
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}
