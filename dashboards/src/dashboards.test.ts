import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { dateTimeLiteral, sql } from '@ccfed/common';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { withTimeMacros } from './analytics.js';
import { GENERATED_DIR, renderAll } from './build.js';
import { DASHBOARDS } from './dashboards.js';
import { expandMacros, variablesUsed } from './macros.js';
import {
  buildDashboard,
  CLICKHOUSE_DATASOURCE,
  DashboardSpecError,
  type ClickHouseQuery,
  type DashboardSpec,
  type PanelSpec,
} from './panel.js';

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(GENERATED_DIR, join(e.parentPath, e.name)))
    .sort();
}

describe('generated files', () => {
  it('are what the build produces now (run npm run dashboards:build when this fails)', async () => {
    const expected = await renderAll();
    expect(await listFiles(GENERATED_DIR)).toEqual([...expected.keys()].sort());
    for (const [path, text] of expected)
      expect(await readFile(join(GENERATED_DIR, path), 'utf8'), path).toBe(text);
  });

  it('provision the ClickHouse data source as the read-only Grafana user, its password from the environment', async () => {
    const files = await renderAll();
    const ds = parse(files.get('provisioning/datasources/ccfed-clickhouse.yaml')!);
    const source = ds.datasources[0];
    expect(source).toMatchObject({
      uid: CLICKHOUSE_DATASOURCE.uid,
      type: 'grafana-clickhouse-datasource',
      jsonData: {
        protocol: 'http',
        port: 8123,
        defaultDatabase: 'ccfed',
        username: 'ccfed_grafana',
      },
      secureJsonData: { password: '$CCFED_CLICKHOUSE_PASSWORD' },
    });
    expect(source.jsonData.password).toBeUndefined();
    const providers = parse(files.get('provisioning/dashboards/ccfed.yaml')!).providers;
    expect(providers).toMatchObject([{ type: 'file', options: { path: expect.any(String) } }]);
  });
});

describe('dashboards', () => {
  const built: [DashboardSpec, dashboard.Dashboard][] = DASHBOARDS.map((s) => [
    s,
    buildDashboard(s),
  ]);

  it("are the four of issue 6 and issue 21's staffing, with distinct uids", () => {
    expect(built.map(([, d]) => d.uid)).toEqual([
      'ccfed-overview',
      'ccfed-site',
      'ccfed-agents',
      'ccfed-analytics',
      'ccfed-staffing',
    ]);
  });

  it.each(built.map(([s, d]) => [s.uid, s, d] as const))(
    '%s: every panel reads ClickHouse with its own SQL, ids unique',
    (_uid, spec, dash) => {
      const panels = dash.panels as dashboard.Panel[];
      expect(panels).toHaveLength(spec.panels.length);
      expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
      panels.forEach((panel, i) => {
        const want = spec.panels[i]!;
        expect(panel.datasource).toEqual(CLICKHOUSE_DATASOURCE);
        expect(panel.targets).toHaveLength(1);
        const target = panel.targets![0] as ClickHouseQuery;
        expect(target.datasource).toEqual(CLICKHOUSE_DATASOURCE);
        expect(target.editorType).toBe('sql');
        expect(target.rawSql).toBe(want.sql);
        expect(target.rawSql.trim()).not.toBe('');
        const timeSeries = want.visual === 'timeseries';
        expect([target.format, target.queryType]).toEqual(
          timeSeries ? [0, 'timeseries'] : [1, 'table'],
        );
        // Every panel follows the dashboard's time range.
        expect(want.sql).toMatch(/\$__(fromTime|toTime|timeFilter)/);
        const { x, y, w, h } = panel.gridPos!;
        expect(x + w).toBeLessThanOrEqual(24);
        expect(y).toBeGreaterThanOrEqual(0);
        expect(h).toBeGreaterThan(0);
      });
      // The JSON Grafana reads has the same content (the cog marker method drops out).
      const json = JSON.parse(JSON.stringify(dash)) as dashboard.Dashboard;
      expect((json.panels as dashboard.Panel[]).map((p) => p.targets![0])).toEqual(
        panels.map((p) => {
          const { _implementsDataqueryVariant: _, ...rest } = p.targets![0] as ClickHouseQuery;
          return rest;
        }),
      );
      expect(json.annotations?.list).toHaveLength(1);
      for (const v of spec.variables)
        expect(json.templating?.list?.find((t) => t.name === v.name)).toMatchObject({
          type: 'query',
          datasource: CLICKHOUSE_DATASOURCE,
          query: v.sql,
        });
    },
  );
});

