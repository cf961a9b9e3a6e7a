// Recording end to end, with real phones and real RTP through rtpengine: the site agent process
// records an Acme Bank call from the agent's answer to the caller's hang-up, its agent pauses it
// for a card number over gRPC (AgentControl, the agent's own certificate) and the site's supervisor
// resumes it. The sealed file at rest is not audio and opens only with Acme's tenant key; the
// pcaps are gone; the index event lands in ClickHouse through the ingester. The API process plays
// it, streamed from the site over mutual TLS: both tones on their channels for the recorded spans
// and the pause silent, byte ranges too; to HQ, the site's supervisor and Acme, and to nobody else
// (403). A Zenith call's recording outlives its tenant's retention (25 s here): the site deletes
// it, the deletion lands in ClickHouse, and the API answers 404 saying so.
// The console (Chromium, headless) lists the recording for Acme's client and plays it in its
// <audio> player, seeking with a byte range.
//
// The call's media is anchored by the media tests' minimal Kamailio, bridged to the site agent's
// evapi protocol (evapi-bridge.ts), until ccfed.cfg anchors calls itself.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { site as siteApi } from '@ccfed/proto';
import { SealedRecording } from '@ccfed/site-agent/recording/sealed-recording';
import type { Page } from 'playwright-core';
import { launchChromium } from '../support/browser.js';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildConsoleIfStale, CONSOLE_DIST } from '../../scripts/console-build.js';
import { toneWhereSounding, levelDb, soundSpansOf } from '../support/audio.js';
import { freshDatabase, rows, uniqueName, waitFor } from '../support/engines.js';
import { startApiProcess, type ApiProcess } from '../support/api-process.js';
import { startIngester } from '../support/ingester.js';
import type { ServiceProcess } from '../support/processes.js';
import { AGENT_HZ, CALLER_HZ } from '../media/media-site.js';
import {
  ACME_NUMBER,
  startRecordingSite,
  ZENITH_NUMBER,
  ZENITH_RETENTION_S,
  type RecordingSite,
} from './recording-site.js';

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

const PASSWORD = 'the recording test users’ password';
/** Who logs in to the API: HQ, Beijing's and Shanghai's supervisors, and each tenant's client. */
const USERS = {
  hq: { role: 'hq' },
  'bj.sup': { role: 'site', siteId: 'beijing' },
  'sh.sup': { role: 'site', siteId: 'shanghai' },
  'acme.client': { role: 'tenant', tenantId: 'acme-bank' },
  'zenith.client': { role: 'tenant', tenantId: 'zenith-telecom' },
} as const;
type User = keyof typeof USERS;

/**
 * The console's <audio> element as a page function sees it (the tests have no DOM types; the
 * console's CSP forbids evaluating strings, so page functions are functions).
 */
type PageGlobal = { document: { querySelector(selector: string): AudioLike | null } };
interface AudioLike {
  readonly readyState: number;
  readonly duration: number;
  currentTime: number;
}

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Buffer;
  json(): any;
}

