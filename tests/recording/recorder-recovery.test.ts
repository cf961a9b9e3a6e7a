// The recorder against a real rtpengine, without the site agent around it: a recording left
// behind by a site agent that stopped mid-call (its recorder gone with it) is finished by the next
// one from rtpengine's spool, once the call is over: sealed, indexed, its pcaps deleted. The call
// is driven the way the media tests drive it (the test stands in for the call flow). And a pause
// that rtpengine did not carry out (it hung) fails the recording and discards what it wrote: a
// card number read out must not wait in a pcap for a recovery that knows nothing of the pause.
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger, systemClock } from '@ccfed/common';
import type { RecordingEvent } from '@ccfed/proto';
import { pcapsToStereoWav } from '@ccfed/services';
import { EventStamper } from '@ccfed/site-agent/events/event-meta';
import { Recorder, type RecordingControl } from '@ccfed/site-agent/recording/recorder';
import { parseRecordingKeys } from '@ccfed/site-agent/recording/recording-keys';
import { RecordingLibrary } from '@ccfed/site-agent/recording/recording-library';
import { RecordingStore } from '@ccfed/site-agent/recording/recording-store';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { toneWhereSounding } from '../support/audio.js';
import { uniqueName, waitFor } from '../support/engines.js';
import { KAMAILIO_EARLY_ANSWER_PREFIX } from '../media/early-media-kamailio.js';
import { AGENT_HZ, CALLER_HZ, startMediaSite, type MediaSite } from '../media/media-site.js';

