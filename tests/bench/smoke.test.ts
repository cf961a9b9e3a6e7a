// Every benchmark runs from a clean state: each `bench:<name>` script in package.json, run as a
// user would (`npm run bench:<name> -- --smoke`), in a new process with an empty work directory
// and nothing left from earlier runs. It must finish, write a result with the run's metadata
// and every figure the README's table reads (bench/results-table.ts), leave no directory or
// process behind, and not touch bench/results/. A new benchmark script is picked up here by
// itself: one that has no smoke mode, or no figures in the table, fails.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { FIGURES, figuresOf } from '../../bench/results-table.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const scripts = (
  JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  }
).scripts;
/**
 * The smoke runs, longest first (by their times on CI): two at a time, the file ends when the
 * last run does, so the short runs go last, where they fill the gaps the long ones leave instead
 * of the longest starting last (package.json's order started analytics and desktop last).
 * A benchmark not listed here starts first: its time is not known.
 */
const LONGEST_FIRST = [
  'media',
  'analytics',
  'desktop',
  'router',
  'sip',
  'ingest',
  'queries',
  'routing',
  'dialer',
];
const rank = (name: string) => LONGEST_FIRST.indexOf(name);
// bench:table writes the README from the results; it measures nothing.
const BENCHES = Object.keys(scripts)
  .filter((s) => s.startsWith('bench:') && s !== 'bench:table')
  .map((s) => s.slice('bench:'.length))
  .sort((a, b) => rank(a) - rank(b));

/** A smoke run may take this long on a loaded two-core machine; the quiet-machine time is a
 * fraction of it (each test logs its own). */
const SMOKE_TIMEOUT_MS = 240_000;

/** The parts of the smoke results the checks below read. */
interface SmokeResult {
  readonly run: unknown;
  readonly steps?: readonly { readonly failed: number; readonly passed?: boolean }[];
  readonly first_ringback_ms?: { readonly samples: number; readonly without_182: number };
  readonly setup?: {
    readonly decisions_answered?: number;
    readonly route_decisions_published?: number;
    readonly calls?: number;
  };
  readonly scenarios?: readonly unknown[];
  readonly runs?: readonly { readonly mode: string; readonly connected: number }[];
  readonly callbacks?: { readonly with: Readonly<Record<string, unknown>> };
  readonly pair?: boolean;
  readonly failover_ms?: { readonly median: number; readonly runs: readonly unknown[] };
  readonly hang_failover_ms?: { readonly median: number; readonly runs: readonly unknown[] };
  readonly clients?: Readonly<Record<string, unknown>>;
  readonly generation?: { readonly reused: boolean };
  readonly failed?: readonly string[];
  readonly pop_ms?: { readonly samples: number; readonly max: number };
  readonly story?: { readonly pops: number; readonly with_earlier_contacts: number };
}

/** What each smoke result must show beyond its figures: the run did what it measures. */
const EXPECT: Record<string, (r: SmokeResult) => void> = {
  // The lowest rate is far below what a site takes: every call answered.
  sip: (r) => expect(r.steps?.[0]?.failed).toBe(0),
  // A handful of calls is far below what a site holds: the first step passed (no failed call,
  // loss under 1 %), and every queued caller heard ringback.
  media: (r) => {
    expect(r.steps?.[0]).toMatchObject({ failed: 0, passed: true });
    expect(r.first_ringback_ms).toMatchObject({ samples: expect.any(Number), without_182: 0 });
    expect(r.first_ringback_ms!.samples).toBeGreaterThan(0);
  },
  // Every answered decision reached the route-decisions topic, and the pair failed over once.
  router: (r) => {
    expect(r.setup?.decisions_answered).toBeGreaterThan(0);
    expect(r.setup?.route_decisions_published).toBeGreaterThanOrEqual(r.setup!.decisions_answered!);
    expect(r.pair).toBe(true);
    expect(r.failover_ms?.runs).toHaveLength(1);
    expect(r.failover_ms!.median).toBeGreaterThan(0);
    expect(r.hang_failover_ms?.runs).toHaveLength(1);
  },
  // Both scenarios, and the surge scenario with callbacks in every mode.
  routing: (r) => {
    expect(r.scenarios).toHaveLength(2);
    expect(Object.keys(r.callbacks?.with ?? {})).toEqual([
      'isolated',
      'federated_at_chosen_site',
      'federated_anywhere',
      'pooled',
    ]);
  },
  // Both modes paced the same campaign, and each put customers through to agents.
  dialer: (r) => {
    expect(r.runs?.map((x) => x.mode)).toEqual(['progressive', 'predictive']);
    for (const x of r.runs!) expect(x.connected).toBeGreaterThan(0);
  },
  // The bench itself fails unless every event landed exactly once, for each client.
  ingest: (r) => expect(Object.keys(r.clients ?? {}).length).toBeGreaterThan(1),
  // A fresh server: the generation ran from nothing (no database yet), and every query answered.
  queries: (r) => {
    expect(r.generation?.reused).toBe(false);
    expect(r.failed).toEqual([]);
  },
  // Every call placed popped on the desktop page and was rendered, each with the customer's
  // earlier contacts from ClickHouse (every caller's customer has a seeded history).
  desktop: (r) => {
    expect(r.setup?.calls).toBeGreaterThan(0);
    expect(r.pop_ms?.samples).toBe(r.setup!.calls);
    expect(r.pop_ms!.max).toBeGreaterThan(0);
    expect(r.story).toEqual({ pops: r.setup!.calls, with_earlier_contacts: r.setup!.calls });
  },
};

