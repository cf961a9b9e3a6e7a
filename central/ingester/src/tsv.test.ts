import { describe, expect, it } from 'vitest';
import { escapeTsv, tsvField, TsvWriter } from './tsv.js';

const NASTY =
  'tab\there, new\nline, cr\r, back\\slash, quote \' and " , nul\0, 中文 😀, \\t literal';

describe('TabSeparated fields', () => {
  it('escapes what would end a field or a row, and what the parser reads as an escape', () => {
    expect(escapeTsv(NASTY)).toBe(
      'tab\\there, new\\nline, cr\\r, back\\\\slash, quote \\\' and " , nul\\0, 中文 😀, \\\\t literal',
    );
    expect(escapeTsv(NASTY)).not.toMatch(/[\t\n\r\0]/);
  });

  it('leaves an ordinary id as it is', () => {
    const id = 'call-7f3a-beijing-0001';
    expect(escapeTsv(id)).toBe(id);
  });

  it('writes arrays as quoted literals, strings escaped inside their quotes', () => {
    expect(tsvField(['a', "b'c", 'd\te', ''])).toBe("['a','b\\'c','d\\te','']");
    expect(tsvField([1, 0, 250])).toBe('[1,0,250]');
    expect(tsvField([])).toBe('[]');
  });

  it('writes numbers and booleans as ClickHouse reads them, and refuses NaN', () => {
    expect(tsvField(-42)).toBe('-42');
    expect(tsvField(true)).toBe('1');
    expect(tsvField(false)).toBe('0');
    expect(() => tsvField(Number.NaN)).toThrow(/cannot write NaN/);
  });
});

describe('TsvWriter', () => {
  it('writes one line per row, the constants last, and names the columns in that order', () => {
    const w = new TsvWriter({ ingested_at: '2026-11-22 10:00:00' }, 8);
    w.writeRow({ id: 'a', n: 1, tags: ['x'] });
    w.writeRow({ id: NASTY, n: 2, tags: [] });
    expect(w.rows).toBe(2);
    expect(w.columns()).toEqual(['id', 'n', 'tags', 'ingested_at']);
    const lines = w.body().toString('utf8').split('\n');
    expect(lines).toEqual([
      "a\t1\t['x']\t2026-11-22 10:00:00",
      `${escapeTsv(NASTY)}\t2\t[]\t2026-11-22 10:00:00`,
      '',
    ]);
  });

  it('grows past its first buffer and keeps multi-byte text whole', () => {
    const w = new TsvWriter({}, 4);
    for (let i = 0; i < 1000; i++) w.writeRow({ s: `中文😀${i}` });
    const lines = w.body().toString('utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(1000);
    expect(lines[999]).toBe('中文😀999');
  });

  it('refuses a row whose columns differ from the first row, instead of misaligning it', () => {
    const w = new TsvWriter();
    w.writeRow({ a: 1, b: 2 });
    expect(() => w.writeRow({ b: 2, a: 1 })).toThrow(/differ/);
    expect(() => w.writeRow({ a: 1 })).toThrow(/differ/);
    expect(() => w.writeRow({ a: 1, b: 2, c: 3 })).toThrow(/differ/);
    expect(w.rows).toBe(1);
  });

  it('has no columns to name before its first row', () => {
    expect(() => new TsvWriter().columns()).toThrow(/no row/);
  });
});
