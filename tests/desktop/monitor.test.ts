/// <reference lib="dom" />
// (The page functions below run in Chromium: they are typed with the DOM.)
// Silent monitoring end to end: Beijing as production runs it (rtpengine, Kamailio on ccfed.cfg,
// the site agent process), the API process, a baresip caller playing 400 Hz connected to a baresip
// agent playing 1000 Hz, and a supervisor in Chromium who listens through the API with the
// desktop's monitor module (central/desktop/src/monitor/monitor.ts). The supervisor hears both
// parties on two streams and tells them apart by their tones; the parties do not hear the
// supervisor (whose fake microphone plays 2600 Hz, and whose attempt to answer sendrecv is
// refused); another tenant's supervisor is refused at the API (403) and at the site agent
// (PERMISSION_DENIED); stopping leaves nothing of the monitor in rtpengine.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { principalUri, type Principal } from '@ccfed/common';
import { site as siteApi } from '@ccfed/proto';
import { createClient, Metadata, Status, ClientError } from 'nice-grpc';
import { type Browser, type Page } from 'playwright-core';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { parseRecordingKeys } from '@ccfed/site-agent/recording/recording-keys';
import { RecordingLibrary } from '@ccfed/site-agent/recording/recording-library';
import { RecordingStore } from '@ccfed/site-agent/recording/recording-store';
import { launchWebrtcChromium } from '../support/browser.js';
import { readSamples, renderTone, toneWhereSounding, RATE } from '../support/audio.js';
import { startBaresips, type BaresipPhone } from '../support/baresip.js';
import { freshDatabase, uniqueName, waitFor } from '../support/engines.js';
import { startApiProcess, type ApiProcess } from '../support/api-process.js';
import { startSite, type RunningSite } from '../support/running-site.js';
import { siteChannel } from '../support/security.js';

const CALLER_HZ = 400;
const AGENT_HZ = 1000;
const SUPERVISOR_HZ = 2600;
/** Beijing's Acme sales number; its one agent here is bj-001 (Acme). */
const ACME_SALES = '400200100';
const AGENT = 'bj-001';
const MODULE = new URL('../../central/desktop/src/monitor/monitor.ts', import.meta.url).pathname;
/** Kept after the run, with the console test's. */
const SCREENSHOTS = new URL('../../.ccfed/test/screenshots', import.meta.url).pathname;

const PASSWORD = 'the monitoring test users’ password';
const USERS = {
  hq: { role: 'hq' },
  'bj.sup': { role: 'site', siteId: 'beijing' },
  'sh.sup': { role: 'site', siteId: 'shanghai' },
  'acme.client': { role: 'tenant', tenantId: 'acme-bank' },
  'zenith.client': { role: 'tenant', tenantId: 'zenith-telecom' },
} as const;
type User = keyof typeof USERS;

/** The monitor module's levels, as the page returns them. */
interface PartyLevel {
  party: string;
  packetsReceived: number;
  totalAudioEnergy: number;
  dominantHz: number;
  peakDb: number;
}

/** Power of `hz` in `samples` (Goertzel), in dB relative to a full-scale sine. */
function toneDb(samples: Float32Array, hz: number): number {
  const k = (2 * Math.cos((2 * Math.PI * hz) / RATE)) as number;
  let s1 = 0;
  let s2 = 0;
  for (const x of samples) [s1, s2] = [x + k * s1 - s2, s1];
  const power = s1 * s1 + s2 * s2 - k * s1 * s2;
  return 10 * Math.log10(power / ((samples.length * samples.length) / 4) + 1e-12);
}

