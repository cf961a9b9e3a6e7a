// npm run bench:queries — every dashboard and API query timed on a year of a 350-seat centre
// (10 million calls) in a real ClickHouse 18.16. Writes bench/results/queries.json:
//
//   calls        calls generated
//   queries      per query: median_ms and p95_ms of --runs (10) timed runs after one warm-up
//                (client side, request sent → whole answer read), and what the server says it
//                read; a query too slow for 10 runs in --budget-s does fewer (at least 3), and
//                says so in its `runs`
//   generation   how long each step of the generation took (or that the data was reused)
//   parts        active parts per table when the queries ran (no OPTIMIZE … FINAL: queries must
//                be fast before merges)
//   load         the machine's load average around the measurement (the machine is shared)
//
// The data is generated inside ClickHouse (bench/queries/generate.ts) into the raw tables, so the
// materialized views fill the derived tables as in production. It is kept in
// .ccfed/bench/queries/ with a marker row naming the generation parameters: a later run with the
// same parameters reuses it, a run with others regenerates it. A smoke run (--smoke) generates
// 20,000 calls over 5 weeks into its own empty server instead, and times each query once.
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { ident, sql, type Sql } from '@ccfed/common';
import { migrate } from '@ccfed/services';
import {
  benchArgs,
  benchClickHouse,
  benchClickHouseHttp,
  percentile,
  round,
  ROOT,
  runBench,
} from './harness.js';
import { DEFAULT_PARAMS, type GenerationParams } from './queries/generate.js';
import { generate } from './queries/load.js';
import { benchQueries } from './queries/catalogue.js';

const args = benchArgs({
  calls: { full: String(DEFAULT_PARAMS.calls), smoke: '20000' },
  weeks: { full: String(DEFAULT_PARAMS.weeks), smoke: '5' },
  'snapshot-every-s': { full: String(DEFAULT_PARAMS.snapshotEveryS), smoke: '600' },
  runs: { full: '10', smoke: '1' },
  // A query whose warm-up shows it cannot do `runs` runs in this many seconds does fewer (at
  // least 3); its own `runs` says how many. Keeps a run of the whole catalogue bounded.
  'budget-s': { full: '90', smoke: '10' },
  // How long merges may take to settle before the queries run.
  'settle-s': { full: '120', smoke: '10' },
  only: { full: '', smoke: '' },
});
const { values } = args;
const RUNS = Number(values.runs);
if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error(`--runs: expected a whole number ≥ 1`);
const BUDGET_MS = Number(values['budget-s']) * 1000;
if (!(BUDGET_MS > 0)) throw new Error(`--budget-s: expected a number of seconds > 0`);
const SETTLE_MS = Number(values['settle-s']) * 1000;
if (!(SETTLE_MS >= 0)) throw new Error(`--settle-s: expected a number of seconds ≥ 0`);
const MIN_RUNS = Math.min(3, RUNS);
const params: GenerationParams = {
  ...DEFAULT_PARAMS,
  calls: Number(values.calls),
  // Customers scale with the calls: 1.5 M for 10 M calls.
  customers: Math.max(1000, Math.round((Number(values.calls) * 3) / 20)),
  weeks: Number(values.weeks),
  snapshotEveryS: Number(values['snapshot-every-s']),
};
if (!Number.isInteger(params.calls) || params.calls < 10_000)
  throw new Error(`--calls: expected a whole number ≥ 10000, got ${values.calls}`);
// The catalogue asks for the last month; the day it times is ten days before the end.
if (!Number.isInteger(params.weeks) || params.weeks < 5)
  throw new Error(`--weeks: expected a whole number ≥ 5, got ${values.weeks}`);
if (!Number.isInteger(params.snapshotEveryS) || params.snapshotEveryS < 1)
  throw new Error(
    `--snapshot-every-s: expected a whole number ≥ 1, got ${values['snapshot-every-s']}`,
  );

const DATABASE = 'ccfed';

/** What one query's runs came to. */
interface QueryResult {
  name: string;
  runs: number;
  median_ms: number;
  p95_ms: number;
  min_ms: number;
  max_ms: number;
  rows: number;
  /** From the server's own statistics (FORMAT JSON) of the last run. */
  server_elapsed_ms: number;
  rows_read: number;
  bytes_read: number;
  /** Why the server refused the query (in the warm-up or in run `runs` + 1), and how long that
   * attempt took; the timings are then null. */
  error?: string;
  failed_after_ms?: number;
  sql: string;
}

interface JsonAnswer {
  rows: number;
  data: unknown[];
  statistics?: { elapsed: number; rows_read: number; bytes_read: number };
}

