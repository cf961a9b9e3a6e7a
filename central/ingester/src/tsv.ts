// The INSERT body in ClickHouse's TabSeparated format, written row by row into one growing
// buffer as the batch is decoded. bench:ingest chose it over JSONEachRow: the body is ~2.5 times
// smaller, ClickHouse 18.16 parses it far faster, and no row object outlives its message, which
// took the ingester's garbage collection (a fifth of its CPU) down with it.
//
// Escaping, which both 18.16 and current ClickHouse read back exactly:
//   - a String column: backslash, tab, newline, carriage return, NUL and ' become \\ \t \n \r \0 \'
//     (tab and newline would end the field or the row; the rest keep the parser's reading exact);
//   - an Array column: [1,2] for numbers, ['a','b'] for strings, each string escaped the same way
//     (in TabSeparated an array is written as a quoted literal, with no second escaping on top).
import type { Row } from './rows.js';

const SPECIAL = /[\\\t\n\r\0']/;
const SPECIAL_ALL = /[\\\t\n\r\0']/g;
const ESCAPES: Readonly<Record<string, string>> = {
  '\\': '\\\\',
  '\t': '\\t',
  '\n': '\\n',
  '\r': '\\r',
  '\0': '\\0',
  "'": "\\'",
};

/** `s` as a TabSeparated string field (also the inside of a quoted array element). */
export function escapeTsv(s: string): string {
  return SPECIAL.test(s) ? s.replace(SPECIAL_ALL, (c) => ESCAPES[c]!) : s;
}

/** One value as its TabSeparated field; a number must be finite (ClickHouse cannot read NaN). */
export function tsvField(v: Row[string]): string {
  if (typeof v === 'string') return escapeTsv(v);
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new TypeError(`cannot write ${v} to ClickHouse`);
    return String(v);
  }
  if (typeof v === 'boolean') return v ? '1' : '0';
  let list = '[';
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    if (i > 0) list += ',';
    list += typeof x === 'string' ? `'${escapeTsv(x)}'` : tsvField(x);
  }
  return `${list}]`;
}

/** The columns of `row` in the order writeRow writes them: its properties' order. */
export function rowColumns(row: Row): string[] {
  return Object.keys(row);
}

/**
 * Rows of one table as a TabSeparated INSERT body. Every row must have the same properties in the
 * same order (rows.ts builds each table's rows as one fixed object literal): the first row's
 * properties name the columns, and a row that differs is refused rather than written misaligned.
 * `constants` are columns with the same value in every row (the batch's ingested_at), written
 * after each row's own.
 */
export class TsvWriter {
  private buffer: Buffer;
  private length = 0;
  private names: readonly string[] | undefined;
  private rowCount = 0;
  private readonly tail: string;

  constructor(
    private readonly constants: Row = {},
    initialBytes = 64 * 1024,
  ) {
    // Never from Node's shared pool: the decode thread transfers the body's memory to the main thread.
    this.buffer = Buffer.allocUnsafeSlow(initialBytes);
    let tail = '';
    for (const name in constants) tail += `\t${tsvField(constants[name]!)}`;
    this.tail = `${tail}\n`;
  }

  /** Appends `row` and the constants as one line. */
  writeRow(row: Row): void {
    let line = '';
    let n = 0;
    const names = this.names;
    for (const name in row) {
      if (names !== undefined && names[n] !== name) this.misaligned(row);
      line += n === 0 ? tsvField(row[name]!) : `\t${tsvField(row[name]!)}`;
      n++;
    }
    if (names === undefined) {
      if (n === 0) throw new Error('a row without columns');
      this.names = rowColumns(row);
    } else if (n !== names.length) this.misaligned(row);
    this.append(line + this.tail);
    this.rowCount++;
  }

  /** The columns written, in order, for the INSERT; throws before the first row. */
  columns(): [string, ...string[]] {
    if (this.names === undefined) throw new Error('no row written yet');
    const [first, ...rest] = this.names;
    return [first!, ...rest, ...rowColumns(this.constants)];
  }

  get rows(): number {
    return this.rowCount;
  }

  /** Bytes written so far. */
  get byteLength(): number {
    return this.length;
  }

  /** The body so far (a view of the writer's buffer: write no more rows while it is in use). */
  body(): Buffer {
    return this.buffer.subarray(0, this.length);
  }

  private append(text: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 code unit.
    const most = text.length * 3;
    if (this.length + most > this.buffer.length) {
      const grown = Buffer.allocUnsafeSlow(Math.max(this.buffer.length * 2, this.length + most));
      this.buffer.copy(grown, 0, 0, this.length);
      this.buffer = grown;
    }
    this.length += this.buffer.write(text, this.length, 'utf8');
  }

  private misaligned(row: Row): never {
    throw new Error(
      `row columns (${rowColumns(row).join(', ')}) differ from the batch's (${this.names!.join(', ')})`,
    );
  }
}
