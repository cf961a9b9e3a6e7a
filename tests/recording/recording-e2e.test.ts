// Recording end to end, with real phones and real RTP through rtpengine: the site agent process
// records an Acme Bank call from the agent's answer to the caller's hang-up, its agent pauses it
// for a card number over gRPC (AgentControl, the agent's own certificate) and the site's supervisor
// resumes it. The sealed file at rest is not audio and opens only with Acme's tenant key; the
// pcaps are gone; the index event lands in ClickHouse through the ingester.
//
// The call's media is anchored by the media tests' minimal Kamailio, bridged to the site agent's
// evapi protocol (evapi-bridge.ts), until ccfed.cfg anchors calls itself.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { site as siteApi } from '@ccfed/proto';
import { SealedRecording } from '@ccfed/site-agent/recording/sealed-recording';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { dominantFrequency, levelDb, soundSpansOf } from '../support/audio.js';
import { freshDatabase, rows, uniqueName, waitFor } from '../support/engines.js';
import { startIngester } from '../support/ingester.js';
import type { ServiceProcess } from '../support/processes.js';
import { AGENT_HZ, CALLER_HZ } from '../media/media-site.js';
import { ACME_NUMBER, startRecordingSite, type RecordingSite } from './recording-site.js';

const after = (ms: number, from: number) =>
  waitFor(`${ms} ms`, async () => (Date.now() - from >= ms ? true : undefined), ms + 10_000);

interface IndexRow {
  recording_id: string;
  call_id: string;
  tenant_id: string;
  site_id: string;
  skill: string;
  agent_id: string;
  kind: string;
  duration_ms: string;
  bytes: string;
  paused_offsets_ms: string[];
  paused_durations_ms: string[];
  paused_by: string[];
  key_id: string;
  storage_path: string;
  reason: string;
}

