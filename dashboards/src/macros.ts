// What a panel's SQL becomes before it reaches ClickHouse, done the way Grafana and the ClickHouse
// plugin (grafana-clickhouse-datasource v4) do it, so that tests run exactly what Grafana would:
//   1. Grafana's template service replaces dashboard variables: $site, ${site}, [[site]] and
//      ${site:singlequote} ('a' or 'a','b' for several values, each ' escaped as \').
//   2. The plugin's backend (sqlds) expands its macros with the panel's time range, e.g.
//      $__timeFilter(c) → c >= toDateTime(from) AND c <= toDateTime(to) (seconds, both ends in),
//      $__fromTime → toDateTime(from), $__toTime → toDateTime(to).
// Only the macros the dashboards use are implemented; any other $__ macro is refused, so a panel
// cannot depend on one that this expansion (and hence the tests) would not check.

export interface ExpandOptions {
  readonly from: Date;
  readonly to: Date;
  /** Values of the dashboard variables; several values for a multi-value variable. */
  readonly variables?: Readonly<Record<string, string | readonly string[]>>;
}

/** The plugin macros the dashboards may use. */
export const SUPPORTED_MACROS = ['timeFilter', 'fromTime', 'toTime', 'dateFilter'] as const;

/** Grafana's variable syntaxes: $name, ${name}, ${name:format}, [[name]]. */
const VARIABLE = /\$(\w+)|\$\{(\w+)(?::(\w+))?\}|\[\[(\w+)\]\]/g;

/** The names of the dashboard variables `sql` refers to ($__ macros aside). */
export function variablesUsed(sql: string): string[] {
  const names = new Set<string>();
  for (const m of sql.matchAll(VARIABLE)) {
    const name = m[1] ?? m[2] ?? m[4]!;
    if (!name.startsWith('__')) names.add(name);
  }
  return [...names];
}

/** The $__ macros `sql` calls, by name. */
export function macrosUsed(sql: string): string[] {
  return [...new Set([...sql.matchAll(/\$__(\w+)/g)].map((m) => m[1]!))];
}

function formatVariable(name: string, value: string | readonly string[], format?: string): string {
  const values = typeof value === 'string' ? [value] : value;
  if (values.length === 0) throw new Error(`variable ${name} has no value`);
  switch (format) {
    case undefined:
    case 'raw':
      // Grafana's default for several values in SQL data sources is its csv-like join.
      return values.join(',');
    case 'singlequote':
      return values.map((v) => `'${v.replace(/'/g, "\\'")}'`).join(',');
    default:
      throw new Error(
        `variable ${name}: format ${format} is not supported here (use raw or singlequote)`,
      );
  }
}

function unixSeconds(d: Date, what: string): number {
  const ms = d.getTime();
  if (Number.isNaN(ms)) throw new Error(`expandMacros: ${what} is not a valid date`);
  // Go's time.Unix(): whole seconds, rounded down.
  return Math.floor(ms / 1000);
}

function utcDate(d: Date): string {
  return d.toISOString().slice(0, 10);
}

/** Reads "(a, b)" at the start of `rest`, as sqlds does: arguments split on commas, trimmed. */
function parseArgs(rest: string): { args: string[]; length: number } {
  if (!rest.startsWith('(')) return { args: [], length: 0 };
  let depth = 0;
  for (let i = 0; i < rest.length; i += 1) {
    if (rest[i] === '(') depth += 1;
    else if (rest[i] === ')') {
      depth -= 1;
      if (depth === 0) {
        const inner = rest.slice(1, i);
        return { args: inner.split(',').map((a) => a.trim()), length: i + 1 };
      }
    }
  }
  throw new Error(`expandMacros: no closing bracket for the arguments ${rest.slice(0, 40)}`);
}

/**
 * The SQL Grafana sends to ClickHouse for this panel text, time range and variable values.
 * Throws naming what was wrong: an unknown variable, an unsupported macro, a bad argument count.
 */
export function expandMacros(sql: string, opts: ExpandOptions): string {
  const from = unixSeconds(opts.from, 'from');
  const to = unixSeconds(opts.to, 'to');
  if (from > to) throw new Error('expandMacros: from is after to');
  const variables = opts.variables ?? {};

  const withVariables = sql.replace(
    VARIABLE,
    (whole, plain?: string, braced?: string, format?: string, bracketed?: string) => {
      const name = (plain ?? braced ?? bracketed)!;
      if (name.startsWith('__')) return whole;
      const value = variables[name];
      if (value === undefined) throw new Error(`expandMacros: no value for variable ${name}`);
      return formatVariable(name, value, format);
    },
  );

  let out = '';
  let rest = withVariables;
  for (;;) {
    const m = /\$__(\w+)/.exec(rest);
    if (!m) return out + rest;
    const name = m[1]!;
    const after = rest.slice(m.index + m[0].length);
    const { args, length } = parseArgs(after);
    const arity = (n: number): void => {
      if (args.length !== n)
        throw new Error(
          `expandMacros: $__${name} expects ${n} argument(s), got ${args.length}: ${m[0]}${after.slice(0, length)}`,
        );
    };
    let expansion: string;
    switch (name) {
      case 'fromTime':
        arity(0);
        expansion = `toDateTime(${from})`;
        break;
      case 'toTime':
        arity(0);
        expansion = `toDateTime(${to})`;
        break;
      case 'timeFilter':
        arity(1);
        expansion = `${args[0]} >= toDateTime(${from}) AND ${args[0]} <= toDateTime(${to})`;
        break;
      case 'dateFilter':
        arity(1);
        expansion = `${args[0]} >= toDate('${utcDate(opts.from)}') AND ${args[0]} <= toDate('${utcDate(opts.to)}')`;
        break;
      default:
        throw new Error(
          `expandMacros: $__${name} is not a supported macro (expected one of ${SUPPORTED_MACROS.map((s) => `$__${s}`).join(', ')})`,
        );
    }
    out += rest.slice(0, m.index) + expansion;
    rest = after.slice(length);
  }
}
