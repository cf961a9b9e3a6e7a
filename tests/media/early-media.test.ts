// Feasibility of the queue experience on real engines: a baresip caller dials a minimal Kamailio
// (tests/media/early-media-kamailio.ts, not ccfed.cfg) that anchors the call at rtpengine and
// answers with early media; the test, standing in for the site agent over evapi, plays a prompt
// to the queued caller, sees the digit the caller presses, then relays the call to a baresip
// agent phone that answers with a tone. The caller must hear the prompt, then the agent's tone,
// the agent the caller's tone, and the hang-up must delete rtpengine's session.
import { execFile } from 'node:child_process';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  checkKamailioConfig,
  freePort,
  KAMAILIO_BIN,
  NgCommandError,
  parseDtmfLogEvent,
  startEngine,
  startRtpengine,
  tcpPortInUse,
  type DtmfEvent,
  type EngineHandle,
  type RtpengineInstance,
} from '@ccfed/services';
import { encodeNetstring, NetstringDecoder } from '@ccfed/site-agent/kamailio/netstring';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { dominantFrequency, durationS, findPrompt, renderTone } from '../support/audio.js';
import { startBaresip, type BaresipPhone } from '../support/baresip.js';
import { uniqueName, waitFor } from '../support/engines.js';
import { BLACK_HOLE_SDP, FAR_END_TAG, earlyMediaKamailioConfig } from './early-media-kamailio.js';

const run = promisify(execFile);

type Json = Record<string, unknown>;

/** The test's side of evapi: every event Kamailio sent, and a way to send it commands. */
interface AppLink {
  readonly events: Json[];
  send(cmd: Json): void;
  next(event: string, match?: (e: Json) => boolean, timeoutMs?: number): Promise<Json>;
  close(): void;
}