describe('recording a call at a site', () => {
  const dir = join(inject('runDir'), uniqueName('recording-e2e'));
  let site: RecordingSite;
  let ingester: ServiceProcess;
  let clickhouse: ClickHouseClient;

  beforeAll(async () => {
    site = await startRecordingSite(dir);
    const db = await freshDatabase();
    clickhouse = db.client;
    ingester = await startIngester({
      prefix: site.prefix,
      database: db.database,
      group: `ccfed-ingester-${uniqueName('rec')}`,
    });
    const supervisor = await site.controlAs({ kind: 'supervisor', site: 'beijing' });
    for (const agentId of ['bj-001', 'bj-003']) {
      await supervisor.login({ agentId, contactUri: site.media.agent.uri });
      await supervisor.setReady({ agentId });
    }
  });

  afterAll(async () => {
    await ingester?.stop();
    await site?.stop();
  });

  const indexRows = (callId: string) =>
    rows<IndexRow>(
      clickhouse,
      `SELECT * FROM recordings WHERE call_id = '${callId.replaceAll("'", "\\'")}' ORDER BY event_time, kind`,
    );

  it('records an answered call as one sealed stereo file, the agent’s pause silent, indexed in ClickHouse', async () => {
    const { media } = site;
    const agentControl = await site.controlAs({ kind: 'agent', site: 'beijing', agent: 'bj-001' });
    const supervisor = await site.controlAs({ kind: 'supervisor', site: 'beijing' });
    const t0 = Date.now();
    await media.caller.dial(`sip:${ACME_NUMBER}@127.0.0.1:${media.sipPort}`);
    await media.caller.waitForEvent('CALL_ESTABLISHED', { since: t0 });
    const answered = Date.now();
    const invite = media.app.events.find(
      (e) => e.event === 'invite' && e.ruriUser === ACME_NUMBER,
    )!;
    const callId = String(invite.callid);

    // The agent pauses for a card number after 3 s; the supervisor resumes 1.5 s later.
    await after(3000, answered);
    const pausedAt = Date.now();
    const paused = await agentControl.pauseRecording({ agentId: 'bj-001' });
    expect(paused.recording).toMatchObject({
      callId,
      state: siteApi.RecordingState.RECORDING_STATE_PAUSED,
    });
    await after(1500, pausedAt);
    const resumedAt = Date.now();
    const resumed = await supervisor.resumeRecording({ agentId: 'bj-001' });
    expect(resumed.recording?.state).toBe(siteApi.RecordingState.RECORDING_STATE_RECORDING);
    await after(2000, resumedAt);
    await media.caller.hangup();
    const hungUp = Date.now();

    const [stored] = await waitFor(
      'the recording indexed in ClickHouse',
      async () => {
        const r = await indexRows(callId);
        return r.length > 0 ? r : undefined;
      },
      60_000,
    );
    expect(stored).toMatchObject({
      recording_id: paused.recording!.recordingId,
      tenant_id: 'acme-bank',
      site_id: 'beijing',
      skill: 'sales',
      agent_id: 'bj-001',
      kind: 'stored',
      paused_by: ['agent:beijing/bj-001'],
      key_id: 'k1/acme-bank',
      reason: '',
    });
    // From the answer to the hang-up, as the test's clock saw them (within the signalling's lag).
    const durationMs = Number(stored!.duration_ms);
    expect(Math.abs(durationMs - (hungUp - answered))).toBeLessThan(600);
    expect(Math.abs(Number(stored!.paused_offsets_ms[0]) - (pausedAt - answered))).toBeLessThan(
      500,
    );
    expect(Math.abs(Number(stored!.paused_durations_ms[0]) - (resumedAt - pausedAt))).toBeLessThan(
      300,
    );

    // At rest: not a WAV, opens with Acme's key and no other; rtpengine's pcaps are gone.
    const atRest = join(site.recordingDir, 'store', stored!.storage_path);
    const bytes = readFileSync(atRest);
    expect(bytes.subarray(0, 4).toString('latin1')).not.toBe('RIFF');
    expect(bytes.includes(Buffer.from('WAVEfmt'))).toBe(false);
    await expect(
      SealedRecording.open(atRest, () => site.tenantKey('zenith-telecom')),
    ).rejects.toThrow(/does not authenticate/);
    const sealed = await SealedRecording.open(atRest, () => site.tenantKey('acme-bank'));
    expect(sealed.plainBytes).toBe(Number(stored!.bytes));
    const parts: Buffer[] = [];
    for await (const p of sealed.read()) parts.push(p);
    await sealed.close();
    const wav = join(dir, 'decrypted.wav');
    await import('node:fs/promises').then((fs) => fs.writeFile(wav, Buffer.concat(parts)));
    expect(
      readdirSync(join(media.rtpengine.recordingDir, 'pcaps')).filter((f) =>
        f.startsWith(encodeURIComponent(callId)),
      ),
    ).toEqual([]);

    // The audio: caller left, agent right, each with its tone while recorded, silent while paused.
    const [leftHz, rightHz] = await Promise.all([
      dominantFrequency(wav, { channel: 1, startS: 0.5, durationS: 2 }),
      dominantFrequency(wav, { channel: 2, startS: 0.5, durationS: 2 }),
    ]);
    expect(Math.abs(leftHz - CALLER_HZ) / CALLER_HZ).toBeLessThan(0.05);
    expect(Math.abs(rightHz - AGENT_HZ) / AGENT_HZ).toBeLessThan(0.05);
    const pauseS = (resumedAt - pausedAt) / 1000;
    for (const channel of [1, 2] as const) {
      const spans = await soundSpansOf(wav, { channel, bridgeMs: 200 });
      expect(spans).toHaveLength(2);
      const [a, b] = spans as [(typeof spans)[0], (typeof spans)[0]];
      expect(Math.abs(a.endS - (pausedAt - answered) / 1000)).toBeLessThan(0.5);
      expect(Math.abs(b.startS - a.endS - pauseS)).toBeLessThan(0.4);
      expect(
        await levelDb(wav, { channel, startS: a.endS + 0.1, durationS: pauseS - 0.3 }),
      ).toBeLessThan(-60);
    }
  });
});