await runBench('queries', args, async (run) => {
  // Full runs keep the generated year for the next run; a smoke run starts from nothing.
  const dataDir = run.smoke
    ? join(run.dir, 'clickhouse')
    : join(ROOT, '.ccfed', 'bench', 'queries');
  const server = await benchClickHouse(run, { dataDir });
  console.log(`ClickHouse 18.16 at ${server.url}, data in ${dataDir}`);

  // Every statement runs in DATABASE, except those that create or drop it: ClickHouse 18.16
  // refuses any request that names a database that does not exist, even DROP DATABASE IF EXISTS.
  // The bench loads and migrates as admin; the timed queries run as the users that run them in
  // production (the API's and Grafana's are read-only: docs/security.md, ClickHouse).
  const inDatabase =
    (request: (text: string, params: string) => Promise<string>) =>
    (text: string, settings?: string): Promise<string> =>
      request(text, `database=${DATABASE}${settings === undefined ? '' : `&${settings}`}`);
  const admin = benchClickHouseHttp(server, 'admin');
  const post = inDatabase(admin);
  const asGrafana = inDatabase(benchClickHouseHttp(server, 'grafana'));
  const asApi = inDatabase(benchClickHouseHttp(server, 'api'));
  const rows = async <T>(q: Sql): Promise<T[]> =>
    (JSON.parse(await post(`${q.text}\nFORMAT JSON`)) as { data: T[] }).data;

  const generation = await generate(
    {
      post,
      rows,
      migrate: () => migrate(server.as('admin'), DATABASE),
      dropDatabase: async () => {
        await admin(sql`DROP DATABASE IF EXISTS ${ident(DATABASE)}`.text, '');
      },
    },
    params,
  );

  // Merges may run while we measure (as in production); give them a moment to settle first.
  const settleUntil = Date.now() + SETTLE_MS;
  for (;;) {
    const [m] = await rows<{ merges: string }>(sql`SELECT count() AS merges FROM system.merges`);
    if (Number(m!.merges) === 0 || Date.now() > settleUntil) break;
    await new Promise((r) => setTimeout(r, 2000));
  }
  const parts = await rows<{ table: string; parts: string; rows: string }>(
    sql`SELECT table, count() AS parts, sum(rows) AS rows FROM system.parts
        WHERE database = ${DATABASE} AND active GROUP BY table ORDER BY table`,
  );

  const catalogue = await benchQueries({ rows, params });
  const selected = values.only ? catalogue.filter((q) => q.name.includes(values.only!)) : catalogue;
  const loadBefore = loadavg();
  const results: QueryResult[] = [];
  for (const q of selected) {
    const text = `${q.sql.text}\nFORMAT JSON`;
    let answer: JsonAnswer | undefined;
    let attemptStart = 0;
    const once = async (): Promise<number> => {
      const t0 = performance.now();
      attemptStart = t0;
      // Grafana's panels as Grafana's user, with the max_execution_time its plugin sends on every
      // query; the API's queries as the API's user.
      answer = JSON.parse(
        q.name.startsWith('dashboard ')
          ? await asGrafana(text, 'max_execution_time=600')
          : await asApi(text),
      ) as JsonAnswer;
      return performance.now() - t0;
    };
    const times: number[] = [];
    let runs = 0;
    try {
      const warmUp = await once();
      runs = Math.max(MIN_RUNS, Math.min(RUNS, Math.floor(BUDGET_MS / warmUp)));
      for (let i = 0; i < runs; i++) times.push(await once());
    } catch (e) {
      // A query the server refuses (e.g. over the memory limit) is a result, not the end of the run.
      const error = (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
      results.push({
        name: q.name,
        runs: times.length,
        median_ms: Number.NaN,
        p95_ms: Number.NaN,
        min_ms: Number.NaN,
        max_ms: Number.NaN,
        rows: 0,
        server_elapsed_ms: Number.NaN,
        rows_read: Number.NaN,
        bytes_read: Number.NaN,
        error,
        failed_after_ms: round(performance.now() - attemptStart),
        sql: q.sql.text.replace(/\s+/g, ' ').trim(),
      });
      console.log(`FAIL ${q.name} (after ${times.length} good runs): ${error}`);
      continue;
    }
    times.sort((a, b) => a - b);
    const r: QueryResult = {
      name: q.name,
      runs,
      median_ms: round(percentile(times, 50)),
      p95_ms: round(percentile(times, 95)),
      min_ms: round(times[0]!),
      max_ms: round(times.at(-1)!),
      rows: answer!.rows,
      server_elapsed_ms: round((answer!.statistics?.elapsed ?? Number.NaN) * 1000),
      rows_read: answer!.statistics?.rows_read ?? Number.NaN,
      bytes_read: answer!.statistics?.bytes_read ?? Number.NaN,
      sql: q.sql.text.replace(/\s+/g, ' ').trim(),
    };
    results.push(r);
    console.log(
      `${r.median_ms > 500 ? 'SLOW' : 'ok  '} ${q.name}: median ${r.median_ms} ms, p95 ${r.p95_ms} ms (${runs} runs), ${r.rows} rows, read ${r.rows_read} rows / ${Math.round(r.bytes_read / 1e6)} MB`,
    );
  }
  const loadAfter = loadavg();

  run.writeResult({
    calls: params.calls,
    target_ms: 500,
    runs_per_query: RUNS,
    queries: results,
    over_target: results
      .filter((r) => r.error !== undefined || r.median_ms > 500)
      .map((r) => r.name),
    failed: results.filter((r) => r.error !== undefined).map((r) => `${r.name}: ${r.error}`),
    generation,
    parts: parts.map((p) => ({ table: p.table, parts: Number(p.parts), rows: Number(p.rows) })),
    // Around the timed queries only; the run's metadata has it around the whole run.
    load: {
      before: loadBefore.map((x) => round(x)),
      after: loadAfter.map((x) => round(x)),
    },
    clickhouse: (await rows<{ v: string }>(sql`SELECT version() AS v`))[0]!.v,
  });
});
