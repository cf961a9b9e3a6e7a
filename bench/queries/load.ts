// Fills the benchmark database once: every raw table in bounded chunks (one INSERT … SELECT per
// chunk, progress and time printed), then the scheduled jobs the API reads from: the cross-sell
// refresh and the churn scoring run (their seconds are the jobs' timings). Each finished step is
// recorded in bench_generation with the parameters and a digest of the migrations. Data generated
// under the same parameters and under the migrations as they were then is reused: migrations
// added since are applied to it (with their own backfills, as an upgrade in production would),
// and the steps it lacks are run when they are safe to repeat. Anything else (other parameters,
// an applied migration changed, a data step cut short) is generated anew.
import { createHash } from 'node:crypto';
import { sql, type Sql } from '@ccfed/common';
import { readMigrations, type Migration } from '@ccfed/services';
import { DEFAULT_KEEP_RUNS, runChurnScoring } from '@ccfed/analytics/churn-scoring';
import { refreshCrossSellRulesQuery } from '@ccfed/analytics/cross-sell';
import {
  agentEventsInsert,
  callEventsInsert,
  crmEventsInsert,
  routeDecisionsInsert,
  siteSnapshotsInsert,
  snapshotTicks,
  surveysInsert,
  type GenerationParams,
} from './generate.js';

export interface LoadDeps {
  /** Sends one statement; `settings` are extra URL parameters (e.g. max_memory_usage=…). */
  post(text: string, settings?: string): Promise<string>;
  rows<T>(q: Sql): Promise<T[]>;
  /** Applies the migrations the database has not had yet (every one to an empty database), and
   * creates the database first when there is none. */
  migrate(): Promise<unknown>;
  /** Drops the database if there is one. */
  dropDatabase(): Promise<void>;
}

type Recorded = { params: string; step: string; chunks: number; seconds: number };

/** What bench_generation records: nothing when the database or the table is not there yet. */
async function recordedSteps(deps: LoadDeps): Promise<Recorded[]> {
  try {
    return await deps.rows<Recorded>(
      sql`SELECT params, step, chunks, seconds FROM bench_generation`,
    );
  } catch (e) {
    // 81: unknown database (a new server), 60: unknown table. Anything else is a real failure.
    if (e instanceof Error && /\bCode: (81|60)\b/.test(e.message)) return [];
    throw e;
  }
}

export interface GenerationReport {
  reused: boolean;
  params: GenerationParams;
  /** Seconds per step, as recorded by the run(s) that generated the data. */
  steps: { step: string; chunks: number; seconds: number }[];
  total_s: number;
}

const CALL_CHUNK = 1_000_000;
const CUSTOMER_CHUNK = 500_000;
const AGENT_DAYS_CHUNK = 28;
const SNAPSHOT_TICKS_CHUNK = 100_000;

/** The end of the generated year, unix seconds: "now" for live status and churn. */
export function dataEnd(p: GenerationParams): number {
  return p.start + p.weeks * 7 * 86400;
}

