// The supervisor's desk: the site's agents live (state, time in state, the call they are on),
// read every two seconds, and silent monitoring of an agent's call (listen only, both parties)
// through the site's rtpengine. A tenant's supervisor sees, and may monitor, only its tenant's
// seats: the API and the site agent both refuse the rest.
import { useEffect, useRef, useState } from 'react';
import {
  Alert,
  AppBar,
  Box,
  Button,
  Chip,
  Paper,
  Stack,
  Table,
  TableBody,
  TableCell,
  TableHead,
  TableRow,
  TextField,
  Toolbar,
  Typography,
} from '@mui/material';
import { apiGet, storedToken, type Identity } from '@ccfed/console/session';
import { clock } from './desk-state.js';
import { LevelMeter } from './level-meter.js';
import { monitorCall, type RunningMonitor } from '../monitor/monitor.js';

/** One agent as GET /supervisor/agents lists it. */
export interface SupervisedAgent {
  readonly agentId: string;
  readonly tenantId: string;
  readonly state: string;
  readonly reasonCode?: string | null;
  /** When the agent entered its state (ISO 8601); null when not known since the API started. */
  readonly since: string | null;
  readonly callId: string | null;
}

export function SupervisorDesk({ who, onLogOut }: { who: Identity; onLogOut: () => void }) {
  const [siteId, setSiteId] = useState(who.siteId ?? '');
  const [agents, setAgents] = useState<readonly SupervisedAgent[]>([]);
  const [problem, setProblem] = useState<string | null>(null);
  const [listening, setListening] = useState<{ callId: string; agentId: string } | null>(null);
  const monitoring = useRef<RunningMonitor | null>(null);
  const [now, setNow] = useState(Date.now());

  useEffect(() => {
    if (!siteId) return;
    let stop = false;
    const read = async () => {
      try {
        const { agents } = await apiGet<{ agents: SupervisedAgent[] }>('/supervisor/agents', {
          siteId,
        });
        if (!stop) {
          setAgents(agents);
          setProblem(null);
        }
      } catch (err) {
        if (!stop) setProblem(err instanceof Error ? err.message : String(err));
      }
      setNow(Date.now());
    };
    void read();
    const t = setInterval(() => void read(), 2_000);
    return () => {
      stop = true;
      clearInterval(t);
    };
  }, [siteId]);

  useEffect(() => () => void monitoring.current?.stop(), []);

  const listen = async (agent: SupervisedAgent) => {
    try {
      await monitoring.current?.stop();
      monitoring.current = await monitorCall(
        { baseUrl: '/api/v1', token: storedToken() ?? '' },
        agent.callId!,
        siteId,
      );
      setListening({ callId: agent.callId!, agentId: agent.agentId });
      setProblem(null);
    } catch (err) {
      setProblem(err instanceof Error ? err.message : String(err));
    }
  };
  const stopListening = async () => {
    await monitoring.current?.stop();
    monitoring.current = null;
    setListening(null);
  };

  return (
    <Box>
      <AppBar position="static">
        <Toolbar sx={{ gap: 2 }}>
          <Typography variant="h6" sx={{ flexGrow: 1 }}>
            Supervisor {who.username}
            {who.tenantId ? ` · ${who.tenantId}` : ''}
          </Typography>
          {!who.siteId && (
            <TextField
              size="small"
              label="Site"
              value={siteId}
              onChange={(e) => setSiteId(e.target.value)}
            />
          )}
          <Button color="inherit" onClick={onLogOut}>
            Log out
          </Button>
        </Toolbar>
      </AppBar>
      <Box sx={{ p: 2 }}>
        {problem && <Alert severity="warning">{problem}</Alert>}
        {listening && (
          <Alert
            severity="info"
            data-testid="monitoring"
            data-call-id={listening.callId}
            action={<Button onClick={() => void stopListening()}>Stop</Button>}
          >
            Listening to {listening.agentId}&apos;s call
            <Stack direction="row" spacing={2} sx={{ mt: 1 }}>
              {monitoring.current?.parties.map((party, i) => (
                <LevelMeter
                  key={party}
                  label={party}
                  testId={`monitor-${party}`}
                  read={async () => {
                    const l = (await monitoring.current?.monitor.levels())?.[i];
                    return (
                      l && {
                        level: Math.max(0, 1 + l.peakDb / 100),
                        energy: l.totalAudioEnergy,
                        hz: l.dominantHz,
                      }
                    );
                  }}
                />
              ))}
            </Stack>
          </Alert>
        )}
        <Paper>
          <Table size="small" data-testid="agents">
            <TableHead>
              <TableRow>
                <TableCell>Agent</TableCell>
                <TableCell>Tenant</TableCell>
                <TableCell>State</TableCell>
                <TableCell>Time in state</TableCell>
                <TableCell>Call</TableCell>
                <TableCell />
              </TableRow>
            </TableHead>
            <TableBody>
              {agents.map((a) => (
                <TableRow key={a.agentId} data-testid={`agent-${a.agentId}`} data-state={a.state}>
                  <TableCell>{a.agentId}</TableCell>
                  <TableCell>{a.tenantId}</TableCell>
                  <TableCell>
                    <Chip
                      size="small"
                      label={a.reasonCode ? `${a.state} (${a.reasonCode})` : a.state}
                    />
                  </TableCell>
                  <TableCell>{a.since ? clock(now - Date.parse(a.since)) : ''}</TableCell>
                  <TableCell>{a.callId ?? ''}</TableCell>
                  <TableCell>
                    {a.state === 'on_call' && a.callId && (
                      <Button size="small" data-testid="monitor" onClick={() => void listen(a)}>
                        Listen
                      </Button>
                    )}
                  </TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </Paper>
      </Box>
    </Box>
  );
}
