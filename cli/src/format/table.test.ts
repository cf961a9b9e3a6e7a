import { describe, expect, it } from 'vitest';
import { renderTable } from './table.js';

describe('renderTable', () => {
  it('aligns columns to the widest cell, numbers to the right, and leaves the last column unpadded', () => {
    const text = renderTable(
      [{ header: 'SITE' }, { header: 'N', align: 'right' }, { header: 'NOTE' }],
      [
        ['shanghai', '7', 'a long note'],
        ['bj', '1234', 'x'],
      ],
    );
    expect(text.split('\n')).toEqual([
      'SITE         N  NOTE',
      'shanghai     7  a long note',
      'bj        1234  x',
    ]);
  });

  it('renders the headers alone when there are no rows', () => {
    expect(renderTable([{ header: 'A' }, { header: 'B' }], [])).toBe('A  B');
  });

  it('refuses a row with the wrong number of cells', () => {
    expect(() => renderTable([{ header: 'A' }, { header: 'B' }], [['only one']])).toThrow(
      'table row 0 has 1 cells for 2 columns',
    );
  });
});
