// After the call: what it was about (a disposition code from the topology), whether it was
// resolved on this first contact, how serious a complaint it was, and a note. What the agent
// records here is what first-contact resolution, complaint counts and the churn features count
// (docs/kpis.md). The skill's wrap-up time runs down beside it; when it runs out the site ends
// the wrap-up without a disposition.
import { useEffect, useState, type FormEvent } from 'react';
import {
  Alert,
  Button,
  FormControlLabel,
  MenuItem,
  Paper,
  Radio,
  RadioGroup,
  Stack,
  TextField,
  Typography,
} from '@mui/material';
import { ApiError, apiPostWithToken } from '@ccfed/console/session';
import { clock } from './desk-state.js';
import type { DeskConfig } from './desk-config.js';

const SEVERITIES = ['none', 'minor', 'major', 'critical'] as const;

export function WrapUpForm(props: {
  callId: string;
  sinceMs: number;
  config: DeskConfig;
  onDone: () => void;
}) {
  const { callId, sinceMs, config } = props;
  const [disposition, setDisposition] = useState('');
  const [resolved, setResolved] = useState<'yes' | 'no' | ''>('');
  const [severity, setSeverity] = useState<(typeof SEVERITIES)[number]>('none');
  const [note, setNote] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, []);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    try {
      await apiPostWithToken(`/desktop/calls/${encodeURIComponent(callId)}/wrap-up`, {
        disposition,
        resolvedFirstContact: resolved === 'yes',
        complaintSeverity: severity,
        note,
      });
      props.onDone();
    } catch (err) {
      setProblem(
        err instanceof ApiError && err.details.length > 0
          ? err.details.map((d) => `${d.field}: ${d.message}`).join('; ')
          : String(err instanceof Error ? err.message : err),
      );
    }
  };
  return (
    <Paper component="form" onSubmit={submit} sx={{ p: 2 }} data-testid="wrap-up">
      <Stack direction="row" sx={{ justifyContent: 'space-between' }}>
        <Typography variant="h6">Wrap-up</Typography>
        <Typography variant="h6" data-testid="wrap-up-clock">
          {clock(now - sinceMs)}
        </Typography>
      </Stack>
      <TextField
        select
        required
        fullWidth
        margin="dense"
        label="Disposition"
        name="disposition"
        value={disposition}
        onChange={(e) => setDisposition(e.target.value)}
      >
        {config.dispositions.map((d) => (
          <MenuItem key={d.code} value={d.code}>
            {d.label}
          </MenuItem>
        ))}
      </TextField>
      <Typography variant="body2" sx={{ mt: 1 }}>
        Resolved on this contact?
      </Typography>
      <RadioGroup
        row
        name="resolved"
        value={resolved}
        onChange={(e) => setResolved(e.target.value as 'yes' | 'no')}
      >
        <FormControlLabel value="yes" control={<Radio required />} label="Yes" />
        <FormControlLabel value="no" control={<Radio required />} label="No" />
      </RadioGroup>
      <TextField
        select
        fullWidth
        margin="dense"
        label="Complaint"
        name="complaintSeverity"
        value={severity}
        onChange={(e) => setSeverity(e.target.value as (typeof SEVERITIES)[number])}
      >
        {SEVERITIES.map((s) => (
          <MenuItem key={s} value={s}>
            {s === 'none' ? 'No complaint' : s}
          </MenuItem>
        ))}
      </TextField>
      <TextField
        fullWidth
        multiline
        minRows={2}
        margin="dense"
        label="Note (no phone numbers)"
        name="note"
        slotProps={{ htmlInput: { maxLength: 2000 } }}
        value={note}
        onChange={(e) => setNote(e.target.value)}
      />
      {problem && <Alert severity="error">{problem}</Alert>}
      <Button type="submit" variant="contained" sx={{ mt: 1 }}>
        Done
      </Button>
    </Paper>
  );
}