describe('a recording left behind by a stopped site agent', () => {
  const dir = join(inject('runDir'), uniqueName('recorder-recovery'));
  let site: MediaSite;
  const keyring = parseRecordingKeys(
    JSON.stringify({ current: 'k1', keys: { k1: Buffer.alloc(32, 9).toString('base64') } }),
    'test keys',
  );
  const events: RecordingEvent[] = [];
  const recorder = (control: RecordingControl = site.rtpengine.client) =>
    new Recorder({
      siteId: 'beijing',
      clock: systemClock,
      control,
      spoolDir: site.rtpengine.recordingDir,
      store: new RecordingStore(join(dir, 'recordings')),
      keyring,
      retentionMs: () => 86_400_000,
      makeWav: pcapsToStereoWav,
      publish: async (e) => void events.push(e),
      stamper: new EventStamper({ clock: systemClock, siteId: 'beijing' }),
      log: silentLogger(),
    });

  /** Dials through the minimal Kamailio to the agent phone; resolves with the answered INVITE. */
  async function answeredCall() {
    const { app, caller, agent, sipPort } = site;
    const t0 = Date.now();
    await caller.dial(`sip:${KAMAILIO_EARLY_ANSWER_PREFIX}00100@127.0.0.1:${sipPort}`);
    const invite = await app.next('invite');
    app.send({ action: 'relay', tindex: invite.tindex, tlabel: invite.tlabel, uri: agent.uri });
    await app.next('answered');
    await caller.waitForEvent('CALL_ESTABLISHED', { since: t0 });
    return invite;
  }

  const pcaps = () => readdirSync(join(site.rtpengine.recordingDir, 'pcaps'));

  beforeAll(async () => {
    site = await startMediaSite(dir);
  });

  afterAll(async () => {
    await site?.stop();
  });

  it('is finished by the next run from the spool: sealed, indexed, its pcaps gone', async () => {
    const { rtpengine, app, caller } = site;
    const invite = await answeredCall();
    const callId = String(invite.callid);

    // The first run starts recording, then is gone (no stop, no finishing): a crash.
    const first = recorder();
    first.start({
      callId,
      callerTag: String(invite.fromTag),
      tenantId: 'acme-bank',
      skill: 'sales',
      agentId: 'bj-001',
    });
    await waitFor('the recording started', async () => (pcaps().length > 0 ? true : undefined));
    const started = Date.now();
    await waitFor('3 s of call', async () => (Date.now() - started > 3000 ? true : undefined));

    // The next run finds nothing to finish while the call still records into an open pcap...
    const next = recorder();
    expect(await next.recoverLeftovers()).toBe(0);
    // ...and finishes it once the call is over and rtpengine has closed it.
    await caller.hangup();
    await app.next('deleted');
    await waitFor('the recording closed', async () =>
      readdirSync(join(rtpengine.recordingDir, 'metadata')).length > 0 ? true : undefined,
    );
    expect(await next.recoverLeftovers()).toBe(1);
    await next.drain(60_000);

    expect(events.map((e) => e.kind?.$case)).toEqual(['stored']);
    const stored = events[0]!;
    expect(stored).toMatchObject({ callId, agentId: 'bj-001', meta: { tenantId: 'acme-bank' } });
    if (stored.kind?.$case !== 'stored') throw new Error('not stored');
    expect(stored.kind.value.durationMs).toBeGreaterThan(2500);
    expect(readdirSync(join(rtpengine.recordingDir, 'pcaps'))).toEqual([]);
    expect(readdirSync(join(rtpengine.recordingDir, 'metadata'))).toEqual([]);
    // Nothing is finished twice.
    expect(await next.recoverLeftovers()).toBe(0);

    const store = new RecordingStore(join(dir, 'recordings'));
    const opened = await new RecordingLibrary(store, keyring).open('acme-bank', stored.recordingId);
    const parts: Buffer[] = [];
    for await (const p of opened!.audio.read()) parts.push(p);
    await opened!.audio.close();
    const wav = join(dir, 'recovered.wav');
    writeFileSync(wav, Buffer.concat(parts));
    const [left, right] = await Promise.all([toneWhereSounding(wav, 1), toneWhereSounding(wav, 2)]);
    expect(Math.abs(left - CALLER_HZ) / CALLER_HZ).toBeLessThan(0.05);
    expect(Math.abs(right - AGENT_HZ) / AGENT_HZ).toBeLessThan(0.05);
  });

  it('fails a recording whose pause rtpengine did not carry out, and discards what it wrote', async () => {
    events.length = 0;
    const invite = await answeredCall();
    const callId = String(invite.callid);
    const rec = recorder();
    rec.start({
      callId,
      callerTag: String(invite.fromTag),
      tenantId: 'acme-bank',
      skill: 'sales',
      agentId: 'bj-001',
    });
    await waitFor('the recording started', async () => (pcaps().length > 0 ? true : undefined));
    // rtpengine hangs (stopped by its pid, this test's own process): the pause's stop recording
    // is never answered.
    const { pid } = site.rtpengine.handle;
    process.kill(pid, 'SIGSTOP');
    try {
      rec.pause(callId, 'agent:beijing/bj-001');
      await waitFor(
        'the recording failed',
        async () => (events.some((e) => e.kind?.$case === 'failed') ? true : undefined),
        30_000,
      );
      await waitFor('the pcaps discarded', async () => (pcaps().length === 0 ? true : undefined));
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    expect(events[0]).toMatchObject({
      callId,
      kind: {
        $case: 'failed',
        value: {
          reason: expect.stringMatching(/^pause: rtpengine .* did not answer "stop recording"/),
        },
      },
    });
    // The hang-up that follows changes nothing: no recording to stop or finish.
    await site.caller.hangup();
    await site.app.next('deleted');
    rec.stop(callId, 'hang_up');
    await rec.drain(5_000);
    expect(events.map((e) => e.kind?.$case)).toEqual(['failed']);
    // rtpengine, running again, closed the discarded pcap: its metadata file goes too.
    expect(await rec.recoverLeftovers()).toBe(0);
    expect(pcaps()).toEqual([]);
    expect(readdirSync(join(site.rtpengine.recordingDir, 'metadata'))).toEqual([]);
  });
});
