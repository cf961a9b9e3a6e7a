// A plain table of whatever rows an API route answered: one column per field of the first row.
// Numbers are right-aligned; shares (0..1 named *rate*, *level*, *share*, …) show as percents.
import { Table, TableBody, TableCell, TableHead, TableRow } from '@mui/material';
import type { ReactNode } from 'react';

export function formatValue(key: string, value: unknown): ReactNode {
  if (value === null || value === undefined) return '–';
  if (typeof value === 'number') {
    if (/(rate|level|share|Pct|ratio|confidence|support)$/i.test(key) && value <= 1) {
      return `${(value * 100).toFixed(1)} %`;
    }
    return Number.isInteger(value) ? value : value.toFixed(2);
  }
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (Array.isArray(value)) return value.map((v) => formatValue(key, v)).join(', ');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

export function RowsTable(props: {
  readonly rows: readonly Record<string, unknown>[];
  readonly columns?: readonly string[];
  readonly testId?: string;
  /** Rows to mark (e.g. understaffed intervals): shaded red, with data-marked="true". */
  readonly mark?: (row: Record<string, unknown>) => boolean;
}) {
  const { rows } = props;
  if (rows.length === 0) return <p data-testid={props.testId}>No rows.</p>;
  const columns = props.columns ?? Object.keys(rows[0]!).filter((k) => k !== 'id');
  return (
    <Table size="small" data-testid={props.testId}>
      <TableHead>
        <TableRow>
          {columns.map((c) => (
            <TableCell key={c}>{c}</TableCell>
          ))}
        </TableRow>
      </TableHead>
      <TableBody>
        {rows.map((row, i) => (
          <TableRow
            key={i}
            data-marked={props.mark?.(row) ? 'true' : undefined}
            sx={props.mark?.(row) ? { backgroundColor: '#fdecea' } : undefined}
          >
            {columns.map((c) => (
              <TableCell key={c} align={typeof row[c] === 'number' ? 'right' : 'left'}>
                {formatValue(c, row[c])}
              </TableCell>
            ))}
          </TableRow>
        ))}
      </TableBody>
    </Table>
  );
}