describe('a supervisor silently monitors a live call in the browser', () => {
  const dir = join(inject('runDir'), uniqueName('monitor'));
  let site: RunningSite;
  let api: ApiProcess;
  let apiBase: string;
  let caller: BaresipPhone;
  let agent: BaresipPhone;
  let browser: Browser;
  let page: Page;
  let callId: string;
  /** When the caller's phone started the call's audio stream, and when the supervisor listened. */
  let establishedAt: number;
  let monitored: { fromMs: number; toMs: number } | undefined;
  const tokens = new Map<User, string>();

  const ask = async (as: User, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${apiBase}/api/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${tokens.get(as)}`,
        ...(body !== undefined && { 'content-type': 'application/json' }),
      },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    return { status: res.status, json: (await res.json()) as any };
  };

  /** The call's parties as rtpengine knows them, and whom each sends its media to. */
  const subscribers = async () => {
    const q = await site.rtpengine.client.query({ callId });
    const tags = q.reply.tags as Record<string, { subscribers: { tag: string }[]; medias: any[] }>;
    return Object.fromEntries(
      Object.entries(tags).map(([tag, t]) => [
        tag,
        {
          subscribers: t.subscribers.map((s) => s.tag).sort(),
          ports: t.medias.flatMap((m) => m.streams.map((s: any) => s['local port'] ?? null)),
        },
      ]),
    );
  };

  beforeAll(async () => {
    mkdirSync(dir, { recursive: true });
    // Acme records every call: the monitored call is recorded as production would record it.
    const recordingKeysFile = join(dir, 'recording-keys.json');
    writeFileSync(
      recordingKeysFile,
      JSON.stringify({ current: 'k1', keys: { k1: randomBytes(32).toString('base64') } }),
      { mode: 0o600 },
    );
    site = await startSite({
      siteId: 'beijing',
      env: { CCFED_RECORDING_KEYS_FILE: recordingKeysFile },
      mutate: (doc) => {
        const beijing = doc.sites.find((s: { id: string }) => s.id === 'beijing');
        // bj-001 alone takes Acme's sales calls; bj-003 is Zenith's, for the scoping checks.
        beijing.agents = beijing.agents.filter((a: { id: string }) =>
          ['bj-001', 'bj-003'].includes(a.id),
        );
      },
    });
    const db = await freshDatabase();
    api = await startApiProcess({
      dir,
      database: db.database,
      topologyFile: site.topologyFile,
      users: Object.entries(USERS).map(([username, u]) => ({ username, ...u })),
      password: PASSWORD,
    });
    apiBase = api.base;
    for (const [username, token] of api.tokens) tokens.set(username as User, token);
    const [callerTone, agentTone, supervisorTone] = await Promise.all([
      renderTone(join(dir, 'caller.wav'), CALLER_HZ, 120),
      renderTone(join(dir, 'agent.wav'), AGENT_HZ, 120),
      renderTone(join(dir, 'supervisor.wav'), SUPERVISOR_HZ, 120),
    ]);
    [caller, agent] = await startBaresips([
      { dir: join(dir, 'caller'), user: 'caller', microphone: callerTone },
      {
        dir: join(dir, 'agent'),
        user: AGENT,
        microphone: agentTone,
        autoAnswer: true,
      },
    ]);
    browser = await launchWebrtcChromium(supervisorTone);
    // The supervisor's page: the API's origin (the desktop app is served from there), with the
    // monitor module loaded as the desktop would bundle it.
    const context = await browser.newContext({ bypassCSP: true });
    page = await context.newPage();
    await page.goto(`${apiBase}/api/v1/openapi.json`);
    const js = ts.transpileModule(readFileSync(MODULE, 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
    }).outputText;
    await page.evaluate(`(() => { const exports = {}; ${js}; window.ccfedMonitor = exports; })()`);

    // A live call: the caller dials Acme's sales number, bj-001's phone answers.
    await site.control.login({ agentId: AGENT, contactUri: agent.uri });
    await site.control.setReady({ agentId: AGENT });
    const t0 = Date.now();
    await caller.dial(`sip:${ACME_SALES}@127.0.0.1:${site.kamailio.sip.port}`);
    establishedAt = (await caller.waitForEvent('CALL_ESTABLISHED', { since: t0 })).at;
    await agent.waitForEvent('CALL_ESTABLISHED', { since: t0 });
    callId = await waitFor('bj-001 on the call', async () => {
      const { agents } = await site.control.listAgents({});
      return agents.find((a) => a.agentId === AGENT)?.callId || undefined;
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.allSettled([caller?.stop(), agent?.stop()]);
    await api?.stop();
    await site?.stop();
  });

  it('lets the site supervisor hear both parties on two streams, listen only, and stop cleanly', async () => {
    const startedAt = Date.now();
    const levelsNow = (): Promise<PartyLevel[]> =>
      page.evaluate(() => (window as any).running.monitor.levels());
    const started = await page.evaluate(
      async ({ baseUrl, token, callId }) => {
        const m = (window as any).ccfedMonitor;
        const running = await m.monitorCall({ baseUrl, token }, callId, 'beijing');
        (window as any).running = running;
        return { parties: running.parties, id: running.monitor.monitorId };
      },
      { baseUrl: `${apiBase}/api/v1`, token: tokens.get('bj.sup')!, callId },
    );
    expect(started.parties).toEqual(['caller', 'agent']);
    expect(started.id).toMatch(/^mon-[0-9a-f]{32}$/);

    // Both parties reach the browser, each on its own stream, each with its own tone.
    await waitFor('the first packets of both parties', async () =>
      (await levelsNow()).every((p) => p.packetsReceived > 0) ? true : undefined,
    );
    // Measured, not asserted: from the supervisor's request to both parties' first packets.
    console.info(
      `monitor: both parties reached the browser ${Date.now() - startedAt} ms after the request`,
    );
    const levels = await waitFor(
      'the supervisor hearing both parties',
      async () => {
        const l: PartyLevel[] = await page.evaluate(() => (window as any).running.monitor.levels());
        const heard = l.every(
          (p) => p.packetsReceived > 100 && p.totalAudioEnergy > 0.01 && p.peakDb > -70,
        );
        return heard ? l : undefined;
      },
      20_000,
    );
    const byParty = Object.fromEntries(levels.map((l) => [l.party, l]));
    // What the supervisor sees.
    await page.evaluate((rows) => {
      document.body.innerHTML = `<h1>Listening</h1>${rows
        .map(
          (r) => `<p>${r.party}: ${Math.round(r.dominantHz)} Hz, ${r.packetsReceived} packets</p>`,
        )
        .join('')}`;
    }, levels);
    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOTS, 'supervisor-monitoring.png') });
    expect(Math.abs(byParty.caller!.dominantHz - CALLER_HZ)).toBeLessThan(30);
    expect(Math.abs(byParty.agent!.dominantHz - AGENT_HZ)).toBeLessThan(30);

    // rtpengine copies both parties to the monitor's tag, and to nothing else.
    const during = await subscribers();
    const monitorTag = `ccfed-${started.id}`;
    expect(Object.keys(during).sort()).toContain(monitorTag);
    const [callerTag] = Object.keys(during).filter(
      (t) => t !== 'ccfed-far-end' && t !== monitorTag,
    );
    expect(during[callerTag!]!.subscribers).toEqual(['ccfed-far-end', monitorTag].sort());
    expect(during['ccfed-far-end']!.subscribers).toEqual([callerTag, monitorTag].sort());

    // Listen only: the browser sends no RTP (what the caller heard meanwhile is checked once the
    // call has ended and the phone's recording is closed: the last case).
    expect(await page.evaluate(() => (window as any).running.monitor.packetsSent())).toBe(0);
    await waitFor('3 s of monitoring', async () =>
      Date.now() - startedAt > 3_000 ? true : undefined,
    );
    monitored = { fromMs: startedAt + 1_000, toMs: Date.now() };

    // Stop: the copies end, the monitor's ports are given back, the call goes on.
    const stopped = await page.evaluate(async () => {
      await (window as any).running.stop();
      return true;
    });
    expect(stopped).toBe(true);
    const after = await subscribers();
    expect(after[callerTag!]!.subscribers).toEqual(['ccfed-far-end']);
    expect(after['ccfed-far-end']!.subscribers).toEqual([callerTag]);
    expect(after[monitorTag]?.ports.every((p) => p === null) ?? true).toBe(true);
    // Stopped already: the site says so.
    const again = await ask(
      'bj.sup',
      'DELETE',
      `/supervisor/monitors/${started.id}?siteId=beijing`,
    );
    expect(again).toMatchObject({ status: 200, json: { wasActive: false } });
    const log = readFileSync(site.agentProcess.logFile, 'utf8');
    expect(log).toContain(`"event":"monitor_started","monitorId":"${started.id}"`);
    expect(log).toMatch(new RegExp(`"event":"monitor_stopped","monitorId":"${started.id}"`));
  }, 60_000);

  it('refuses an answer that would send audio to the call', async () => {
    const offer = await ask(
      'bj.sup',
      'POST',
      `/supervisor/calls/${encodeURIComponent(callId)}/monitor`,
      {
        siteId: 'beijing',
      },
    );
    expect(offer.status).toBe(200);
    // A page that adds its microphone and answers sendrecv.
    const sdpAnswer: string = await page.evaluate(async (sdpOffer: string) => {
      const pc = new RTCPeerConnection();
      await pc.setRemoteDescription({ type: 'offer', sdp: sdpOffer });
      const mic = await navigator.mediaDevices.getUserMedia({ audio: true });
      for (const t of pc.getTransceivers()) {
        t.direction = 'sendrecv';
        await t.sender.replaceTrack(mic.getAudioTracks()[0]!);
      }
      await pc.setLocalDescription(await pc.createAnswer());
      // JSEP answers a sendonly offer recvonly whatever the page wants: a client that means to
      // talk into the call edits its answer.
      return pc.localDescription!.sdp.replaceAll('a=recvonly', 'a=sendrecv');
    }, offer.json.sdpOffer);
    expect(sdpAnswer).toContain('a=sendrecv');
    const refused = await ask(
      'bj.sup',
      'POST',
      `/supervisor/monitors/${offer.json.monitorId}/answer`,
      {
        siteId: 'beijing',
        sdpAnswer,
      },
    );
    expect(refused.status).toBe(400);
    expect(refused.json.error).toMatch(/listens only/);
    expect(
      (await ask('bj.sup', 'DELETE', `/supervisor/monitors/${offer.json.monitorId}?siteId=beijing`))
        .json.wasActive,
    ).toBe(true);
  }, 30_000);

  it("refuses another tenant's supervisor, another site's and HQ at the API, and at the site agent", async () => {
    const path = `/supervisor/calls/${encodeURIComponent(callId)}/monitor`;
    const zenith = await ask('zenith.client', 'POST', path, { siteId: 'beijing' });
    expect(zenith.status).toBe(403);
    expect(zenith.json.error).toMatch(
      /zenith-telecom listens only to zenith-telecom's agents' calls/,
    );
    expect((await ask('sh.sup', 'POST', path, { siteId: 'beijing' })).status).toBe(403);
    expect((await ask('hq', 'POST', path, { siteId: 'beijing' })).status).toBe(403);
    // Acme's own client may listen to its own agent's call.
    const acme = await ask('acme.client', 'POST', path, { siteId: 'beijing' });
    expect(acme.status).toBe(200);
    // …and only it may stop that monitor.
    const stolen = await ask(
      'bj.sup',
      'DELETE',
      `/supervisor/monitors/${acme.json.monitorId}?siteId=beijing`,
    );
    expect(stolen.status).toBe(403);
    expect(
      (
        await ask(
          'acme.client',
          'DELETE',
          `/supervisor/monitors/${acme.json.monitorId}?siteId=beijing`,
        )
      ).json.wasActive,
    ).toBe(true);

    // At the site agent directly, with the tenant supervisor's own certificate.
    const asZenith: Principal = { kind: 'supervisor', site: 'beijing', tenant: 'zenith-telecom' };
    const channel = await siteChannel(site.site, asZenith);
    try {
      const control = createClient(siteApi.AgentControlDefinition, channel);
      const err = await control.startMonitor({ callId }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ClientError);
      expect((err as ClientError).code).toBe(Status.PERMISSION_DENIED);
      // An agent, even on its own call, may not listen; nor may it pose as a supervisor.
      const agentChannel = await siteChannel(site.site, {
        kind: 'agent',
        site: 'beijing',
        agent: AGENT,
      });
      const asAgent = createClient(siteApi.AgentControlDefinition, agentChannel);
      const forged = await asAgent
        .startMonitor(
          { callId },
          {
            metadata: Metadata({
              'x-ccfed-on-behalf-of': principalUri({ kind: 'supervisor', site: 'beijing' }),
            }),
          },
        )
        .catch((e: unknown) => e);
      expect((forged as ClientError).code).toBe(Status.PERMISSION_DENIED);
      agentChannel.close();
    } finally {
      channel.close();
    }
  }, 30_000);

  it("ends a call's monitors when the call ends; the caller never heard the supervisor", async () => {
    const open = await ask(
      'acme.client',
      'POST',
      `/supervisor/calls/${encodeURIComponent(callId)}/monitor`,
      { siteId: 'beijing' },
    );
    expect(open.status).toBe(200);
    const t = Date.now();
    await caller.hangup();
    await caller.waitForEvent('CALL_CLOSED', { since: t });
    await waitFor('the monitor ended with the call', async () =>
      readFileSync(site.agentProcess.logFile, 'utf8')
        .split('\n')
        .find(
          (l) =>
            l.includes('"event":"monitor_stopped"') &&
            l.includes(open.json.monitorId) &&
            l.includes('"reason":"call_ended"'),
        ),
    );
    expect(
      (
        await ask(
          'acme.client',
          'DELETE',
          `/supervisor/monitors/${open.json.monitorId}?siteId=beijing`,
        )
      ).json.wasActive,
    ).toBe(false);

    // What the caller heard while the supervisor listened: the agent, nothing of the supervisor's
    // microphone (its tone 30 dB and more below the agent's).
    expect(monitored).toBeDefined();
    const heard = caller.recordings().heard.at(-1)!;
    const span = await readSamples(heard, {
      startS: (monitored!.fromMs - establishedAt) / 1000,
      durationS: (monitored!.toMs - monitored!.fromMs) / 1000,
    });
    expect(span.length).toBeGreaterThan(RATE);
    expect(toneDb(span, AGENT_HZ)).toBeGreaterThan(-30);
    expect(toneDb(span, AGENT_HZ) - toneDb(span, SUPERVISOR_HZ)).toBeGreaterThan(30);
    // The call's recording, made while supervisors listened, holds the caller on the left and
    // the agent on the right, as any other: the monitors' streams are not in it.
    const keysFile = join(dir, 'recording-keys.json');
    const store = new RecordingStore(join(site.dataDir, 'recordings'));
    const recording = await waitFor(
      'the call sealed in the store',
      async () => {
        for (const { tenantId, day } of await store.days())
          for (const r of await store.recordingsOf(tenantId, day))
            if (r.callId === callId) return r;
        return undefined;
      },
      30_000,
    );
    const keys = parseRecordingKeys(readFileSync(keysFile, 'utf8'), 'test keys');
    const opened = await new RecordingLibrary(store, keys).open('acme-bank', recording.recordingId);
    const parts: Uint8Array[] = [];
    for await (const part of opened!.audio.read()) parts.push(part);
    await opened!.audio.close();
    const wav = join(dir, 'recording.wav');
    writeFileSync(wav, Buffer.concat(parts));
    expect(Math.abs((await toneWhereSounding(wav, 1)) - CALLER_HZ)).toBeLessThan(CALLER_HZ * 0.05);
    expect(Math.abs((await toneWhereSounding(wav, 2)) - AGENT_HZ)).toBeLessThan(AGENT_HZ * 0.05);

    // No log line of the site agent carries the caller's number.
    expect(readFileSync(site.agentProcess.logFile, 'utf8')).not.toContain('sip:caller@');
  }, 30_000);
});
