// The agent's desk: state (ready, not ready with a reason, time in state), the softphone and its
// call controls, the customer's story popped at offer, a preview campaign's contact to dial or
// skip (preview-card.tsx), and the wrap-up. What is on screen is
// desk-state.ts's reduction of the agent's stream and the phone's events.
import { useCallback, useEffect, useReducer, useRef, useState } from 'react';
import {
  Alert,
  AppBar,
  Box,
  Button,
  Chip,
  MenuItem,
  Paper,
  Stack,
  TextField,
  Toolbar,
  Typography,
} from '@mui/material';
import { apiPostWithToken, type Identity } from '@ccfed/console/session';
import {
  clock,
  deskReducer,
  INITIAL_DESK,
  type AgentStatus,
  type DeskEvent,
  type Offer,
} from './desk-state.js';
import { loadDeskConfig, type DeskConfig } from './desk-config.js';
import { startSoftphone, type Softphone } from './phone.js';
import { LevelMeter } from './level-meter.js';
import { PreviewCard } from './preview-card.js';
import { ScreenPop } from './screen-pop.js';
import { openStream } from './stream.js';
import { WrapUpForm } from './wrap-up-form.js';

/** Each pop as the page saw it, for the latency measurement (offer → rendered). */
declare global {
  interface Window {
    ccfedPops?: { callId: string; offeredAt: string; receivedAt: number; renderedAt: number }[];
  }
}

/**
 * An agent at a desk SIP phone opens the desk as `/desktop/?phone=<the phone's sip: URI>`: the
 * desk logs the agent in at that phone and starts no browser softphone (the phone's own buttons
 * answer and hang up); the site checks the URI as it checks any log-in.
 */
function deskPhoneUri(): string | null {
  const uri = new URLSearchParams(window.location.search).get('phone');
  return uri?.startsWith('sip:') ? uri : null;
}

