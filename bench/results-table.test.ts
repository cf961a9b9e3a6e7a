// The README's benchmark figures are the committed results: the table between the markers must be
// exactly what `npm run bench:table` writes from bench/results/*.json.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  END_MARKER,
  figuresOf,
  measuredWhere,
  readResults,
  renderTable,
  START_MARKER,
  withTable,
} from './results-table.js';

const ROOT = new URL('..', import.meta.url).pathname;
const readme = () => readFileSync(`${ROOT}README.md`, 'utf8');
const results = () => readResults(`${ROOT}bench/results`);

describe('the README benchmark table', () => {
  it('is what bench:table generates from the committed results (run npm run bench:table)', () => {
    const text = readme();
    const section = text.slice(
      text.indexOf(START_MARKER),
      text.indexOf(END_MARKER) + END_MARKER.length,
    );
    expect(section).toBe(renderTable(results()));
  });

  it('shows every results file, whose large figures no prose in README.md or docs/ repeats', () => {
    const all = results();
    expect([...all.keys()].sort()).toEqual([
      'analytics',
      'desktop',
      'dialer',
      'ingest',
      'media',
      'queries',
      'router',
      'routing',
      'sip',
    ]);
    const section = renderTable(all);
    const prose = [
      withTable(readme(), ''),
      ...readdirSync(`${ROOT}docs`).map((f) => readFileSync(`${ROOT}docs/${f}`, 'utf8')),
    ].join('\n');
    for (const [name, result] of all) {
      expect(section).toContain(`\`bench/results/${name}.json\``);
      // A figure written out again outside the table (as 64,392 events/s was) would drift from
      // the JSON. Only figures of five digits or more: smaller ones recur by chance.
      for (const f of figuresOf(name, result))
        for (const figure of f.measured.match(/\d{2,3}(?:,\d{3})+/g) ?? [])
          expect(prose.includes(figure), `${figure} (${f.what}) written out in prose`).toBe(false);
    }
  });
});

describe('renderTable', () => {
  const ingest = () => structuredClone(results().get('ingest')) as Record<string, unknown>;

  it('refuses a result that lacks a figure, naming the file and the field', () => {
    const broken = ingest();
    delete broken.freshness_ms;
    expect(() => renderTable(new Map([['ingest', broken]]))).toThrow(
      'bench/results/ingest.json: no freshness_ms.p50',
    );
  });

  it("shows the router pair's failover against its target, and refuses a pair result without it", () => {
    const router = structuredClone(results().get('router')) as Record<string, unknown>;
    const pair = {
      ...router,
      pair: true,
      setup: { ...(router.setup as object), hedge_after_ms: 50, request_deadline_ms: 200 },
      failover_ms: { median: 12.34, max: 230.5, runs: [{}, {}, {}, {}, {}] },
      hang_failover_ms: { median: 55.4, max: 61, runs: [{}, {}, {}, {}, {}] },
    };
    expect(figuresOf('router', pair).at(-1)).toEqual({
      what: 'router failover: one router hung (SIGSTOP) → first answer from the other, median / max of 5 runs',
      measured: '55.4 / 61.0 ms',
      target: '< 200 ms',
    });
    expect(figuresOf('router', pair).at(-2)).toEqual({
      what: "router failover: one router killed → first answer from the other (site agent's client, hedge 50 ms), median / max of 5 runs",
      measured: '12.3 / 231 ms',
      target: 'median < 1,000 ms',
    });
    expect(figuresOf('router', pair).map((f) => f.target)).toEqual([
      '≥ 1,000',
      'p99 < 10 ms',
      'median < 1,000 ms',
      '< 200 ms',
    ]);
    delete (pair as Record<string, unknown>).failover_ms;
    expect(() => renderTable(new Map([['router', pair]]))).toThrow(
      'bench/results/router.json: no failover_ms.runs',
    );
  });

  it('refuses a results file whose benchmark has no figures defined', () => {
    expect(() => renderTable(new Map([['nosuch', {}]]))).toThrow(
      'no figures for "nosuch" in bench/results-table.ts FIGURES',
    );
  });

  it('says where a run was measured from its metadata, uncommitted changes included', () => {
    const r = {
      run: {
        commit: { sha: '0123456789abcdef0123456789abcdef01234567', dirty: true },
        machine: { cores: 2, cpu_model: 'AMD EPYC', memory_gib: 23.5, os: 'Debian 12' },
        load_average: { start: [1.5, 1, 1], end: [2.25, 1, 1] },
        finished_at: '2026-12-01T10:20:30.000Z',
      },
    };
    expect(measuredWhere(r)).toEqual({
      when: '2026-12-01 10:20 UTC',
      commit: '0123456789 + uncommitted changes',
      machine: '2 × AMD EPYC, 23.5 GiB, Debian 12',
      load: '1.5 → 2.25',
    });
  });

  it('replaces only the text between the markers, and refuses a file without them', () => {
    const text = `before\n${START_MARKER}\nold\n${END_MARKER}\nafter\n`;
    expect(withTable(text, 'NEW')).toBe('before\nNEW\nafter\n');
    expect(() => withTable('no markers here', 'NEW')).toThrow('no generated section');
  });
});