/** A digest of the migrations' SQL (by default every migration), recorded with the data. */
export function schemaDigest(migrations: readonly Migration[] = readMigrations()): string {
  const text = migrations.map((m) => `${m.version}\n${m.statements.join('\n')}`).join('\n');
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/**
 * The digests of data that today's schema can be brought to by applying the migrations added
 * since: those of the first k of `migrations`, for every k.
 */
export function upgradableDigests(migrations: readonly Migration[]): Set<string> {
  return new Set(migrations.map((_, i) => schemaDigest(migrations.slice(0, i + 1))));
}

type Step = {
  readonly step: string;
  readonly total: number;
  readonly size: number;
  /** Safe to run again over a database that has part of it: only such steps are resumed. */
  readonly idempotent: boolean;
  /** Query settings (URL parameters) the step needs beyond the server's defaults. */
  readonly settings?: string;
} & (
  | { readonly insert: (first: number, count: number) => Sql[] }
  /** A production job that decides its own statements, run as it runs in production. */
  | { readonly job: (deps: LoadDeps) => Promise<void> }
);

function steps(p: GenerationParams): Step[] {
  return [
    {
      step: 'calls (call_events, surveys, route_decisions)',
      total: p.calls,
      size: CALL_CHUNK,
      idempotent: false,
      insert: (f, c) => [
        callEventsInsert(p, f, c),
        surveysInsert(p, f, c),
        routeDecisionsInsert(p, f, c),
      ],
    },
    {
      step: 'agent_events (days)',
      total: p.weeks * 7,
      size: AGENT_DAYS_CHUNK,
      idempotent: false,
      insert: (f, c) => [agentEventsInsert(p, f, c)],
    },
    {
      step: 'crm_events (customers)',
      total: p.customers,
      size: CUSTOMER_CHUNK,
      idempotent: false,
      insert: (f, c) => [crmEventsInsert(p, f, c)],
    },
    {
      step: 'site_snapshots (ticks)',
      total: snapshotTicks(p),
      size: SNAPSHOT_TICKS_CHUNK,
      idempotent: false,
      insert: (f, c) => [siteSnapshotsInsert(p, f, c)],
    },
    {
      // The nightly job the next best offer reads from. Idempotent: the same computed_at again
      // replaces its own rows. At 1.5 M customers it needs more than the 4 GB the launcher's
      // profile allows a query (see the report), so the job gets 12 GB here.
      step: 'cross_sell_rules refresh',
      total: 1,
      size: 1,
      idempotent: true,
      insert: () => [refreshCrossSellRulesQuery({ computedAt: new Date(dataEnd(p) * 1000) })],
      settings: 'max_memory_usage=12000000000',
    },
    {
      // The scheduled churn scoring the call-back list reads (score-churn-cli's runChurnScoring),
      // as of the end of the year, within the 4 GB a query may use. Idempotent: scoring the same
      // time again replaces that run.
      step: 'churn scoring run',
      total: 1,
      size: 1,
      idempotent: true,
      job: async (deps) => {
        await runChurnScoring(
          {
            command: async (q) => {
              await deps.post(q.text);
            },
            rows: (q) => deps.rows(q),
          },
          { scoredAt: new Date(dataEnd(p) * 1000), keep: DEFAULT_KEEP_RUNS },
        );
      },
    },
  ];
}

/**
 * Generates what the database lacks for `p`: nothing when every step is recorded as done under
 * the same parameters and schema, the remaining steps when those are all safe to run again,
 * else everything from an empty database.
 */
export async function generate(deps: LoadDeps, p: GenerationParams): Promise<GenerationReport> {
  const migrations = readMigrations();
  const marker = JSON.stringify({ ...p, schema: schemaDigest(migrations) });
  const upgradable = upgradableDigests(migrations);
  // Steps recorded under these parameters and a schema today's migrations extend.
  const done = (await recordedSteps(deps)).filter((r) => {
    const { schema, ...params } = JSON.parse(r.params) as { schema: string };
    return JSON.stringify(params) === JSON.stringify(p) && upgradable.has(schema);
  });
  // Migrations added since the data was generated (none when it is current).
  if (done.length > 0) {
    const t0 = performance.now();
    const applied = await deps.migrate();
    if (Array.isArray(applied) && applied.length > 0)
      console.log(
        `applied migrations ${applied.join(', ')} to the generated data in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
      );
  }
  const all = steps(p);
  const missing = all.filter((s) => !done.some((d) => d.step === s.step));
  const recorded = () =>
    all.flatMap((s) => {
      const d = done.find((x) => x.step === s.step);
      return d ? [{ step: s.step, chunks: Number(d.chunks), seconds: Number(d.seconds) }] : [];
    });
  if (missing.length === 0) {
    console.log(`reusing the generated data (${marker})`);
    const list = recorded();
    const total_s = Math.round(list.reduce((a, s) => a + s.seconds, 0) * 10) / 10;
    return { reused: true, params: p, steps: list, total_s };
  }
  if (missing.every((s) => s.idempotent) && done.length > 0) {
    console.log(`resuming the generation at ${missing[0]!.step} (${marker})`);
  } else {
    console.log(`generating ${p.calls} calls from scratch (${marker})`);
    done.length = 0;
    await deps.dropDatabase();
    await deps.migrate();
    await deps.post(
      'CREATE TABLE bench_generation (params String, step String, chunks UInt32, seconds Float64, finished_at DateTime) ENGINE = TinyLog',
    );
  }

  for (const s of all.filter((x) => !done.some((d) => d.step === x.step))) {
    const t0 = performance.now();
    let chunks = 0;
    for (let first = 0; first < s.total; first += s.size) {
      const count = Math.min(s.size, s.total - first);
      const c0 = performance.now();
      if ('job' in s) await s.job(deps);
      else for (const q of s.insert(first, count)) await deps.post(q.text, s.settings);
      chunks += 1;
      console.log(
        `  ${s.step}: ${first + count} of ${s.total} in ${((performance.now() - c0) / 1000).toFixed(1)} s`,
      );
    }
    const seconds = Math.round((performance.now() - t0) / 100) / 10;
    console.log(`${s.step}: ${seconds} s`);
    await deps.post(
      sql`INSERT INTO bench_generation (params, step, chunks, seconds, finished_at) SELECT ${marker}, ${s.step}, ${chunks}, ${seconds}, now()`
        .text,
    );
    done.push({ params: marker, step: s.step, chunks, seconds });
  }
  const list = recorded();
  const total_s = Math.round(list.reduce((a, s) => a + s.seconds, 0) * 10) / 10;
  console.log(`generated in ${total_s} s`);
  return { reused: false, params: p, steps: list, total_s };
}
