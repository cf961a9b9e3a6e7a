// The routing decision explorer: pick a call, see every decision the router made about it — the
// verdict, where it went and why, and each alternative it weighed with its expected wait or the
// reason it was excluded.
import {
  Button,
  Card,
  CardContent,
  Stack,
  Table,
  TableBody,
  TableCell,
  TableHead,
  TableRow,
  TextField,
  Typography,
} from '@mui/material';
import { useState } from 'react';
import { Title, useGetList } from 'react-admin';

interface Alternative {
  readonly siteId: string;
  readonly eligible: boolean;
  readonly excludedReason: string | null;
  readonly expectedWaitMs: number;
  readonly handicapMs: number;
  readonly stateAgeMs: number;
}

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function Decisions(props: { readonly callId: string }) {
  const { data, error, isPending } = useGetList(
    'decisions',
    { filter: { callId: props.callId }, pagination: { page: 1, perPage: 1000 } },
    { retry: false },
  );
  if (isPending) return <p>Loading…</p>;
  if (error) return <p data-testid="error">{(error as Error).message}</p>;
  if (!data || data.length === 0) {
    return <p data-testid="no-decisions">No routing decision for call {props.callId}.</p>;
  }
  return (
    <>
      {data.map((d) => (
        <div key={d.decisionId as string} data-testid="decision">
          <Typography variant="h6" sx={{ mt: 2 }}>
            {d.decidedAt as string}: <span data-testid="verdict">{d.verdict as string}</span>
            {d.targetSiteId ? (
              <>
                {' '}
                → <span data-testid="target">{d.targetSiteId as string}</span>
              </>
            ) : (
              ' (stayed)'
            )}
          </Typography>
          <Typography variant="body2" data-testid="reason">
            reason: {d.reason as string} · from {d.originSiteId as string} · skill{' '}
            {d.skill as string} · tier {d.tier as number} · waited {secs(d.waitedMs as number)} ·
            expected wait at origin {secs(d.originExpectedWaitMs as number)} · hop{' '}
            {d.hopCount as number}
          </Typography>
          <Table size="small" data-testid="alternatives">
            <TableHead>
              <TableRow>
                {['site', 'eligible', 'expected wait', 'handicap', 'state age', 'excluded'].map(
                  (h) => (
                    <TableCell key={h}>{h}</TableCell>
                  ),
                )}
              </TableRow>
            </TableHead>
            <TableBody>
              {(d.alternatives as Alternative[]).map((a) => (
                <TableRow key={a.siteId} data-testid={`alternative-${a.siteId}`}>
                  <TableCell>{a.siteId}</TableCell>
                  <TableCell>{a.eligible ? 'yes' : 'no'}</TableCell>
                  <TableCell align="right">{secs(a.expectedWaitMs)}</TableCell>
                  <TableCell align="right">{secs(a.handicapMs)}</TableCell>
                  <TableCell align="right">{secs(a.stateAgeMs)}</TableCell>
                  <TableCell>{a.excludedReason ?? ''}</TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </div>
      ))}
    </>
  );
}

export function DecisionExplorer() {
  const initial = new URLSearchParams(window.location.hash.split('?')[1] ?? '').get('callId');
  const [input, setInput] = useState(initial ?? '');
  const [callId, setCallId] = useState<string | null>(initial);
  return (
    <Card>
      <Title title="Routing decisions" />
      <CardContent>
        <Typography variant="h5" gutterBottom>
          Routing decision explorer
        </Typography>
        <Stack direction="row" spacing={2} sx={{ alignItems: 'center' }}>
          <TextField
            size="small"
            label="call id"
            value={input}
            onChange={(e) => setInput(e.target.value)}
            slotProps={{ htmlInput: { 'data-testid': 'call-id' } }}
          />
          <Button
            variant="contained"
            onClick={() => setCallId(input.trim())}
            data-testid="find-call"
          >
            Explain
          </Button>
        </Stack>
        {callId && <Decisions callId={callId} />}
      </CardContent>
    </Card>
  );
}
