// A headless baresip test phone on loopback: a WAV file is its microphone (aufile), both
// directions are written to WAV files (sndfile), and the test drives it over ctrl_tcp (dial,
// accept, hang up, RFC 4733 digits) and waits on its call events. It registers nowhere: calls go
// straight to sip:<number>@<proxy>. There is no audio_player line on purpose: baresip has no
// sound card here, and sndfile already keeps what the phone hears.
import { readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { encodeNetstring, NetstringDecoder } from '@ccfed/site-agent/kamailio/netstring';
import {
  freePort,
  freePortPair,
  freeRtpPortRange,
  LOOPBACK,
  startEngine,
  tcpPortInUse,
  type EngineHandle,
} from '@ccfed/services';

export const BARESIP_BIN = '/usr/bin/baresip';

export interface BaresipOptions {
  /** Config, log and recordings of this phone live here. */
  readonly dir: string;
  /** The user part of the phone's own address. */
  readonly user: string;
  /** A WAV file (8 kHz mono 16-bit plays without resampling) sent as the phone's microphone. */
  readonly microphone: string;
  /** Answer every incoming call at once (an agent's phone in auto-answer). */
  readonly autoAnswer?: boolean;
}

/** One event from baresip's ctrl_tcp, e.g. CALL_RINGING, CALL_PROGRESS, CALL_ESTABLISHED. */
export interface BaresipEvent {
  readonly type: string;
  readonly class?: string;
  readonly param?: string;
  readonly id?: string;
  readonly peeruri?: string;
  readonly at: number;
}

export interface BaresipPhone {
  readonly user: string;
  readonly sip: { readonly host: string; readonly port: number };
  /** This phone's own address, for calling it directly. */
  readonly uri: string;
  /** The UDP ports its RTP uses (baresip's rtp_ports): every stream to or from it, whatever the
   * far end's port, re-INVITEs included. */
  readonly rtpPorts: { readonly min: number; readonly max: number };
  readonly events: readonly BaresipEvent[];
  readonly handle: EngineHandle;
  dial(uri: string): Promise<void>;
  accept(): Promise<void>;
  hangup(): Promise<void>;
  /** Sends a re-INVITE with the phone's current SDP on the current call (a session refresh). */
  reinvite(): Promise<void>;
  /** Sends one DTMF digit as RFC 4733 events on the current call. */
  sendDigit(digit: string): Promise<void>;
  /** Resolves with the first event of this type at or after `since` (ms epoch). */
  waitForEvent(type: string, opts?: { since?: number; timeoutMs?: number }): Promise<BaresipEvent>;
  /**
   * The WAV files sndfile wrote, oldest first: what the phone heard, and what it sent. A call
   * has one pair per audio stream start: one for early media after a 183 with SDP, another once
   * the call is answered (or another 18x arrives).
   */
  recordings(): { readonly heard: readonly string[]; readonly sent: readonly string[] };
  stop(): Promise<void>;
}

/**
 * Starts several phones side by side. If any fails, the others are awaited and stopped before
 * the first failure is thrown, so that no phone is left running (a caller's destructuring of the
 * result would never see them).
 */
export async function startBaresips<const T extends readonly BaresipOptions[]>(
  phones: T,
): Promise<{ -readonly [K in keyof T]: BaresipPhone }> {
  const started = await Promise.allSettled(phones.map((o) => startBaresip(o)));
  const failed = started.find((r) => r.status === 'rejected');
  const up = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  if (!failed) return up as { -readonly [K in keyof T]: BaresipPhone };
  await Promise.allSettled(up.map((p) => p.stop()));
  throw failed.reason;
}

/** Starts a baresip phone and resolves once its control port accepts connections. */
export async function startBaresip(opts: BaresipOptions): Promise<BaresipPhone> {
  if (!/^\+?[A-Za-z0-9._-]+$/.test(opts.user)) throw new Error(`bad SIP user ${opts.user}`);
  // baresip also listens for SIP over TLS on sipPort + 1.
  const sipPort = await freePortPair();
  const ctrlPort = await freePort();
  const rtp = await freeRtpPortRange(20);
  const recordDir = join(opts.dir, 'recordings');
  mkdirSync(recordDir, { recursive: true });
  writeFileSync(
    join(opts.dir, 'config'),
    [
      'poll_method epoll',
      `sip_listen ${LOOPBACK}:${sipPort}`,
      // The SDP must say 127.0.0.1, not the machine's first network address.
      `net_interface ${LOOPBACK}`,
      'call_local_timeout 120',
      `audio_source aufile,${opts.microphone}`,
      'audio_srate 8000',
      'audio_channels 1',
      `rtp_ports ${rtp.min}-${rtp.max}`,
      'module_path /usr/lib/baresip/modules',
      'module g711.so',
      'module aufile.so',
      'module sndfile.so',
      'module_app account.so',
      'module_app menu.so',
      'module_app ctrl_tcp.so',
      `ctrl_tcp_listen ${LOOPBACK}:${ctrlPort}`,
      `snd_path ${recordDir}`,
      // The menu's call status line, ten times a second, would fill the log.
      'statmode_default off',
      '',
    ].join('\n'),
  );
  const answer = opts.autoAnswer ? ';answermode=auto' : ';answermode=manual';
  writeFileSync(
    join(opts.dir, 'accounts'),
    `<sip:${opts.user}@${LOOPBACK}:${sipPort}>;regint=0${answer};audio_codecs=PCMU,PCMA\n`,
  );
  const handle = await startEngine({
    name: `baresip ${opts.user}`,
    command: BARESIP_BIN,
    args: ['-f', opts.dir],
    logFile: join(opts.dir, 'baresip.log'),
    pidFile: join(opts.dir, 'baresip.pid'),
    ports: [
      { port: sipPort, protocol: 'udp', role: 'SIP' },
      { port: ctrlPort, protocol: 'tcp', role: 'ctrl_tcp' },
    ],
    ready: () => tcpPortInUse(ctrlPort),
    readyTimeoutMs: 15_000,
    stopTimeoutMs: 5_000,
  });

  const ctrl = await connectCtrl(ctrlPort);
  const events: BaresipEvent[] = [];
  ctrl.onEvent = (e) => events.push(e);

  const command = async (cmd: string, params = '') => {
    const res = await ctrl.request(cmd, params);
    if (!res.ok) throw new Error(`baresip ${opts.user}: ${cmd} ${params} failed: ${res.data}`);
  };

  return {
    user: opts.user,
    sip: { host: LOOPBACK, port: sipPort },
    uri: `sip:${opts.user}@${LOOPBACK}:${sipPort}`,
    rtpPorts: { min: rtp.min, max: rtp.max },
    events,
    handle,
    dial: (uri) => command('dial', uri),
    accept: () => command('accept'),
    hangup: () => command('hangup'),
    reinvite: () => command('reinvite'),
    sendDigit: (digit) => {
      if (!/^[0-9*#A-D]$/.test(digit)) throw new Error(`not a DTMF digit: ${digit}`);
      return command('sndcode', digit);
    },
    waitForEvent: async (type, { since = 0, timeoutMs = 30_000 } = {}) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = events.find((e) => e.type === type && e.at >= since);
        if (found) return found;
        if (Date.now() > deadline) {
          throw new Error(
            `baresip ${opts.user}: no ${type} within ${timeoutMs} ms; saw ${events.map((e) => e.type).join(', ') || 'nothing'}`,
          );
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    recordings: () => {
      // sndfile names its files dump-<local time to the second>-dec.wav (decoded: heard) and
      // -enc.wav (sent), so names sort by time; two streams started within one second would
      // share a name, which a test's call flow must avoid.
      const files = readdirSync(recordDir).sort();
      const heard = files.filter((f) => f.endsWith('-dec.wav')).map((f) => join(recordDir, f));
      const sent = files.filter((f) => f.endsWith('-enc.wav')).map((f) => join(recordDir, f));
      return { heard, sent };
    },
    stop: async () => {
      ctrl.close();
      await handle.stop();
    },
  };
}

interface CtrlResponse {
  readonly ok: boolean;
  readonly data: string;
}

interface CtrlLink {
  onEvent: (e: BaresipEvent) => void;
  request(command: string, params: string): Promise<CtrlResponse>;
  close(): void;
}

// ctrl_tcp speaks netstring-framed JSON: {command, params, token} in, responses carrying the token
// and events ({event: true, type, ...}) out.
async function connectCtrl(port: number): Promise<CtrlLink> {
  const socket = new Socket();
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.connect(port, LOOPBACK, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  socket.on('error', () => {});
  const decoder = new NetstringDecoder(1024 * 1024);
  const waiting = new Map<string, (r: CtrlResponse) => void>();
  let seq = 0;
  const link: CtrlLink = {
    onEvent: () => {},
    request: (command, params) =>
      new Promise<CtrlResponse>((resolve, reject) => {
        const token = String(++seq);
        const timer = setTimeout(() => {
          waiting.delete(token);
          reject(new Error(`baresip did not answer ${command} within 10 s`));
        }, 10_000);
        waiting.set(token, (r) => {
          clearTimeout(timer);
          resolve(r);
        });
        socket.write(encodeNetstring(JSON.stringify({ command, params, token })));
      }),
    close: () => socket.destroy(),
  };
  socket.on('data', (chunk: Buffer) => {
    for (const frame of decoder.push(chunk).frames) {
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(frame) as Record<string, unknown>;
      } catch {
        continue;
      }
      if (msg.response === true && typeof msg.token === 'string') {
        waiting.get(msg.token)?.({ ok: msg.ok === true, data: String(msg.data ?? '') });
        waiting.delete(msg.token);
      } else if (msg.event === true && typeof msg.type === 'string') {
        link.onEvent({
          type: msg.type,
          class: typeof msg.class === 'string' ? msg.class : undefined,
          param: typeof msg.param === 'string' ? msg.param : undefined,
          id: typeof msg.id === 'string' ? msg.id : undefined,
          peeruri: typeof msg.peeruri === 'string' ? msg.peeruri : undefined,
          at: Date.now(),
        });
      }
    }
  });
  return link;
}
