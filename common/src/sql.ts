// The one place where values become ClickHouse SQL. ClickHouse 18.16 has no query parameters,
// so every value is validated and escaped here, and everything else builds SQL with `sql`.

declare const sqlBrand: unique symbol;

/** A piece of SQL whose values have all been escaped. Only `sql`, `ident` and `raw` make one. */
export interface Sql {
  readonly [sqlBrand]: true;
  readonly text: string;
}

export type SqlValue =
  | string
  | number
  | bigint
  | boolean
  | Date
  | null
  | Sql
  | readonly (string | number | bigint | boolean | Date | null)[];

// Only objects made here count as SQL: a look-alike `{ text }` from parsed user input does not.
const made = new WeakSet<object>();

function make(text: string): Sql {
  const piece = Object.freeze({ text }) as Sql;
  made.add(piece);
  return piece;
}

function isSql(v: unknown): v is Sql {
  return typeof v === 'object' && v !== null && made.has(v);
}

const ESCAPES: Record<string, string> = {
  '\\': '\\\\',
  "'": "\\'",
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\0': '\\0',
  '\b': '\\b',
  '\f': '\\f',
};

/** A string literal, quoted and escaped for ClickHouse. */
export function quoteString(s: string): string {
  return `'${s.replace(/[\\'\n\r\t\0\b\f]/g, (c) => ESCAPES[c] ?? c)}'`;
}

/** Formats a Date as a ClickHouse DateTime literal in UTC, e.g. toDateTime('2026-01-02 03:04:05', 'UTC'). */
export function dateTimeLiteral(d: Date): string {
  if (Number.isNaN(d.getTime())) throw new TypeError('cannot put an invalid Date into SQL');
  return `toDateTime(${quoteString(formatDateTime(d))}, 'UTC')`;
}

/** 'YYYY-MM-DD hh:mm:ss' in UTC: the DateTime text format ClickHouse reads and writes. */
export function formatDateTime(d: Date): string {
  return d.toISOString().slice(0, 19).replace('T', ' ');
}

function literal(v: Exclude<SqlValue, Sql>): string {
  if (v === null) return 'NULL';
  if (typeof v === 'string') return quoteString(v);
  if (typeof v === 'boolean') return v ? '1' : '0';
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new TypeError(`cannot put ${v} into SQL: not a finite number`);
    return String(v);
  }
  if (v instanceof Date) return dateTimeLiteral(v);
  if (Array.isArray(v)) return `[${v.map((x) => literal(x)).join(', ')}]`;
  throw new TypeError(`cannot put a ${typeof v} into SQL`);
}

/**
 * Builds SQL from a template: every interpolated value is escaped as a literal, except pieces
 * that are already Sql (from `sql`, `ident` or `raw`), which are inserted as they are.
 */
export function sql(strings: TemplateStringsArray, ...values: SqlValue[]): Sql {
  let text = strings[0] ?? '';
  values.forEach((v, i) => {
    text += (isSql(v) ? v.text : literal(v)) + (strings[i + 1] ?? '');
  });
  return make(text);
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** A database, table or column name; refuses anything that is not a plain identifier. */
export function ident(name: string): Sql {
  if (!IDENT.test(name)) {
    throw new TypeError(
      `${JSON.stringify(name)} is not a valid ClickHouse identifier (letters, digits, _; at most 64)`,
    );
  }
  return make(`\`${name}\``);
}

/** SQL written by ccfed itself (a migration file, a fixed fragment): never user input. */
export function raw(text: string): Sql {
  return make(text);
}

/** Joins pieces of SQL with a separator. */
export function join(parts: readonly Sql[], separator = ', '): Sql {
  return make(parts.map((p) => p.text).join(separator));
}