export function AgentDesk({ who, onLogOut }: { who: Identity; onLogOut: () => void }) {
  const [deskPhone] = useState(deskPhoneUri);
  const [desk, dispatch] = useReducer(deskReducer, INITIAL_DESK);
  const [config, setConfig] = useState<DeskConfig | null>(null);
  const phone = useRef<Softphone | null>(null);
  const received = useRef(new Map<string, number>());
  const [now, setNow] = useState(Date.now());
  const fail = (err: unknown) =>
    dispatch({ type: 'problem', message: err instanceof Error ? err.message : String(err) });

  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, []);

  // Configuration, the softphone's registration (or the desk phone), the log-in at the site,
  // then the stream.
  useEffect(() => {
    let closeStream: (() => void) | undefined;
    let stopped = false;
    void (async () => {
      try {
        setConfig(await loadDeskConfig());
        let contactUri = deskPhone;
        if (contactUri === null) {
          const { phone: p, aor } = await startSoftphone();
          if (stopped) return p.stop();
          phone.current = p;
          p.onIncoming((call) => dispatch({ type: 'ringing', callId: call.callId }));
          p.onEnded((call) => dispatch({ type: 'hung_up', callId: call.callId }));
          contactUri = aor;
        }
        // A desk phone needs no registration here: the site reaches it at its own URI.
        dispatch({ type: 'registered', registered: true });
        await apiPostWithToken('/desktop/login', { contactUri });
        closeStream = openStream('/desktop/stream', {
          onEvent: (e) => {
            const event = toDeskEvent(e.event, e.data);
            if (event?.type === 'offer') received.current.set(event.offer.callId, Date.now());
            if (event) dispatch(event);
          },
          onExpired: onLogOut,
          onTrouble: (message) => dispatch({ type: 'problem', message }),
        });
      } catch (err) {
        fail(err);
      }
    })();
    return () => {
      stopped = true;
      closeStream?.();
      phone.current?.stop();
      phone.current = null;
    };
  }, [onLogOut, deskPhone]);

  // The pop is on screen once React has committed it: record when, for the latency figure.
  useEffect(() => {
    if (!desk.offer) return;
    const { callId, offeredAt } = desk.offer;
    (window.ccfedPops ??= []).push({
      callId,
      offeredAt,
      receivedAt: received.current.get(callId) ?? Date.now(),
      renderedAt: Date.now(),
    });
  }, [desk.offer]);

  const act = (what: () => Promise<unknown>) => () => void what().catch(fail);
  const readCaller = useCallback(async () => {
    const a = await phone.current?.inboundAudio();
    return a && { level: a.audioLevel, energy: a.totalAudioEnergy };
  }, []);
  const setState = (state: 'ready' | 'not_ready', reason?: string) =>
    act(() => apiPostWithToken('/desktop/state', reason ? { state, reason } : { state }));
  const call = desk.phone;

  return (
    <Box>
      <AppBar position="static">
        <Toolbar sx={{ gap: 2 }}>
          <Typography variant="h6" sx={{ flexGrow: 1 }}>
            {who.agentId} · {who.siteId}
          </Typography>
          <Chip
            color={desk.registered ? 'success' : 'default'}
            label={
              deskPhone !== null
                ? 'Desk phone'
                : desk.registered
                  ? 'Phone registered'
                  : 'Phone not registered'
            }
            data-testid="phone-registration"
          />
          <Chip
            data-testid="agent-state"
            data-state={desk.status.state}
            label={`${stateLabel(desk.status)} ${desk.status.since ? clock(now - Date.parse(desk.status.since)) : ''}`}
          />
          <Button
            color="inherit"
            onClick={act(async () => {
              await apiPostWithToken('/desktop/logout', {});
              onLogOut();
            })}
          >
            Log out
          </Button>
        </Toolbar>
      </AppBar>
      <Stack spacing={2} sx={{ p: 2 }}>
        {desk.problem && <Alert severity="warning">{desk.problem}</Alert>}
        <Paper sx={{ p: 2 }}>
          <Stack direction="row" spacing={1} sx={{ alignItems: 'center', flexWrap: 'wrap' }}>
            <Button
              variant="contained"
              color="success"
              data-testid="go-ready"
              disabled={desk.status.state === 'ready' || !desk.registered}
              onClick={setState('ready')}
            >
              Ready
            </Button>
            <TextField
              select
              size="small"
              label="Not ready"
              value=""
              sx={{ minWidth: 180 }}
              data-testid="not-ready"
              onChange={(e) => setState('not_ready', e.target.value)()}
            >
              {(config?.notReadyReasons ?? []).map((r) => (
                <MenuItem key={r.code} value={r.code}>
                  {r.label}
                </MenuItem>
              ))}
            </TextField>
            <Box sx={{ flexGrow: 1 }} />
            {call?.phase === 'ringing' && (
              <Button
                variant="contained"
                color="success"
                data-testid="answer"
                onClick={act(async () => {
                  await phone.current!.answer();
                  dispatch({ type: 'answered', callId: call.callId });
                })}
              >
                Answer
              </Button>
            )}
            {call?.phase === 'talking' && (
              <>
                <Button
                  variant="outlined"
                  data-testid="hold"
                  onClick={act(async () => {
                    await (call.held ? phone.current!.resume() : phone.current!.hold());
                    dispatch({ type: 'held', held: !call.held });
                  })}
                >
                  {call.held ? 'Resume' : 'Hold'}
                </Button>
                <Button
                  variant="outlined"
                  data-testid="mute"
                  onClick={() => {
                    if (call.muted) phone.current!.unmute();
                    else phone.current!.mute();
                    dispatch({ type: 'muted', muted: !call.muted });
                  }}
                >
                  {call.muted ? 'Unmute' : 'Mute'}
                </Button>
                <TransferPicker config={config} callId={desk.offer?.callId ?? call.callId} />
                <LevelMeter label="Caller" testId="caller-audio" read={readCaller} />
              </>
            )}
            {call && (
              <Button
                variant="contained"
                color="error"
                data-testid="hang-up"
                onClick={() => phone.current!.hangup()}
              >
                Hang up
              </Button>
            )}
          </Stack>
        </Paper>
        {desk.wrapUp && config && (
          <WrapUpForm
            callId={desk.wrapUp.callId}
            sinceMs={desk.wrapUp.sinceMs}
            config={config}
            onDone={() => dispatch({ type: 'wrapped_up', callId: desk.wrapUp!.callId })}
          />
        )}
        <PreviewCard reserved={desk.status.state === 'reserved' && !desk.offer} now={now} />
        {desk.offer ? (
          <ScreenPop offer={desk.offer} />
        ) : (
          <Typography color="text.secondary">Waiting for a call</Typography>
        )}
      </Stack>
    </Box>
  );
}

function TransferPicker({ config, callId }: { config: DeskConfig | null; callId: string }) {
  const [problem, setProblem] = useState<string | null>(null);
  const targets = config?.transferTargets ?? [];
  return (
    <>
      <TextField
        select
        size="small"
        label="Transfer to"
        value=""
        sx={{ minWidth: 220 }}
        data-testid="transfer"
        onChange={(e) => {
          const { siteId, skill } = targets[Number(e.target.value)]!;
          apiPostWithToken(`/desktop/calls/${encodeURIComponent(callId)}/transfer`, {
            skill,
            siteId,
          }).then(
            () => setProblem(null),
            (err: unknown) => setProblem(err instanceof Error ? err.message : String(err)),
          );
        }}
      >
        {targets.map((t, i) => (
          <MenuItem key={`${t.siteId}/${t.skill}`} value={i}>
            {t.skill} at {t.siteId}
          </MenuItem>
        ))}
      </TextField>
      {problem && <Alert severity="error">{problem}</Alert>}
    </>
  );
}

function stateLabel(s: AgentStatus): string {
  const name = s.state.replace('_', ' ');
  return s.state === 'not_ready' && s.reasonCode ? `${name} (${s.reasonCode})` : name;
}

/** An event of the agent's stream as the desk's event; undefined for what the desk ignores. */
function toDeskEvent(name: string, data: string): DeskEvent | undefined {
  if (name === 'offer') return { type: 'offer', offer: JSON.parse(data) as Offer };
  if (name === 'state') return { type: 'state', status: JSON.parse(data) as AgentStatus };
  return undefined;
}
