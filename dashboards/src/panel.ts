// One dashboard = a title, its variables and its panels, each panel one SQL query over the
// ClickHouse rollups. This module turns that description into a Grafana dashboard model with the
// Foundation SDK's builders, and refuses a description Grafana would show broken: empty SQL, a
// variable the dashboard does not declare, a macro the ClickHouse plugin does not have, a
// duplicate panel.
import * as barchart from '@grafana/grafana-foundation-sdk/barchart';
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import { macrosUsed, SUPPORTED_MACROS, variablesUsed } from './macros.js';

/** The provisioned ClickHouse data source every panel reads (see provisioning.ts). */
export const CLICKHOUSE_DATASOURCE = {
  type: 'grafana-clickhouse-datasource',
  uid: 'ccfed-clickhouse',
} as const satisfies common.DataSourceRef;

/** The plugin version the query model below is written for (its v4 SQL-editor query). */
export const CLICKHOUSE_PLUGIN_VERSION = '4.0.0';

/** What a column of a panel's result holds: tests check each against the real server. */
export type ColumnKind = 'string' | 'number' | 'time';

/** A result column: name, kind, and optionally the Grafana unit it is shown in. */
export type ColumnSpec =
  | readonly [name: string, kind: ColumnKind]
  | readonly [name: string, kind: ColumnKind, unit: string];

export interface PanelSpec {
  /** Unique within the dashboard; also the test's name for the panel. */
  readonly key: string;
  readonly title: string;
  readonly description: string;
  readonly visual: 'table' | 'timeseries' | 'stat' | 'barchart';
  /** The SQL as Grafana stores it: macros and variables unexpanded. */
  readonly sql: string;
  /** The result's columns, in order. A time series has exactly one 'time' column, first. */
  readonly columns: readonly ColumnSpec[];
  /** Grid size; panels flow left to right, top to bottom. */
  readonly width: number;
  readonly height: number;
}

export interface VariableSpec {
  readonly name: string;
  readonly label: string;
  /** SQL returning one column of values; may use the time-range macros. */
  readonly sql: string;
  readonly multi?: boolean;
}

export interface DashboardSpec {
  readonly uid: string;
  readonly title: string;
  readonly description: string;
  readonly tags: readonly string[];
  /** Default time range, Grafana syntax (e.g. now/d). */
  readonly from: string;
  readonly to: string;
  readonly refresh: string;
  readonly variables: readonly VariableSpec[];
  readonly panels: readonly PanelSpec[];
}

/** A dashboard description that cannot make a working dashboard; the message says why. */
export class DashboardSpecError extends Error {
  override readonly name = 'DashboardSpecError';
}

const NAME = /^[a-z][a-z0-9_]{0,39}$/;

/** A ClickHouse SQL-editor query of the grafana-clickhouse-datasource plugin. */
export interface ClickHouseQuery extends cog.Dataquery {
  refId: string;
  datasource: common.DataSourceRef;
  pluginVersion: string;
  editorType: 'sql';
  /** 'table' with format 1, 'timeseries' with format 0 (the plugin's own pairing). */
  queryType: 'table' | 'timeseries';
  format: 0 | 1;
  rawSql: string;
}

/** Builds the plugin's query model for one panel. */
export class ClickHouseQueryBuilder implements cog.Builder<ClickHouseQuery> {
  constructor(
    private readonly rawSql: string,
    private readonly timeSeries: boolean,
    private readonly refId = 'A',
  ) {}

  build(): ClickHouseQuery {
    return {
      refId: this.refId,
      datasource: { ...CLICKHOUSE_DATASOURCE },
      pluginVersion: CLICKHOUSE_PLUGIN_VERSION,
      editorType: 'sql',
      queryType: this.timeSeries ? 'timeseries' : 'table',
      format: this.timeSeries ? 0 : 1,
      rawSql: this.rawSql,
      // cog's marker that this object is a data query; dropped by JSON.stringify.
      _implementsDataqueryVariant() {},
    };
  }
}

function checkVariable(dash: string, v: VariableSpec): void {
  if (!NAME.test(v.name))
    throw new DashboardSpecError(
      `dashboard ${dash}: variable name ${JSON.stringify(v.name)} is not valid (expected lowercase letters, digits and _, starting with a letter)`,
    );
  if (v.sql.trim() === '')
    throw new DashboardSpecError(`dashboard ${dash}: variable ${v.name} has an empty query`);
}

function checkSql(where: string, sql: string, declared: readonly string[]): void {
  if (sql.trim() === '') throw new DashboardSpecError(`${where}: the SQL is empty`);
  for (const name of variablesUsed(sql))
    if (!declared.includes(name))
      throw new DashboardSpecError(
        `${where}: the SQL uses $${name}, which is not a variable of the dashboard (declared: ${declared.join(', ') || 'none'})`,
      );
  for (const macro of macrosUsed(sql))
    if (!(SUPPORTED_MACROS as readonly string[]).includes(macro))
      throw new DashboardSpecError(
        `${where}: $__${macro} is not a macro of the ClickHouse plugin that the dashboards use (expected one of ${SUPPORTED_MACROS.join(', ')})`,
      );
}

