import { describe, expect, it } from 'vitest';
import { byteRange } from './byte-range.js';

describe('byteRange', () => {
  it('reads one byte range, open-ended or a suffix, cut to the resource', () => {
    expect(byteRange('bytes=0-43', 1000)).toEqual({ kind: 'partial', start: 0, end: 44 });
    expect(byteRange('bytes=500-', 1000)).toEqual({ kind: 'partial', start: 500, end: 1000 });
    expect(byteRange('bytes=900-5000', 1000)).toEqual({ kind: 'partial', start: 900, end: 1000 });
    expect(byteRange('bytes=-100', 1000)).toEqual({ kind: 'partial', start: 900, end: 1000 });
    expect(byteRange('bytes=-5000', 1000)).toEqual({ kind: 'partial', start: 0, end: 1000 });
  });

  it('cannot satisfy a range past the end', () => {
    expect(byteRange('bytes=1000-', 1000)).toEqual({ kind: 'unsatisfiable' });
    expect(byteRange('bytes=-0', 1000)).toEqual({ kind: 'unsatisfiable' });
  });

  it('ignores what is not one well-formed byte range: the whole resource', () => {
    for (const h of [undefined, 'bytes=0-1,5-9', 'items=0-1', 'bytes=5-1', 'bytes=-', 'bytes=a-b'])
      expect(byteRange(h, 1000), String(h)).toEqual({ kind: 'whole' });
  });
});
