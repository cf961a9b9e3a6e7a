// rtpengine's pcap recording of an answered call, paused and resumed, turned into one stereo WAV
// (caller left, agent right) with tshark and sox: each channel holds its party's tone, for as
// long as it was recorded, and the paused span is silent in both.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pcapsToStereoWav } from '@ccfed/services';
import { callerPortOf } from '@ccfed/site-agent/recording/recorder';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { toneWhereSounding, levelDb, soundSpansOf } from '../support/audio.js';
import { uniqueName, waitFor } from '../support/engines.js';
import { BLACK_HOLE_SDP, FAR_END_TAG } from './early-media-kamailio.js';
import { AGENT_HZ, CALLER_HZ, startMediaSite, type MediaSite } from './media-site.js';

const after = (ms: number, from: number) =>
  waitFor(`${ms} ms`, async () => (Date.now() - from >= ms ? true : undefined), ms + 10_000);

describe('recording an answered call with rtpengine', () => {
  const dir = join(inject('runDir'), uniqueName('recording'));
  let site: MediaSite;

  beforeAll(async () => {
    site = await startMediaSite(dir);
  });

  afterAll(async () => {
    await site?.stop();
  });

  it('records both parties to pcap, and becomes a stereo WAV with each tone on its channel and the pause silent', async () => {
    const { rtpengine, app, caller, agent, sipPort } = site;
    const t0 = Date.now();
    await caller.dial(`sip:4002@127.0.0.1:${sipPort}`);
    const invite = await app.next('invite');
    const callId = String(invite.callid);
    const early = await rtpengine.client.answer({
      callId,
      fromTag: String(invite.fromTag),
      toTag: FAR_END_TAG,
      sdp: BLACK_HOLE_SDP,
    });
    app.send({
      action: 'provisional',
      callid: callId,
      cseq: invite.cseq,
      code: 183,
      toTag: FAR_END_TAG,
      sdp: early.sdp,
    });
    await app.next('result');
    app.send({ action: 'relay', tindex: invite.tindex, tlabel: invite.tlabel, uri: agent.uri });
    await app.next('answered');
    await caller.waitForEvent('CALL_ESTABLISHED', { since: t0 });
    // rtpengine's port the caller sends to, asked once the call is answered, as the site agent's
    // recorder asks (the early answer's port may be replaced by the agent's answer).
    const callerPort = callerPortOf(
      (await rtpengine.client.query({ callId })).reply,
      String(invite.fromTag),
    );

    // Record 3 s, pause 1.5 s (rtpengine 10.5: stop, then start again), record 2 s more.
    const started = Date.now();
    await rtpengine.client.startRecording({ callId, metadata: 'tenant:acme|skill:sales' });
    await after(3000, started);
    const paused = Date.now();
    await rtpengine.client.pauseRecording({ callId });
    await after(1500, paused);
    const resumed = Date.now();
    await rtpengine.client.resumeRecording({ callId });
    await after(2000, resumed);
    await caller.hangup();
    await app.next('deleted');

    // Where the files land: <recording-dir>/pcaps/<call-id>-<random>.pcap, one per start, and
    // a metadata file per start in metadata/ naming its pcap, once recording stops or the call ends.
    const pcapDir = join(rtpengine.recordingDir, 'pcaps');
    const pcaps = readdirSync(pcapDir)
      .filter((f) => f.startsWith(encodeURIComponent(callId)) && f.endsWith('.pcap'))
      .map((f) => join(pcapDir, f));
    expect(pcaps).toHaveLength(2);
    const metadata = await waitFor('metadata files', async () => {
      const files = readdirSync(join(rtpengine.recordingDir, 'metadata'));
      return files.length >= 2 ? files : undefined;
    });
    const meta = metadata.map((f) =>
      readFileSync(join(rtpengine.recordingDir, 'metadata', f), 'utf8'),
    );
    expect(meta.some((m) => pcaps.some((p) => m.startsWith(p)))).toBe(true);
    expect(meta.join('\n')).toContain('tenant:acme|skill:sales');

    const out = join(dir, 'call.wav');
    const { durationS } = await pcapsToStereoWav({ pcaps, callerPort, out });
    // From the first recorded packet to the last: 3 s + 1.5 s paused + 2 s.
    expect(durationS).toBeGreaterThan(6.5 - 0.5);
    expect(durationS).toBeLessThan(6.5 + 0.6);

    const [leftHz, rightHz] = await Promise.all([
      toneWhereSounding(out, 1),
      toneWhereSounding(out, 2),
    ]);
    expect(Math.abs(leftHz - CALLER_HZ) / CALLER_HZ).toBeLessThan(0.05);
    expect(Math.abs(rightHz - AGENT_HZ) / AGENT_HZ).toBeLessThan(0.05);

    const recordedFirst = (paused - started) / 1000;
    const pause = (resumed - paused) / 1000;
    for (const channel of [1, 2] as const) {
      const spans = await soundSpansOf(out, { channel, bridgeMs: 200 });
      expect(spans).toHaveLength(2);
      const [a, b] = spans as [(typeof spans)[0], (typeof spans)[0]];
      expect(a.endS - a.startS).toBeGreaterThan(recordedFirst - 0.4);
      expect(a.endS - a.startS).toBeLessThan(recordedFirst + 0.4);
      expect(b.startS - a.endS).toBeGreaterThan(pause - 0.4);
      expect(b.startS - a.endS).toBeLessThan(pause + 0.4);
      // The paused span is digital silence, not just quiet.
      expect(
        await levelDb(out, { channel, startS: a.endS + 0.2, durationS: pause - 0.6 }),
      ).toBeLessThan(-60);
    }
  });
});
