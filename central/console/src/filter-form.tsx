// The console's filter form: text fields (or a choice where one is given) for each of a page's
// filters, applied when the button is pressed.
import { Button, MenuItem, Stack, TextField } from '@mui/material';
import { useState } from 'react';

/** A page's filters, by name. */
export type Filter = Record<string, string>;

/** A form of text fields; the filter is applied when the button is pressed. */
export function FilterForm(props: {
  readonly initial: Filter;
  readonly choices?: Record<string, readonly string[]>;
  readonly onApply: (f: Filter) => void;
}) {
  const [form, setForm] = useState<Filter>(props.initial);
  return (
    <Stack direction="row" spacing={2} sx={{ mb: 2, alignItems: 'center' }}>
      {Object.keys(props.initial).map((k) => (
        <TextField
          key={k}
          label={k}
          size="small"
          select={props.choices?.[k] !== undefined}
          value={form[k] ?? ''}
          onChange={(e) => setForm({ ...form, [k]: e.target.value })}
          slotProps={{ htmlInput: { 'data-testid': `field-${k}` } }}
        >
          {props.choices?.[k]?.map((c) => (
            <MenuItem key={c} value={c}>
              {c || '(none)'}
            </MenuItem>
          ))}
        </TextField>
      ))}
      <Button variant="contained" onClick={() => props.onApply(form)} data-testid="apply">
        Show
      </Button>
    </Stack>
  );
}