/** Processes whose environment names `dir`: whatever the benchmark started and left running. */
function processesUnder(dir: string): string[] {
  const marker = `BENCH_WORK_ROOT=${dir}\0`;
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid)
    .flatMap((pid) => {
      try {
        if (!readFileSync(`/proc/${pid}/environ`, 'latin1').includes(marker)) return [];
        return [`${pid} ${readFileSync(`/proc/${pid}/cmdline`, 'latin1').replace(/\0/g, ' ')}`];
      } catch {
        return []; // gone meanwhile
      }
    });
}

/** Runs `npm run bench:<name> -- --smoke`; stops the whole group if it outlives the timeout. */
function smoke(name: string, env: Record<string, string>) {
  const child = spawn('npm', ['run', '--silent', `bench:${name}`, '--', '--smoke'], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const timer = setTimeout(() => {
    // SIGINT first: the harness stops its engines on it.
    process.kill(-child.pid!, 'SIGINT');
    setTimeout(() => child.exitCode === null && process.kill(-child.pid!, 'SIGKILL'), 20_000);
  }, SMOKE_TIMEOUT_MS - 25_000);
  return new Promise<{ code: number | null; output: string }>((resolve) =>
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    }),
  );
}

const committed = (name: string) => {
  const file = join(ROOT, 'bench', 'results', `${name}.json`);
  return existsSync(file) ? readFileSync(file, 'utf8') : null;
};

describe('every benchmark in smoke mode, from a clean state', () => {
  it('finds the benchmarks, each with figures in the README table', () => {
    expect(BENCHES).toEqual(expect.arrayContaining(['sip', 'router', 'routing', 'ingest']));
    expect(BENCHES).toContain('queries');
    for (const name of BENCHES) expect(Object.keys(FIGURES)).toContain(name);
  });

  // Two at a time (the integration project's maxConcurrency): each benchmark is its own process
  // tree with its own engines, work directory and ports, and a smoke run measures nothing.
  for (const name of BENCHES) {
    it.concurrent(
      `npm run bench:${name} -- --smoke`,
      async () => {
        const root = join(inject('runDir'), 'bench-smoke', name);
        const work = join(root, 'work');
        const results = join(root, 'results');
        mkdirSync(work, { recursive: true });
        const before = committed(name);
        const started = Date.now();

        const { code, output } = await smoke(name, {
          BENCH_WORK_ROOT: work,
          BENCH_SMOKE_RESULTS: results,
        });
        const seconds = Math.round((Date.now() - started) / 100) / 10;
        console.log(`bench:${name} smoke run: ${seconds} s, exit ${code}`);
        expect(code, `bench:${name} --smoke failed:\n${output.slice(-6000)}`).toBe(0);

        const result = JSON.parse(
          readFileSync(join(results, `${name}.json`), 'utf8'),
        ) as SmokeResult;
        expect(result.run).toMatchObject({
          bench: name,
          smoke: true,
          commit: { sha: expect.stringMatching(/^[0-9a-f]{40}$/), dirty: expect.any(Boolean) },
          machine: {
            cpu_model: expect.any(String),
            cores: expect.any(Number),
            memory_gib: expect.any(Number),
            os: expect.any(String),
          },
          load_average: {
            start: [expect.any(Number), expect.any(Number), expect.any(Number)],
            end: [expect.any(Number), expect.any(Number), expect.any(Number)],
          },
          started_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
          finished_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        });
        // Every figure the README's table shows is in the result, as a number.
        expect(figuresOf(name, result).length).toBeGreaterThan(0);
        EXPECT[name]?.(result);

        // Nothing left behind, and no real result overwritten by smoke figures.
        expect(readdirSync(work)).toEqual([]);
        expect(processesUnder(work)).toEqual([]);
        expect(committed(name)).toBe(before);
      },
      SMOKE_TIMEOUT_MS,
    );
  }
});