describe('buildDashboard refuses a description that cannot work', () => {
  const panel: PanelSpec = {
    key: 'p',
    title: 'P',
    description: 'p',
    visual: 'table',
    sql: 'SELECT site_id FROM call_rollup_15m WHERE bucket >= $__fromTime AND site_id = ${site:singlequote}',
    columns: [['site_id', 'string']],
    width: 12,
    height: 4,
  };
  const spec: DashboardSpec = {
    uid: 'test',
    title: 'Test',
    description: '',
    tags: [],
    from: 'now-1h',
    to: 'now',
    refresh: '',
    variables: [{ name: 'site', label: 'Site', sql: 'SELECT 1' }],
    panels: [panel],
  };
  const refused = (s: DashboardSpec, message: RegExp) =>
    expect(() => buildDashboard(s)).toThrow(
      expect.objectContaining({
        name: DashboardSpecError.name,
        message: expect.stringMatching(message),
      }),
    );

  it('builds the valid one', () => {
    expect(buildDashboard(spec).panels).toHaveLength(1);
  });
  it('empty SQL', () => {
    refused({ ...spec, panels: [{ ...panel, sql: '  \n' }] }, /panel p: the SQL is empty/);
  });
  it('a variable the dashboard does not declare', () => {
    refused(
      { ...spec, variables: [] },
      /panel p: the SQL uses \$site, which is not a variable of the dashboard \(declared: none\)/,
    );
  });
  it('a bad variable name', () => {
    refused(
      { ...spec, variables: [{ name: 'Site Name', label: 'x', sql: 'SELECT 1' }] },
      /variable name "Site Name" is not valid/,
    );
  });
  it('a variable without a query', () => {
    refused(
      { ...spec, variables: [{ name: 'site', label: 'x', sql: '' }] },
      /variable site has an empty query/,
    );
  });
  it('a macro the plugin does not have', () => {
    refused(
      { ...spec, panels: [{ ...panel, sql: 'SELECT $__timeGroup(bucket, 1h)' }] },
      /\$__timeGroup is not a macro/,
    );
  });
  it('two panels with one key', () => {
    refused({ ...spec, panels: [panel, panel] }, /panel key p used twice/);
  });
  it('a time series without its time column first', () => {
    refused(
      { ...spec, panels: [{ ...panel, visual: 'timeseries' }] },
      /a time series needs exactly one time column, first/,
    );
  });
});

describe('expandMacros, as Grafana and the ClickHouse plugin expand a panel', () => {
  const from = new Date('2026-03-02T09:00:00.700Z');
  const to = new Date('2026-03-02T10:00:00Z');
  const f = Math.floor(from.getTime() / 1000);
  const t = to.getTime() / 1000;

  it('time macros: seconds, $__timeFilter inclusive at both ends', () => {
    expect(
      expandMacros('WHERE $__timeFilter( event_time ) AND b >= $__fromTime AND b < $__toTime', {
        from,
        to,
      }),
    ).toBe(
      `WHERE event_time >= toDateTime(${f}) AND event_time <= toDateTime(${t}) AND b >= toDateTime(${f}) AND b < toDateTime(${t})`,
    );
    expect(expandMacros('$__dateFilter(event_date)', { from, to })).toBe(
      "event_date >= toDate('2026-03-02') AND event_date <= toDate('2026-03-02')",
    );
  });

  it('variables: raw, braced, single-quoted (escaped), several values', () => {
    const variables = { site: "o'b", sites: ['a', 'b'] };
    expect(
      expandMacros('$site ${site} [[site]] ${site:singlequote} (${sites:singlequote})', {
        from,
        to,
        variables,
      }),
    ).toBe("o'b o'b o'b 'o\\'b' ('a','b')");
    expect(variablesUsed('$site ${x:singlequote} [[y]] $__fromTime')).toEqual(['site', 'x', 'y']);
  });

  it('refuses what Grafana could not expand', () => {
    expect(() => expandMacros('$site', { from, to })).toThrow(/no value for variable site/);
    expect(() => expandMacros('$__timeInterval(t)', { from, to })).toThrow(
      /\$__timeInterval is not a supported macro/,
    );
    expect(() => expandMacros('$__timeFilter(a, b)', { from, to })).toThrow(
      /\$__timeFilter expects 1 argument\(s\), got 2/,
    );
    expect(() => expandMacros('$__timeFilter(a', { from, to })).toThrow(/no closing bracket/);
    expect(() => expandMacros('${site:csv}', { from, to, variables: { site: 'a' } })).toThrow(
      /format csv is not supported/,
    );
    expect(() => expandMacros('$__fromTime', { from: to, to: from })).toThrow(/from is after to/);
  });
});

describe('withTimeMacros', () => {
  const d = new Date('2000-01-10T00:00:00Z');
  it('replaces each sentinel date and refuses a missing or leftover one', () => {
    expect(withTimeMacros('q', sql`SELECT ${d}`, [[d, '$__fromTime']])).toBe('SELECT $__fromTime');
    expect(() => withTimeMacros('q', sql`SELECT 1`, [[d, '$__fromTime']])).toThrow(
      `q: the query no longer contains ${dateTimeLiteral(d)}`,
    );
    expect(() => withTimeMacros('q', sql`SELECT ${d}, ${new Date(0)}`, [[d, 'x']])).toThrow(
      /q: a date of the query was not replaced by a macro/,
    );
  });
});
