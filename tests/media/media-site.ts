// The media site the media tests run: rtpengine (its DTMF events collected), the minimal early-
// media Kamailio of early-media-kamailio.ts in front of it, the test's evapi link standing in for
// the site agent, and a baresip caller and auto-answering agent playing tones.
import { createSocket } from 'node:dgram';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';
import {
  checkKamailioConfig,
  freePort,
  KAMAILIO_BIN,
  parseDtmfLogEvent,
  startEngine,
  startRtpengine,
  tcpPortInUse,
  type DtmfEvent,
  type RtpengineInstance,
} from '@ccfed/services';
import { encodeNetstring, NetstringDecoder } from '@ccfed/site-agent/kamailio/netstring';
import { renderTone } from '../support/audio.js';
import { startBaresip, type BaresipPhone } from '../support/baresip.js';
import { waitFor } from '../support/engines.js';
import { earlyMediaKamailioConfig } from './early-media-kamailio.js';

export type Json = Record<string, unknown>;

/** The test's side of evapi: every event Kamailio sent, and a way to send it commands. */
export interface AppLink {
  readonly events: Json[];
  send(cmd: Json): void;
  next(event: string, match?: (e: Json) => boolean, timeoutMs?: number): Promise<Json>;
  close(): void;
}

export async function connectEvapi(port: number): Promise<AppLink> {
  const socket = new Socket();
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.connect(port, '127.0.0.1', () => resolve());
  });
  const decoder = new NetstringDecoder();
  const events: Json[] = [];
  socket.on('data', (chunk: Buffer) => {
    for (const frame of decoder.push(chunk).frames) events.push(JSON.parse(frame) as Json);
  });
  let consumed = 0;
  return {
    events,
    send: (cmd) => socket.write(encodeNetstring(JSON.stringify(cmd))),
    next: async (event, match = () => true, timeoutMs = 20_000) => {
      const found = await waitFor(
        `evapi event ${event}`,
        async () => {
          const i = events.findIndex((e, idx) => idx >= consumed && e.event === event && match(e));
          if (i < 0) return undefined;
          consumed = i + 1;
          return events[i];
        },
        timeoutMs,
      );
      return found;
    },
    close: () => socket.destroy(),
  };
}

/** "address:port" of the audio stream an SDP describes. */
export function mediaAddress(sdp: unknown): string {
  const text = String(sdp);
  const c = /^c=IN IP4 (\S+)/m.exec(text)?.[1];
  const m = /^m=audio (\d+) /m.exec(text)?.[1];
  if (!c || !m) throw new Error(`no audio address in SDP:\n${text}`);
  return `${c}:${m}`;
}

/** rtpengine's local address for a party's stream, from ng query: where that party sends. */
export async function localAddressOf(
  rtpengine: RtpengineInstance,
  callId: string,
  tag: string,
): Promise<string> {
  const reply = (await rtpengine.client.query({ callId })).reply as Record<string, any>;
  const stream = reply.tags?.[tag]?.medias?.[0]?.streams?.[0];
  if (!stream) throw new Error(`no stream for tag ${tag} in ${JSON.stringify(reply)}`);
  return `${stream['local address'] ?? '127.0.0.1'}:${stream['local port']}`;
}

export interface MediaSite {
  readonly rtpengine: RtpengineInstance;
  readonly sipPort: number;
  readonly app: AppLink;
  readonly dtmf: readonly DtmfEvent[];
  /** Tone 400 Hz. */
  readonly caller: BaresipPhone;
  /** Tone 1000 Hz, answers at once. */
  readonly agent: BaresipPhone;
  stop(): Promise<void>;
}

export const CALLER_HZ = 400;
export const AGENT_HZ = 1000;

export async function startMediaSite(dir: string): Promise<MediaSite> {
  mkdirSync(dir, { recursive: true });
  const dtmf: DtmfEvent[] = [];
  const dtmfListener = createSocket('udp4');
  await new Promise<void>((r) => dtmfListener.bind(0, '127.0.0.1', r));
  dtmfListener.on('message', (m) => dtmf.push(parseDtmfLogEvent(m)));
  const stops: (() => Promise<unknown>)[] = [async () => dtmfListener.close()];
  const stop = async () => {
    while (stops.length) await stops.pop()!().catch(() => {});
  };
  try {
    const rtpengine = await startRtpengine({
      dataDir: join(dir, 'rtpengine'),
      ngHttpPort: await freePort(),
      dtmfLogDest: { host: '127.0.0.1', port: dtmfListener.address().port },
    });
    stops.push(() => rtpengine.stop());
    const sipPort = await freePort();
    const evapiPort = await freePort();
    const config = earlyMediaKamailioConfig({
      sip: sipPort,
      evapi: evapiPort,
      rtpengineNg: rtpengine.ng.port,
      rtpengineNgHttp: rtpengine.ngHttpUrl!,
    });
    const check = await checkKamailioConfig(config);
    if (!check.ok) throw new Error(`early-media Kamailio config rejected:\n${check.output}`);
    const cfgFile = join(dir, 'kamailio.cfg');
    writeFileSync(cfgFile, config);
    const runDir = join(dir, 'kamailio-run');
    mkdirSync(runDir, { recursive: true });
    const kamailio = await startEngine({
      name: 'kamailio early-media',
      command: KAMAILIO_BIN,
      args: [
        '-f',
        cfgFile,
        '-DD',
        '-E',
        '-m',
        '64',
        '-M',
        '8',
        '-Y',
        runDir,
        '-P',
        join(runDir, 'main.pid'),
      ],
      logFile: join(dir, 'kamailio.log'),
      pidFile: join(dir, 'kamailio.pid'),
      ports: [
        { port: sipPort, protocol: 'udp', role: 'SIP' },
        { port: evapiPort, protocol: 'tcp', role: 'evapi' },
      ],
      ready: () => tcpPortInUse(evapiPort),
      readyTimeoutMs: 30_000,
    });
    stops.push(() => kamailio.stop());
    const app = await connectEvapi(evapiPort);
    stops.push(async () => app.close());

    const [callerTone, agentTone] = await Promise.all([
      renderTone(join(dir, `caller-${CALLER_HZ}.wav`), CALLER_HZ, 120),
      renderTone(join(dir, `agent-${AGENT_HZ}.wav`), AGENT_HZ, 120),
    ]);
    // Side by side, both awaited to the end and each phone's stop registered once it is up, so
    // that one failing to start does not leave the other running.
    const started = (phone: Promise<BaresipPhone>) =>
      phone.then((p) => {
        stops.push(() => p.stop());
        return p;
      });
    const phones = await Promise.allSettled([
      started(startBaresip({ dir: join(dir, 'caller'), user: 'caller', microphone: callerTone })),
      started(
        startBaresip({
          dir: join(dir, 'agent'),
          user: 'agent',
          microphone: agentTone,
          autoAnswer: true,
        }),
      ),
    ]);
    const failed = phones.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    const [caller, agent] = phones.map(
      (r) => (r as PromiseFulfilledResult<BaresipPhone>).value,
    ) as [BaresipPhone, BaresipPhone];
    return { rtpengine, sipPort, app, dtmf, caller, agent, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