async function connectEvapi(port: number): Promise<AppLink> {
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

async function speak(base: string, text: string): Promise<string> {
  await run('/usr/bin/espeak-ng', ['-v', 'en-us', '-w', `${base}-22k.wav`, text]);
  await run('/usr/bin/sox', [
    `${base}-22k.wav`,
    '-r',
    '8000',
    '-c',
    '1',
    '-b',
    '16',
    `${base}.wav`,
  ]);
  return `${base}.wav`;
}

function mediaAddress(sdp: unknown): string {
  const text = String(sdp);
  const c = /^c=IN IP4 (\S+)/m.exec(text)?.[1];
  const m = /^m=audio (\d+) /m.exec(text)?.[1];
  if (!c || !m) throw new Error(`no audio address in SDP:\n${text}`);
  return `${c}:${m}`;
}

/** rtpengine's local address for a party's stream, from ng query: where that party sends. */
async function localAddressOf(
  rtpengine: RtpengineInstance,
  callId: string,
  tag: string,
): Promise<string> {
  const reply = (await rtpengine.client.query({ callId })).reply as Record<string, any>;
  const stream = reply.tags?.[tag]?.medias?.[0]?.streams?.[0];
  if (!stream) throw new Error(`no stream for tag ${tag} in ${JSON.stringify(reply)}`);
  return `${stream['local address'] ?? '127.0.0.1'}:${stream['local port']}`;
}

describe('early media through Kamailio and rtpengine, with baresip phones', () => {
  const dir = join(inject('runDir'), uniqueName('early-media'));
  let rtpengine: RtpengineInstance;
  let kamailio: EngineHandle;
  let app: AppLink;
  let caller: BaresipPhone;
  let agent: BaresipPhone;
  let dtmfListener: UdpSocket;
  const dtmf: DtmfEvent[] = [];
  let prompt: string;
  let otherPrompt: string;
  let sipPort: number;

  beforeAll(async () => {
    mkdirSync(dir, { recursive: true });
    dtmfListener = createSocket('udp4');
    await new Promise<void>((r) => dtmfListener.bind(0, '127.0.0.1', r));
    dtmfListener.on('message', (m) => dtmf.push(parseDtmfLogEvent(m)));

    prompt = await speak(
      join(dir, 'prompt'),
      'You are number two in the queue. Your expected wait is about three minutes.',
    );
    // Never played: what a wrong prompt scores against the recording.
    otherPrompt = await speak(
      join(dir, 'other'),
      'Thank you for waiting. Press one to be called back, keeping your place.',
    );

    rtpengine = await startRtpengine({
      dataDir: join(dir, 'rtpengine'),
      dtmfLogDest: { host: '127.0.0.1', port: dtmfListener.address().port },
    });
    sipPort = await freePort();
    const evapiPort = await freePort();
    const config = earlyMediaKamailioConfig({
      sip: sipPort,
      evapi: evapiPort,
      rtpengineNg: rtpengine.ng.port,
    });
    const check = await checkKamailioConfig(config);
    expect(check.output).not.toMatch(/ERROR|CRITICAL/);
    const cfgFile = join(dir, 'kamailio.cfg');
    writeFileSync(cfgFile, config);
    mkdirSync(join(dir, 'kamailio-run'), { recursive: true });
    kamailio = await startEngine({
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
        join(dir, 'kamailio-run'),
        '-P',
        join(dir, 'kamailio-run', 'main.pid'),
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
    app = await connectEvapi(evapiPort);

    const [callerTone, agentTone] = await Promise.all([
      renderTone(join(dir, 'caller-400.wav'), 400, 120),
      renderTone(join(dir, 'agent-1000.wav'), 1000, 120),
    ]);
    [caller, agent] = await Promise.all([
      startBaresip({ dir: join(dir, 'caller'), user: 'caller', microphone: callerTone }),
      startBaresip({
        dir: join(dir, 'agent'),
        user: 'agent',
        microphone: agentTone,
        autoAnswer: true,
      }),
    ]);
  });

  afterAll(async () => {
    app?.close();
    await Promise.allSettled([caller?.stop(), agent?.stop()]);
    await Promise.allSettled([kamailio?.stop(), rtpengine?.stop()]);
    dtmfListener?.close();
  });

  it('plays a prompt as early media, reports a queued digit, then connects the agent both ways and deletes the session on BYE', async () => {
    const t0 = Date.now();
    await caller.dial(`sip:4001@127.0.0.1:${sipPort}`);
    const invite = await app.next('invite');
    const callId = String(invite.callid);
    const fromTag = String(invite.fromTag);
    // Kamailio has sent rtpengine the caller's offer ($rb is the body as received).
    const callerAddress = mediaAddress(invite.sdp);

    // The site agent answers rtpengine for the far end that does not exist yet (the black
    // hole), under FAR_END_TAG, and gets the SDP for the caller: rtpengine's caller-facing port.
    const early = await rtpengine.client.answer({
      callId,
      fromTag,
      toTag: FAR_END_TAG,
      sdp: BLACK_HOLE_SDP,
    });
    const earlyAddress = mediaAddress(early.sdp);
    expect(Number(earlyAddress.split(':')[1])).toBeGreaterThanOrEqual(rtpengine.rtpPorts.min);
    expect(earlyAddress).not.toBe(callerAddress);
    expect(await localAddressOf(rtpengine, callId, fromTag)).toBe(earlyAddress);
    // The far end's port, from the offer: what the relayed INVITE will tell the agent.
    const farEndAddress = await localAddressOf(rtpengine, callId, FAR_END_TAG);

    // 183 Session Progress with that SDP: the caller starts early media.
    app.send({
      action: 'provisional',
      callid: callId,
      cseq: invite.cseq,
      code: 183,
      toTag: FAR_END_TAG,
      sdp: early.sdp,
    });
    expect((await app.next('result')).ok).toBe(1);
    const progress = await caller.waitForEvent('CALL_PROGRESS', { since: t0 });

    const played = Date.now();
    app.send({ action: 'play', callid: callId, fromTag, earlyTag: FAR_END_TAG, file: prompt });
    const play = await app.next('result');
    expect(play.ok).toBe(1);
    const promptS = await durationS(prompt);
    expect(Number(play.mediaMs)).toBeGreaterThan(promptS * 1000 - 100);

    // The caller presses 1 while queued; rtpengine reports it to the DTMF listener.
    await caller.sendDigit('1');
    const digit = await waitFor('DTMF event', async () => dtmf.find((d) => d.callId === callId));
    expect(digit).toMatchObject({ digit: '1', sourceTag: fromTag });

    // Stay queued until the prompt has played out, then relay to the agent.
    await waitFor('prompt played out', async () =>
      Date.now() - played > promptS * 1000 + 1000 ? true : undefined,
    );
    app.send({ action: 'relay', tindex: invite.tindex, tlabel: invite.tlabel, uri: agent.uri });
    const answered = await app.next('answered');
    // rtpengine still knows two parties, the caller and the far end, now the agent: the caller
    // sends to the port the 183 gave it, the agent to the one the relayed INVITE gave it.
    expect([...(await rtpengine.client.query({ callId })).tags].sort()).toEqual(
      [FAR_END_TAG, fromTag].sort(),
    );
    expect(answered.toTag).not.toBe(FAR_END_TAG);
    expect(await localAddressOf(rtpengine, callId, fromTag)).toBe(earlyAddress);
    expect(await localAddressOf(rtpengine, callId, FAR_END_TAG)).toBe(farEndAddress);
    const established = await caller.waitForEvent('CALL_ESTABLISHED', { since: t0 });
    await agent.waitForEvent('CALL_ESTABLISHED', { since: t0 });

    await waitFor('three seconds of conversation', async () =>
      Date.now() - established.at > 3000 ? true : undefined,
    );
    await caller.hangup();
    const deleted = await app.next('deleted');
    expect(deleted).toMatchObject({ method: 'BYE', callid: callId });
    await expect(rtpengine.client.query({ callId })).rejects.toThrow(NgCommandError);
    await agent.waitForEvent('CALL_CLOSED', { since: t0 });

    // What the caller heard: the prompt (as a whole, matched against the rendered file), then
    // the agent's tone.
    // One audio stream from the 183 to the hang-up (the agent's 180 without SDP was absorbed,
    // or baresip would have restarted it): the prompt first, the agent's tone at the end.
    const heard = caller.recordings().heard;
    expect(heard).toHaveLength(1);
    const match = await findPrompt(heard[0]!, prompt);
    expect(match.correlation).toBeGreaterThan(0.8);
    expect((await findPrompt(heard[0]!, otherPrompt)).correlation).toBeLessThan(0.5);
    expect(match.offsetS).toBeLessThan((established.at - progress.at) / 1000 - promptS + 0.5);
    const answeredHeard = heard[0]!;
    const total = await durationS(answeredHeard);
    const callerHz = await dominantFrequency(answeredHeard, { startS: total - 2.5, durationS: 2 });
    expect(Math.abs(callerHz - 1000) / 1000).toBeLessThan(0.05);
    // What the agent heard: the caller's tone.
    const agentHeard = agent.recordings().heard.at(-1)!;
    const agentHz = await dominantFrequency(agentHeard, {
      startS: 0.5,
      durationS: Math.min(2, (await durationS(agentHeard)) - 0.5),
    });
    expect(Math.abs(agentHz - 400) / 400).toBeLessThan(0.05);
  });
});