function checkPanel(dash: string, p: PanelSpec, declared: readonly string[]): void {
  const where = `dashboard ${dash}, panel ${p.key}`;
  if (!NAME.test(p.key)) throw new DashboardSpecError(`${where}: the key is not a valid name`);
  checkSql(where, p.sql, declared);
  if (p.columns.length === 0) throw new DashboardSpecError(`${where}: no columns declared`);
  const times = p.columns.filter(([, kind]) => kind === 'time');
  if (p.visual === 'timeseries' && (times.length !== 1 || p.columns[0]![1] !== 'time'))
    throw new DashboardSpecError(`${where}: a time series needs exactly one time column, first`);
  if (p.width < 1 || p.width > 24 || p.height < 1)
    throw new DashboardSpecError(`${where}: width must be 1..24 and height at least 1`);
}

/** Checks the whole description; throws DashboardSpecError naming the first problem. */
export function checkDashboardSpec(spec: DashboardSpec): void {
  if (!/^[a-z][a-z0-9-]{0,39}$/.test(spec.uid))
    throw new DashboardSpecError(`dashboard uid ${JSON.stringify(spec.uid)} is not valid`);
  const names = new Set<string>();
  for (const v of spec.variables) {
    checkVariable(spec.uid, v);
    if (names.has(v.name))
      throw new DashboardSpecError(`dashboard ${spec.uid}: variable ${v.name} declared twice`);
    names.add(v.name);
  }
  // A variable may only depend on the time range, not on other variables.
  for (const v of spec.variables) checkSql(`dashboard ${spec.uid}, variable ${v.name}`, v.sql, []);
  if (spec.panels.length === 0) throw new DashboardSpecError(`dashboard ${spec.uid}: no panels`);
  const keys = new Set<string>();
  for (const p of spec.panels) {
    checkPanel(spec.uid, p, [...names]);
    if (keys.has(p.key))
      throw new DashboardSpecError(`dashboard ${spec.uid}: panel key ${p.key} used twice`);
    keys.add(p.key);
  }
}

type AnyPanelBuilder =
  table.PanelBuilder | timeseries.PanelBuilder | stat.PanelBuilder | barchart.PanelBuilder;

function panelBuilder(p: PanelSpec): AnyPanelBuilder {
  switch (p.visual) {
    case 'table':
      return new table.PanelBuilder();
    case 'timeseries':
      // Several series per panel (one per skill or state): legend on, all series in the tooltip.
      return new timeseries.PanelBuilder()
        .lineWidth(1)
        .fillOpacity(10)
        .legend(
          new common.VizLegendOptionsBuilder()
            .showLegend(true)
            .displayMode(common.LegendDisplayMode.List)
            .placement(common.LegendPlacement.Bottom),
        )
        .tooltip(new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi));
    case 'stat':
      return new stat.PanelBuilder()
        .graphMode(common.BigValueGraphMode.None)
        .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).fields('/.*/'));
    case 'barchart':
      return new barchart.PanelBuilder().orientation(common.VizOrientation.Horizontal);
  }
}

/** The Grafana dashboard model for the description (checked first; see checkDashboardSpec). */
export function buildDashboard(spec: DashboardSpec): dashboard.Dashboard {
  checkDashboardSpec(spec);
  const builder = new dashboard.DashboardBuilder(spec.title)
    .uid(spec.uid)
    .description(spec.description)
    .tags([...spec.tags])
    .timezone('utc')
    .time({ from: spec.from, to: spec.to })
    .refresh(spec.refresh)
    .readonly()
    // Grafana's own annotations (alerts, manual notes); Grafana expects annotations.list.
    .annotation(
      new dashboard.AnnotationQueryBuilder()
        .name('Annotations & Alerts')
        .datasource({ type: 'grafana', uid: '-- Grafana --' })
        .type('dashboard')
        .builtIn(1)
        .enable(true)
        .hide(true)
        .iconColor('rgba(0, 211, 255, 1)'),
    );
  for (const v of spec.variables) {
    builder.withVariable(
      new dashboard.QueryVariableBuilder(v.name)
        .label(v.label)
        .datasource({ ...CLICKHOUSE_DATASOURCE })
        .query(v.sql)
        .definition(v.sql)
        .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
        .sort(dashboard.VariableSort.AlphabeticalAsc)
        .allowCustomValue(false)
        .multi(v.multi ?? false)
        .includeAll(v.multi ?? false),
    );
  }
  // Panels flow left to right and wrap at the 24-column grid, with explicit positions and ids so
  // the JSON is the same on every build.
  let x = 0;
  let y = 0;
  let rowHeight = 0;
  spec.panels.forEach((p, i) => {
    if (x + p.width > 24) {
      x = 0;
      y += rowHeight;
      rowHeight = 0;
    }
    const panel = panelBuilder(p)
      .id(i + 1)
      .title(p.title)
      .description(p.description)
      .datasource({ ...CLICKHOUSE_DATASOURCE })
      .gridPos({ x, y, w: p.width, h: p.height })
      .withTarget(new ClickHouseQueryBuilder(p.sql, p.visual === 'timeseries'));
    for (const [name, , unit] of p.columns)
      if (unit !== undefined) panel.overrideByName(name, [{ id: 'unit', value: unit }]);
    builder.withPanel(panel);
    x += p.width;
    rowHeight = Math.max(rowHeight, p.height);
  });
  return builder.build();
}
