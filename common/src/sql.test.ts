import { describe, expect, it } from 'vitest';
import { ident, join, quoteString, raw, sql } from './sql.js';

describe('sql', () => {
  it('escapes quotes and backslashes so a value cannot end its string literal', () => {
    const site = "x' OR 1=1 --";
    expect(sql`SELECT 1 WHERE site = ${site}`.text).toBe("SELECT 1 WHERE site = 'x\\' OR 1=1 --'");
    expect(quoteString("a\\'b")).toBe("'a\\\\\\'b'");
    expect(quoteString('line\nbreak\0')).toBe("'line\\nbreak\\0'");
  });

  it('writes numbers, booleans, nulls, dates and arrays as ClickHouse literals', () => {
    const t = new Date('2026-03-04T05:06:07.890Z');
    expect(sql`${1.5}, ${true}, ${null}, ${t}, ${['a', 2]}, ${10n}`.text).toBe(
      "1.5, 1, NULL, toDateTime('2026-03-04 05:06:07', 'UTC'), ['a', 2], 10",
    );
  });

  it('refuses values that have no safe literal', () => {
    expect(() => sql`${Number.NaN}`).toThrow(/not a finite number/);
    expect(() => sql`${new Date('nope')}`).toThrow(/invalid Date/);
    // A look-alike of a SQL fragment (e.g. from a parsed JSON body) is not trusted as SQL.
    expect(() => sql`${{ text: 'DROP TABLE x' } as never}`).toThrow(/cannot put a object/);
  });

  it('quotes identifiers and refuses anything that is not one', () => {
    expect(ident('call_events').text).toBe('`call_events`');
    expect(() => ident('x`; DROP TABLE y')).toThrow(/not a valid ClickHouse identifier/);
    expect(() => ident('')).toThrow();
  });

  it('nests and joins fragments without escaping them twice', () => {
    const where = join([sql`a = ${'x'}`, sql`b = ${2}`], ' AND ');
    expect(sql`SELECT * FROM ${ident('t')} WHERE ${where} ${raw('FORMAT JSON')}`.text).toBe(
      "SELECT * FROM `t` WHERE a = 'x' AND b = 2 FORMAT JSON",
    );
  });
});
