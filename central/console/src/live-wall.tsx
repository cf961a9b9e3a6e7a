// The nationwide live wall: per site and skill, calls in progress, queued, longest wait, agents
// by state, service level and abandon rate today, overflow in and out; updated by server push.
// Drill-down: site → its skills and agents → one skill's agents.
import {
  Breadcrumbs,
  Card,
  CardContent,
  Chip,
  Link,
  Table,
  TableBody,
  TableCell,
  TableHead,
  TableRow,
  Typography,
} from '@mui/material';
import { useState } from 'react';
import { Title } from 'react-admin';
import { useLive, type LiveAgent, type LiveSite, type LiveSkill } from './use-live.js';

const STATES = ['ready', 'reserved', 'on_call', 'wrap_up', 'not_ready', 'logged_out'];

const pct = (v: number | null) => (v === null ? '–' : `${(v * 100).toFixed(1)} %`);
const secs = (ms: number | null) => (ms === null ? '–' : `${Math.round(ms / 1000)} s`);

function byState(counts: Record<string, number>): string {
  return STATES.filter((s) => (counts[s] ?? 0) > 0)
    .map((s) => `${s} ${counts[s]}`)
    .join(' · ');
}

function total(site: LiveSite, k: keyof LiveSkill): number {
  return site.skills.reduce((n, s) => n + (s[k] as number), 0);
}

function SkillTable(props: {
  readonly site: LiveSite;
  readonly onSkill?: (skill: string) => void;
}) {
  const { site } = props;
  return (
    <Table size="small" data-testid={`skills-${site.siteId}`}>
      <TableHead>
        <TableRow>
          {[
            'skill',
            'in progress',
            'queued',
            'longest wait',
            'EWT',
            'staffed',
            'idle',
            'SL today',
            'abandon rate',
            'overflow in',
            'overflow out',
            'agents by state',
          ].map((h) => (
            <TableCell key={h}>{h}</TableCell>
          ))}
        </TableRow>
      </TableHead>
      <TableBody>
        {site.skills.map((s) => (
          <TableRow key={s.skill} data-testid={`skill-${site.siteId}-${s.skill}`}>
            <TableCell>
              {props.onSkill ? (
                <Link component="button" onClick={() => props.onSkill!(s.skill)}>
                  {s.skill}
                </Link>
              ) : (
                s.skill
              )}
            </TableCell>
            <TableCell align="right">{s.callsInProgress}</TableCell>
            <TableCell align="right" data-testid={`queued-${site.siteId}-${s.skill}`}>
              {s.queued}
            </TableCell>
            <TableCell align="right">{secs(s.oldestWaitMs)}</TableCell>
            <TableCell align="right">
              {/* Nobody staffed: the site reports a day-long wait; there is no wait to expect. */}
              {s.staffed === 0 ? 'no agents' : secs(s.expectedWaitMs)}
            </TableCell>
            <TableCell align="right">{s.staffed}</TableCell>
            <TableCell align="right">{s.idle}</TableCell>
            <TableCell align="right">{pct(s.serviceLevelToday)}</TableCell>
            <TableCell align="right">{pct(s.abandonRateToday)}</TableCell>
            <TableCell align="right" data-testid={`overflow-in-${site.siteId}-${s.skill}`}>
              {s.overflowInToday}
            </TableCell>
            <TableCell align="right" data-testid={`overflow-out-${site.siteId}-${s.skill}`}>
              {s.overflowOutToday}
            </TableCell>
            <TableCell>{byState(s.agentsByState)}</TableCell>
          </TableRow>
        ))}
      </TableBody>
    </Table>
  );
}

function AgentTable(props: { readonly agents: readonly LiveAgent[] }) {
  if (props.agents.length === 0) return <p>No agent state received yet.</p>;
  return (
    <Table size="small" data-testid="agents">
      <TableHead>
        <TableRow>
          {['agent', 'tenant', 'skills', 'state', 'since', 'call'].map((h) => (
            <TableCell key={h}>{h}</TableCell>
          ))}
        </TableRow>
      </TableHead>
      <TableBody>
        {props.agents.map((a) => (
          <TableRow key={a.agentId} data-testid={`agent-${a.agentId}`}>
            <TableCell>{a.agentId}</TableCell>
            <TableCell>{a.tenantId ?? '–'}</TableCell>
            <TableCell>{a.skills.join(', ')}</TableCell>
            <TableCell>{a.state}</TableCell>
            <TableCell>{new Date(a.since).toLocaleTimeString()}</TableCell>
            <TableCell>{a.callId ?? ''}</TableCell>
          </TableRow>
        ))}
      </TableBody>
    </Table>
  );
}

export function LiveWall() {
  const status = useLive();
  const [siteId, setSiteId] = useState<string | null>(null);
  const [skill, setSkill] = useState<string | null>(null);
  if (status.kind === 'connecting') return <Typography>Connecting to the live feed…</Typography>;
  if (status.kind === 'unavailable') {
    return <Typography data-testid="live-unavailable">{status.message}</Typography>;
  }
  const { view } = status;
  const site = siteId === null ? undefined : view.sites.find((s) => s.siteId === siteId);
  return (
    <Card>
      <Title title="Live wall" />
      <CardContent>
        <Breadcrumbs>
          <Link component="button" onClick={() => (setSiteId(null), setSkill(null))}>
            All sites
          </Link>
          {site && (
            <Link component="button" onClick={() => setSkill(null)}>
              {site.siteId}
            </Link>
          )}
          {site && skill && <Typography>{skill}</Typography>}
        </Breadcrumbs>
        <Typography variant="caption" data-testid="live-updated">
          updated {new Date(view.generatedAt).toLocaleTimeString()}
        </Typography>
        {!site &&
          (view.sites.length === 0 ? (
            <p>No site has reported yet.</p>
          ) : (
            view.sites.map((s) => (
              <div key={s.siteId} data-testid={`site-${s.siteId}`}>
                <Typography variant="h6" sx={{ mt: 2 }}>
                  <Link component="button" onClick={() => setSiteId(s.siteId)}>
                    {s.siteId}
                  </Link>{' '}
                  {!s.acceptingOverflow && <Chip size="small" label="drained" />}
                  {!s.reachable && (
                    <Chip
                      size="small"
                      color="error"
                      label={`unreachable since ${new Date(s.snapshotAt).toLocaleTimeString()}`}
                      data-testid={`unreachable-${s.siteId}`}
                    />
                  )}
                </Typography>
                <Typography variant="body2">
                  queued {total(s, 'queued')} · in progress {total(s, 'callsInProgress')} · overflow
                  in {total(s, 'overflowInToday')} / out {total(s, 'overflowOutToday')} · agents:{' '}
                  {byState(s.agentsByState) || 'none reported'}
                </Typography>
                <SkillTable site={s} onSkill={(k) => (setSiteId(s.siteId), setSkill(k))} />
              </div>
            ))
          ))}
        {site && !skill && (
          <>
            <SkillTable site={site} onSkill={setSkill} />
            <Typography variant="h6" sx={{ mt: 2 }}>
              Agents
            </Typography>
            <AgentTable agents={site.agents} />
          </>
        )}
        {site && skill && (
          <AgentTable
            agents={site.agents.filter((a) => a.skills.length === 0 || a.skills.includes(skill))}
          />
        )}
      </CardContent>
    </Card>
  );
}