describe('recording a call at a site', () => {
  const dir = join(inject('runDir'), uniqueName('recording-e2e'));
  let site: RecordingSite;
  let ingester: ServiceProcess;
  let api: ApiProcess;
  let apiBase: string;
  let clickhouse: ClickHouseClient;
  const tokens = new Map<User, string>();
  /** The Acme recording the first case makes, for the others. */
  let acme: { recordingId: string; callId: string; bytes: number } | undefined;

  async function ask(
    as: User,
    method: 'GET' | 'POST',
    path: string,
    opts: { body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<Answer> {
    const res = await fetch(`${apiBase}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${tokens.get(as)}`,
        ...(opts.body !== undefined && { 'content-type': 'application/json' }),
        ...opts.headers,
      },
      ...(opts.body !== undefined && { body: JSON.stringify(opts.body) }),
    });
    const body = Buffer.from(await res.arrayBuffer());
    return {
      status: res.status,
      headers: res.headers,
      body,
      json: () => JSON.parse(body.toString()),
    };
  }

  /** The playback URL the API hands `as` for a recording (the console's <audio> src). */
  const playback = (as: User, recordingId: string) =>
    ask(as, 'POST', '/api/v1/recordings/playback', { body: { recordingId } });

  /** What an <audio> element fetching `url` gets: no Authorization header, only the ticket. */
  async function fetchAudio(url: string, headers: Record<string, string> = {}): Promise<Answer> {
    const res = await fetch(`${apiBase}${url}`, { headers });
    const body = Buffer.from(await res.arrayBuffer());
    return {
      status: res.status,
      headers: res.headers,
      body,
      json: () => JSON.parse(body.toString()),
    };
  }

  beforeAll(async () => {
    buildConsoleIfStale();
    site = await startRecordingSite(dir);
    const db = await freshDatabase();
    clickhouse = db.client;
    ingester = await startIngester({
      prefix: site.prefix,
      database: db.database,
      group: `ccfed-ingester-${uniqueName('rec')}`,
    });
    api = await startApiProcess({
      dir,
      database: db.database,
      topologyFile: site.topologyFile,
      users: Object.entries(USERS).map(([username, u]) => ({ username, ...u })),
      password: PASSWORD,
      env: { CCFED_CONSOLE_DIR: CONSOLE_DIST },
    });
    apiBase = api.base;
    for (const [username, token] of api.tokens) tokens.set(username as User, token);
    const supervisor = await site.controlAs({ kind: 'supervisor', site: 'beijing' });
    for (const agentId of ['bj-001', 'bj-003']) {
      await supervisor.login({ agentId, contactUri: site.media.agent.uri });
      await supervisor.setReady({ agentId });
    }
  });

  afterAll(async () => {
    await api?.stop();
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
    const decrypted = Buffer.concat(parts);
    expect(decrypted.subarray(0, 4).toString('latin1')).toBe('RIFF');
    expect(
      readdirSync(join(media.rtpengine.recordingDir, 'pcaps')).filter((f) =>
        f.startsWith(encodeURIComponent(callId)),
      ),
    ).toEqual([]);

    // Played through the API to HQ: streamed from the site, the same audio as at rest.
    const url = playback('hq', stored!.recording_id);
    const { url: src } = (await url).json();
    const played = await fetchAudio(src);
    expect(played.status).toBe(200);
    expect(played.headers.get('content-type')).toBe('audio/wav');
    expect(played.headers.get('accept-ranges')).toBe('bytes');
    expect(played.body.equals(decrypted)).toBe(true);
    const wav = join(dir, 'played.wav');
    writeFileSync(wav, played.body);
    acme = { recordingId: stored!.recording_id, callId, bytes: decrypted.length };

    // The audio: caller left, agent right, each with its tone while recorded, silent while paused.
    const [leftHz, rightHz] = await Promise.all([
      toneWhereSounding(wav, 1),
      toneWhereSounding(wav, 2),
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

  it('plays byte ranges, as a player seeking asks', async () => {
    const { url } = (await playback('bj.sup', acme!.recordingId)).json();
    const head = await fetchAudio(url, { range: 'bytes=0-43' });
    expect(head.status).toBe(206);
    expect(head.headers.get('content-range')).toBe(`bytes 0-43/${acme!.bytes}`);
    expect(head.body.subarray(0, 4).toString('latin1')).toBe('RIFF');
    expect(head.body).toHaveLength(44);
    const tail = await fetchAudio(url, { range: 'bytes=-1000' });
    expect(tail.status).toBe(206);
    expect(tail.headers.get('content-range')).toBe(
      `bytes ${acme!.bytes - 1000}-${acme!.bytes - 1}/${acme!.bytes}`,
    );
    const past = await fetchAudio(url, { range: `bytes=${acme!.bytes}-` });
    expect(past.status).toBe(416);
    expect(past.headers.get('content-range')).toBe(`bytes */${acme!.bytes}`);
  });

  it('plays a recording to HQ, its site’s supervisor and its tenant only: 403 for anyone else', async () => {
    const id = acme!.recordingId;
    for (const who of ['hq', 'bj.sup', 'acme.client'] as const) {
      const { url } = (await playback(who, id)).json();
      const audio = await fetchAudio(url);
      expect(audio.status, who).toBe(200);
      expect(audio.body.length, who).toBe(acme!.bytes);
    }
    const refusal = {
      'zenith.client': `tenant zenith-telecom may not hear recording ${id} of another tenant`,
      'sh.sup': `the supervisor of site shanghai may not hear recording ${id}, kept at site beijing`,
    } as const;
    for (const [who, error] of Object.entries(refusal) as [User, string][]) {
      expect((await playback(who, id)).status, who).toBe(403);
      // Asking the audio route itself with a bearer token: refused the same way.
      const direct = await ask(who, 'GET', `/api/v1/recordings/audio?id=${id}`);
      expect(direct.status, who).toBe(403);
      expect(direct.json(), who).toEqual({ error });
      // The listing never shows it to them.
      const list = await ask(
        who,
        'GET',
        `/api/v1/recordings?callId=${encodeURIComponent(acme!.callId)}`,
      );
      expect(list.json().rows, who).toEqual([]);
    }
    // A ticket is the recording's own: it opens no other.
    const { url } = (await playback('acme.client', id)).json();
    expect((await fetchAudio(`${url}x`)).status).toBe(401);
    expect((await fetchAudio(`/api/v1/recordings/audio?id=${id}`)).status).toBe(401);
  });

  it('lists the recording in the console and plays it in the <audio> player, by byte ranges', async () => {
    const browser = await launchChromium();
    const cspViolations: string[] = [];
    const open = async (username: User): Promise<Page> => {
      const page = await browser.newPage();
      page.on('console', (msg) => {
        if (/Content Security Policy/i.test(msg.text())) cspViolations.push(msg.text());
      });
      await page.goto(`${apiBase}/`);
      await page.locator('input[name="username"]').fill(username);
      await page.locator('input[name="password"]').fill(PASSWORD);
      await page.locator('button[type="submit"]').click();
      await page.locator('input[name="username"]').waitFor({ state: 'detached' });
      await page.goto(`${apiBase}/#/recordings`);
      return page;
    };
    try {
      const page = await open('acme.client');
      const row = page.getByTestId(`recording-${acme!.recordingId}`);
      await row.waitFor({ timeout: 15_000 });
      const text = await row.innerText();
      for (const expected of [
        'beijing',
        'acme-bank',
        'bj-001',
        'sales',
        'available',
        'by agent:beijing/bj-001',
      ])
        expect(text).toContain(expected);

      const fetched: { range: string; status: number }[] = [];
      page.on('response', (r) => {
        if (r.url().includes('/api/v1/recordings/audio'))
          fetched.push({ range: r.request().headers().range ?? 'none', status: r.status() });
      });
      await row.getByTestId('play').click();
      const player = page.getByTestId('player');
      await player.waitFor();
      await page.waitForFunction(
        () => {
          const a = (globalThis as unknown as PageGlobal).document.querySelector(
            '[data-testid="player"]',
          );
          return a !== null && a.readyState >= 1 && Number.isFinite(a.duration);
        },
        undefined,
        { timeout: 15_000 },
      );
      const duration = await player.evaluate((a) => (a as unknown as AudioLike).duration);
      expect(
        Math.abs(
          duration * 1000 -
            Number((await playback('hq', acme!.recordingId)).json().recording.durationMs),
        ),
      ).toBeLessThan(100);
      // It plays: the clock moves on; and it seeks.
      await page.waitForFunction(
        () =>
          ((globalThis as unknown as PageGlobal).document.querySelector('[data-testid="player"]')
            ?.currentTime ?? 0) > 0.3,
        undefined,
        { timeout: 15_000 },
      );
      await player.evaluate((a) => {
        const audio = a as unknown as AudioLike;
        audio.currentTime = audio.duration - 1;
      });
      await page.waitForFunction(
        () => {
          const a = (globalThis as unknown as PageGlobal).document.querySelector(
            '[data-testid="player"]',
          );
          return a !== null && a.currentTime >= a.duration - 1.05;
        },
        undefined,
        { timeout: 10_000 },
      );
      // Chromium fetches media by byte range, and the API answers it with 206.
      expect(fetched.length).toBeGreaterThan(0);
      expect(fetched.every((f) => f.status === 206 && /^bytes=\d+-/.test(f.range))).toBe(true);
      mkdirSync(join(inject('runDir'), 'screenshots'), { recursive: true });
      await page.screenshot({ path: join(inject('runDir'), 'screenshots', 'recordings.png') });

      // Naming another tenant is refused, with the server's reason on the page.
      await page.getByTestId('recordings-tenant').fill('zenith-telecom');
      await page.getByTestId('recordings-apply').click();
      await expect
        .poll(() =>
          page
            .getByTestId('error')
            .innerText()
            .catch(() => ''),
        )
        .toContain('tenant acme-bank may not read tenant zenith-telecom');

      // Zenith's client sees none of Acme's recordings.
      const zenith = await open('zenith.client');
      await zenith.getByTestId('no-recordings').waitFor({ timeout: 15_000 });
      expect(await zenith.getByTestId(`recording-${acme!.recordingId}`).count()).toBe(0);
      expect(cspViolations).toEqual([]);
    } finally {
      await browser.close();
    }
  });

  it('deletes a recording once its tenant’s retention runs out: recorded in ClickHouse, 404 from then on', async () => {
    const { media } = site;
    const t0 = Date.now();
    await media.caller.dial(`sip:${ZENITH_NUMBER}@127.0.0.1:${media.sipPort}`);
    await media.caller.waitForEvent('CALL_ESTABLISHED', { since: t0 });
    const answered = Date.now();
    const callId = String(
      media.app.events.find((e) => e.event === 'invite' && e.ruriUser === ZENITH_NUMBER)!.callid,
    );
    await after(2000, answered);
    await media.caller.hangup();

    const [stored] = await waitFor(
      'the Zenith recording indexed',
      async () => {
        const r = await indexRows(callId);
        return r.length > 0 ? r : undefined;
      },
      60_000,
    );
    expect(stored).toMatchObject({
      kind: 'stored',
      tenant_id: 'zenith-telecom',
      agent_id: 'bj-003',
    });
    const id = stored!.recording_id;
    const { url } = (await playback('zenith.client', id)).json();
    expect((await fetchAudio(url)).status).toBe(200);
    const atRest = join(site.recordingDir, 'store', stored!.storage_path);
    expect(existsSync(atRest)).toBe(true);

    // The site's retention job deletes it ZENITH_RETENTION_S after it started, and records that it did.
    const rows = await waitFor(
      'the deletion indexed',
      async () => {
        const r = await indexRows(callId);
        return r.some((x) => x.kind === 'deleted') ? r : undefined;
      },
      (ZENITH_RETENTION_S + 60) * 1000,
    );
    const deleted = rows.find((r) => r.kind === 'deleted')!;
    expect(deleted).toMatchObject({
      recording_id: id,
      tenant_id: 'zenith-telecom',
      site_id: 'beijing',
      reason: 'retention',
      storage_path: stored!.storage_path,
    });
    expect(Date.now() - answered).toBeGreaterThanOrEqual(ZENITH_RETENTION_S * 1000 - 1000);
    expect(existsSync(atRest)).toBe(false);

    // Gone: the ticket handed out before, a new one, the audio route; the listing says when and why.
    const gone = await fetchAudio(url);
    expect(gone.status).toBe(404);
    expect(gone.json().error).toMatch(
      new RegExp(`^recording ${id} was deleted at .* \\(retention\\)$`),
    );
    expect((await playback('zenith.client', id)).status).toBe(404);
    expect((await ask('hq', 'GET', `/api/v1/recordings/audio?id=${id}`)).status).toBe(404);
    const [listed] = (
      await ask('zenith.client', 'GET', `/api/v1/recordings?callId=${encodeURIComponent(callId)}`)
    ).json().rows;
    expect(listed).toMatchObject({
      recordingId: id,
      status: 'deleted',
      deletedReason: 'retention',
    });
    // Acme's recording, kept 30 days, is still there.
    expect(existsSync(join(site.recordingDir, 'store', 'acme-bank'))).toBe(true);
  });
});
