// Call recordings: the ones the caller may hear (the server scopes the list: HQ all, a site
// supervisor its site's, a tenant client its own tenant's), filtered by period, site, tenant,
// agent, skill or call, with an <audio> player. Playing asks the API for a playback URL (a
// short-lived ticket: an <audio> element cannot send the bearer token), which streams the
// recording from the site that keeps it, seeking by byte ranges. Deleted recordings stay listed
// with when and why; calls the policy records but that have no recording, with the reason.
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
import { apiPostWithToken } from './session.js';

interface Paused {
  readonly offsetMs: number;
  readonly durationMs: number;
  readonly pausedBy: string;
}

interface Recording {
  readonly recordingId: string;
  readonly tenantId: string;
  readonly siteId: string;
  readonly callId: string;
  readonly skill: string;
  readonly agentId: string;
  readonly startedAt: string;
  readonly status: 'available' | 'deleted' | 'failed';
  readonly durationMs: number;
  readonly paused: readonly Paused[];
  readonly deletedAt: string | null;
  readonly deletedReason: string | null;
  readonly failedReason: string | null;
}

type Filter = Record<string, string>;

const FIELDS = ['from', 'to', 'site', 'tenant', 'agent', 'skill', 'callId'] as const;
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function statusOf(r: Recording): string {
  if (r.status === 'deleted') return `deleted ${r.deletedAt} (${r.deletedReason})`;
  if (r.status === 'failed') return `not recorded: ${r.failedReason ?? 'unknown'}`;
  return 'available';
}

/** The filter as the API takes it: a call id alone, or a period with the other fields. */
function query(form: Filter): Filter {
  const set = Object.fromEntries(Object.entries(form).filter(([, v]) => v.trim() !== ''));
  if (set.callId) return { callId: set.callId };
  return set;
}

export function RecordingsPage() {
  const initial: Filter = {
    from: new Date(Date.now() - 7 * 86_400_000).toISOString(),
    to: new Date(Date.now() + 3_600_000).toISOString(),
    site: '',
    tenant: '',
    agent: '',
    skill: '',
    callId: '',
  };
  const [form, setForm] = useState<Filter>(initial);
  const [filter, setFilter] = useState<Filter>(query(initial));
  const [playing, setPlaying] = useState<{ recordingId: string; url: string } | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const { data, error, isPending } = useGetList<Recording & { id: number }>(
    'recordings',
    { filter, pagination: { page: 1, perPage: 1000 } },
    { retry: false },
  );

  const play = async (recordingId: string) => {
    setProblem(null);
    try {
      const { url } = await apiPostWithToken<{ url: string }>('/recordings/playback', {
        recordingId,
      });
      setPlaying({ recordingId, url });
    } catch (err) {
      setPlaying(null);
      setProblem((err as Error).message);
    }
  };

  return (
    <Card>
      <Title title="Recordings" />
      <CardContent>
        <Typography variant="h5" gutterBottom>
          Call recordings
        </Typography>
        <Stack direction="row" spacing={1} sx={{ mb: 2, alignItems: 'center', flexWrap: 'wrap' }}>
          {FIELDS.map((k) => (
            <TextField
              key={k}
              label={k}
              size="small"
              value={form[k] ?? ''}
              onChange={(e) => setForm({ ...form, [k]: e.target.value })}
              slotProps={{ htmlInput: { 'data-testid': `recordings-${k}` } }}
            />
          ))}
          <Button
            variant="contained"
            onClick={() => setFilter(query(form))}
            data-testid="recordings-apply"
          >
            Show
          </Button>
        </Stack>
        {playing && (
          <div>
            <Typography variant="body2">Playing {playing.recordingId}</Typography>
            {/* Caller on the left channel, agent on the right. */}
            <audio controls autoPlay src={playing.url} data-testid="player" />
          </div>
        )}
        {problem && <p data-testid="play-error">{problem}</p>}
        {isPending ? (
          <p>Loading…</p>
        ) : error ? (
          <p data-testid="error">{(error as Error).message}</p>
        ) : !data || data.length === 0 ? (
          <p data-testid="no-recordings">No recordings.</p>
        ) : (
          <Table size="small" data-testid="recordings-rows">
            <TableHead>
              <TableRow>
                {[
                  'started',
                  'site',
                  'tenant',
                  'agent',
                  'skill',
                  'call',
                  'length',
                  'paused',
                  'status',
                  '',
                ].map((h) => (
                  <TableCell key={h}>{h}</TableCell>
                ))}
              </TableRow>
            </TableHead>
            <TableBody>
              {data.map((r) => (
                <TableRow key={r.recordingId} data-testid={`recording-${r.recordingId}`}>
                  <TableCell>{r.startedAt}</TableCell>
                  <TableCell>{r.siteId}</TableCell>
                  <TableCell>{r.tenantId}</TableCell>
                  <TableCell>{r.agentId}</TableCell>
                  <TableCell>{r.skill}</TableCell>
                  <TableCell>{r.callId}</TableCell>
                  <TableCell align="right">{secs(r.durationMs)}</TableCell>
                  <TableCell>
                    {r.paused
                      .map((p) => `${secs(p.durationMs)} at ${secs(p.offsetMs)} by ${p.pausedBy}`)
                      .join('; ')}
                  </TableCell>
                  <TableCell data-testid="status">{statusOf(r)}</TableCell>
                  <TableCell>
                    {r.status === 'available' && (
                      <Button
                        size="small"
                        onClick={() => void play(r.recordingId)}
                        data-testid="play"
                      >
                        Play
                      </Button>
                    )}
                  </TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        )}
      </CardContent>
    </Card>
  );
}
