// The browser softphone end to end: Beijing as production runs it (rtpengine, Kamailio on
// ccfed.cfg with its WebSocket listener, the site agent process), the softphone module built into
// central/desktop/dist and loaded by Debian's Chromium with a fake microphone playing a 1000 Hz
// tone, and a baresip caller playing 400 Hz. The browser registers the agent's address of record
// with ephemeral credentials, the agent logs in there and goes ready, the caller dials the
// site's number; the browser rings and answers, and the audio goes both ways through rtpengine
// (WebRTC to the browser, plain RTP to the caller): the browser's received audio energy rises,
// and the caller hears 1000 Hz. Hold stops it and resume brings it back; the browser's hang-up
// puts the agent in wrap-up. Then what must be refused is: wrong and expired credentials, another
// agent's address of record, and a login at another agent's address.
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, join } from 'node:path';
import { createApi } from '@ccfed/api/app';
import { issueToken, type Principal } from '@ccfed/api/auth/token';
import type { ApiHttpServer } from '@ccfed/api/http/server';
import { sipCredentials, silentLogger, systemClock } from '@ccfed/common';
import { AgentState } from '@ccfed/proto';
import { freePort } from '@ccfed/services';
import { agentAorOf } from '@ccfed/topology';
import { type Browser, type Page } from 'playwright-core';
import { inject } from 'vitest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDesktopIfStale } from '../../scripts/console-build.js';
import { launchWebrtcChromium } from '../support/browser.js';
import { renderTone, toneWhereSounding } from '../support/audio.js';
import { startBaresip, type BaresipPhone } from '../support/baresip.js';
import { uniqueName, waitFor } from '../support/engines.js';
import { captureRtp, directions, streamsByPort } from '../support/rtp-capture.js';
import { startSite, testSipSecret, type RunningSite } from '../support/running-site.js';

const CALLER_HZ = 400;
const BROWSER_HZ = 1000;
const SUPPORT = '400200200';
const AGENT = 'bj-web';
const OTHER = 'bj-other';
const DESKTOP_DIST = new URL('../../central/desktop/dist', import.meta.url).pathname;
/** Kept after the run, beside the console test's. */
const SCREENSHOTS = new URL('../../.ccfed/test/screenshots', import.meta.url).pathname;

let site: RunningSite;
let caller: BaresipPhone;
let browser: Browser;
let page: Page;
let http: Server;
let pageUrl: string;
let dir: string;
let api: ApiHttpServer;
let apiBase: string;
const API_SECRET = 'softphone-test-api-token-secret-of-32-bytes';

const near = (hz: number, want: number) => Math.abs(hz - want) / want;

beforeAll(async () => {
  dir = join(inject('runDir'), uniqueName('softphone'));
  mkdirSync(dir, { recursive: true });
  mkdirSync(SCREENSHOTS, { recursive: true });
  // The bundle the desktop serves, built again when this checkout's sources are newer.
  buildDesktopIfStale();
  site = await startSite({
    siteId: 'beijing',
    mutate: (doc) => {
      const support = doc.skills.find((s: { id: string }) => s.id === 'support');
      support.wrapUpSeconds = 30;
      const beijing = doc.sites.find((s: { id: string }) => s.id === 'beijing');
      // Both listeners: the API hands out wss (the call below goes over it), the refusals use ws.
      beijing.sip.wssPort = beijing.sip.tlsPort + 1000;
      beijing.agents = [AGENT, OTHER].map((id) => ({
        id,
        name: id,
        tenant: 'acme-bank',
        skills: { support: 5 },
      }));
    },
  });
  // The central API with the topology and every site's SIP secret, as the process serves it
  // (CCFED_TOPOLOGY, CCFED_SIP_SECRETS_FILE); no route here reads ClickHouse.
  ({ server: api } = createApi({
    runQuery: () => Promise.reject(new Error('no ClickHouse in this test')),
    users: new Map(),
    secret: API_SECRET,
    tokenTtlSeconds: 3600,
    clock: systemClock,
    log: silentLogger(),
    topology: site.topology,
    sipSecrets: new Map([['beijing', testSipSecret('beijing')]]),
  }));
  apiBase = `http://127.0.0.1:${await api.listen(await freePort(), '127.0.0.1')}`;

  const [callerTone, browserTone] = await Promise.all([
    renderTone(join(dir, `caller-${CALLER_HZ}.wav`), CALLER_HZ, 120),
    renderTone(join(dir, `browser-${BROWSER_HZ}.wav`), BROWSER_HZ, 120),
  ]);
  caller = await startBaresip({ dir: join(dir, 'caller'), user: 'caller', microphone: callerTone });

  http = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const file = join(DESKTOP_DIST, path === '/' ? 'index.html' : path);
    if (!file.startsWith(DESKTOP_DIST)) return void res.writeHead(404).end();
    try {
      const body = readFileSync(file);
      const type = extname(file) === '.js' ? 'text/javascript' : 'text/html';
      res.writeHead(200, { 'content-type': type }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  const port = await freePort();
  await new Promise<void>((resolve) => http.listen(port, '127.0.0.1', resolve));
  pageUrl = `http://127.0.0.1:${port}/softphone-test.html`;

  browser = await launchWebrtcChromium(browserTone, { acceptAnyCertificate: true });
  page = await browser.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') console.error(`browser: ${m.text()}`);
  });
  await page.goto(pageUrl);
}, 240_000);

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  await new Promise((resolve) => http?.close(resolve));
  await caller?.stop().catch(() => undefined);
  await api?.close();
  await site?.stop();
});

/** GET /api/v1/desktop/sip-credentials with `principal`'s token: its status and body. */
async function credentialsFromApi(principal: Principal): Promise<{ status: number; body: any }> {
  const token = issueToken(principal, { secret: API_SECRET, ttlSeconds: 600 });
  const res = await fetch(`${apiBase}/api/v1/desktop/sip-credentials`, {
    headers: { authorization: `Bearer ${token}` },
  });
  return { status: res.status, body: await res.json() };
}

/** Credentials made with the pure function, for the ones the API would never issue. */
function credentials(
  agentId: string,
  opts: { secret?: string; nowMs?: number; ttl?: number } = {},
) {
  const c = sipCredentials({
    secret: opts.secret ?? testSipSecret('beijing'),
    agentId,
    nowMs: opts.nowMs ?? Date.now(),
    ...(opts.ttl ? { ttlSeconds: opts.ttl } : {}),
  });
  return {
    wsUri: `ws://127.0.0.1:${site.site.sip.wsPort}`,
    username: c.username,
    password: c.password,
  };
}

/** Registers a softphone in the page as window[name]; resolves with "registered" or the refusal. */
async function register(
  name: string,
  config: {
    wsUri: string;
    username: string;
    password: string;
    aor: string;
    microphone?: Record<string, boolean>;
  },
): Promise<string> {
  return page.evaluate(
    async ({ name, config }) => {
      const phone = (globalThis as any).ccfedSoftphone.createSoftphone(config);
      (globalThis as any)[name] = phone;
      try {
        await phone.registered;
        return 'registered';
      } catch (err) {
        await phone.stop();
        return (err as Error).message;
      }
    },
    { name, config },
  );
}

/** rtpengine's port facing the caller, where baresip says its audio comes from. */
async function agentState(agentId: string): Promise<AgentState | undefined> {
  const { agents } = await site.control.listAgents({});
  return agents.find((a) => a.agentId === agentId)?.state as AgentState | undefined;
}

describe('the browser softphone', () => {
  it('answers a call with audio both ways, holds, resumes, takes a re-INVITE, mutes and hangs up into wrap-up', async () => {
    const aor = agentAorOf(site.site, AGENT);
    const issued = await credentialsFromApi({
      sub: AGENT,
      role: 'agent',
      siteId: 'beijing',
      agentId: AGENT,
    });
    expect(issued.status).toBe(200);
    expect(issued.body).toMatchObject({
      wsUri: `wss://127.0.0.1:${site.site.sip.wssPort}`,
      aor,
      iceServers: [],
    });
    expect(issued.body.username).toMatch(new RegExp(`^\\d+:${AGENT}$`));
    const left = Date.parse(issued.body.expiresAt) - Date.now();
    expect(left).toBeGreaterThan(11.9 * 3600_000);
    expect(left).toBeLessThanOrEqual(12 * 3600_000);
    expect(
      await register('phone', {
        wsUri: issued.body.wsUri,
        username: issued.body.username,
        password: issued.body.password,
        aor,
        // a steady tone is what noise suppression removes: the fake microphone's goes out as is
        microphone: { echoCancellation: false, noiseSuppression: false, autoGainControl: false },
      }),
    ).toBe('registered');
    await site.control.login({ agentId: AGENT, contactUri: aor });
    await site.control.setReady({ agentId: AGENT });
    await page.evaluate(() => {
      const w = globalThis as any;
      w.offers = [];
      w.phone.onIncoming((c: unknown) => w.offers.push(c));
    });

    const dialedAt = Date.now();
    await caller.dial(`sip:${SUPPORT}@${site.kamailio.sip.host}:${site.kamailio.sip.port}`);
    await page.waitForFunction(() => (globalThis as any).offers.length === 1, null, {
      timeout: 15_000,
    });
    const ringingMs = Date.now() - dialedAt;
    expect(await page.evaluate(() => (globalThis as any).phone.state())).toBe('ringing');
    await page.screenshot({ path: join(SCREENSHOTS, 'softphone-ringing.png') });
    const answeredAt = Date.now();
    await page.evaluate(() => (globalThis as any).phone.answer());
    await caller.waitForEvent('CALL_ESTABLISHED', { timeoutMs: 10_000 });
    await waitFor('the agent on the call', async () =>
      (await agentState(AGENT)) === AgentState.AGENT_STATE_ON_CALL ? true : undefined,
    );

    // The caller's 400 Hz reaches the browser: its received audio energy keeps rising.
    const energy = () =>
      page.evaluate(
        async () => (await (globalThis as any).phone.inboundAudio())?.totalAudioEnergy ?? 0,
      );
    await waitFor('the browser receives RTP', async () =>
      (await page.evaluate(
        async () => (await (globalThis as any).phone.inboundAudio())?.packetsReceived ?? 0,
      )) > 0
        ? true
        : undefined,
    );
    const audioMs = Date.now() - answeredAt;
    const e0 = await energy();
    await waitFor('the browser receives audio energy', async () =>
      (await energy()) > e0 + 0.2 ? true : undefined,
    );
    await page.waitForTimeout(2500);
    await page.screenshot({ path: join(SCREENSHOTS, 'softphone-connected.png') });

    // What rtpengine sends the caller from here on (the caller's own recording stops at the first
    // re-INVITE): everything to and from the caller's RTP ports, whichever port rtpengine uses
    // after each re-INVITE.
    const callerPorts = caller.rtpPorts;
    // (from once the hold's re-INVITE is answered)
    await page.evaluate(() => (globalThis as any).phone.hold());
    const holdCapture = await captureRtp(join(dir, 'held.pcap'), callerPorts);
    expect(await page.evaluate(() => (globalThis as any).phone.isOnHold())).toBe(true);
    await page.waitForTimeout(1000);
    const h0 = await energy();
    await page.waitForTimeout(1500);
    const heldGain = (await energy()) - h0;
    const held = await holdCapture.stop();

    await page.evaluate(() => (globalThis as any).phone.resume());
    const resumeCapture = await captureRtp(join(dir, 'resumed.pcap'), callerPorts);
    const r0 = await energy();
    await waitFor('audio resumes in the browser', async () =>
      (await energy()) > r0 + 0.2 ? true : undefined,
    );
    await page.waitForTimeout(2000);
    const resumed = await resumeCapture.stop();

    // A re-INVITE from the caller's side: rtpengine offers the browser WebRTC again (REOFFER),
    // and the audio goes on both ways.
    await caller.reinvite();
    const reinviteCapture = await captureRtp(join(dir, 'reinvited.pcap'), callerPorts);
    await page.waitForTimeout(1000);
    const i0 = await energy();
    await waitFor('the browser receives after the caller’s re-INVITE', async () =>
      (await energy()) > i0 + 0.2 ? true : undefined,
    );
    await page.waitForTimeout(1000);
    const reinvited = await reinviteCapture.stop();

    // Mute: the browser stops sending its microphone, without signalling.
    await page.evaluate(() => (globalThis as any).phone.mute());
    expect(await page.evaluate(() => (globalThis as any).phone.isMuted())).toBe(true);
    await page.waitForTimeout(300);
    const muteCapture = await captureRtp(join(dir, 'muted.pcap'), callerPorts);
    await page.waitForTimeout(1500);
    const muted = await muteCapture.stop();

    await page.evaluate(() => (globalThis as any).phone.hangup());
    await caller.waitForEvent('CALL_CLOSED', { timeoutMs: 10_000 });
    await waitFor('the agent in wrap-up', async () =>
      (await agentState(AGENT)) === AgentState.AGENT_STATE_WRAP_UP ? true : undefined,
    );
    await page.screenshot({ path: join(SCREENSHOTS, 'softphone-ended.png') });

    // The caller heard the browser's fake microphone (its own recording, up to the hold).
    const heard = caller.recordings().heard[0]!;
    expect(near(await toneWhereSounding(heard, 1, 1.5), BROWSER_HZ)).toBeLessThan(0.05);
    // While held the browser received next to nothing, and the caller nothing of the browser.
    expect(heldGain).toBeLessThan(0.01);
    // Each capture saw the call (the caller sends in every window but the hold, when it was
    // offered receive-only), and what rtpengine sent the caller is read per stream.
    for (const [name, packets] of [
      ['resumed', resumed],
      ['reinvited', reinvited],
      ['muted', muted],
    ] as const)
      expect(
        directions(packets, callerPorts).from.length,
        `${name}: RTP from the caller`,
      ).toBeGreaterThan(0);
    const toCaller = (packets: typeof held, name: string) =>
      streamsByPort(directions(packets, callerPorts).to, join(dir, name));
    const heldStreams = await toCaller(held, 'held');
    for (const x of heldStreams)
      expect(x.hz !== 0 && near(x.hz, BROWSER_HZ) < 0.05 && x.db > -40).toBe(false);
    // After the resume the browser's tone reaches the caller again.
    const resumedStreams = await toCaller(resumed, 'resumed');
    expect(resumedStreams).toHaveLength(1);
    expect(near(resumedStreams[0]!.hz, BROWSER_HZ)).toBeLessThan(0.05);
    expect(resumedStreams[0]!.db).toBeGreaterThan(-20);
    const reinvitedStreams = await toCaller(reinvited, 'reinvited');
    expect(reinvitedStreams.map((x) => Math.round(x.hz))).toEqual([BROWSER_HZ]);
    const mutedStreams = await toCaller(muted, 'muted');
    expect(mutedStreams).toHaveLength(1);
    expect(mutedStreams[0]!.db).toBeLessThan(-60);
    console.log(
      `softphone: dial to ringing ${ringingMs} ms, answer to first RTP in the browser ${audioMs} ms; muted ${JSON.stringify(mutedStreams)}, held ${JSON.stringify(heldStreams)}, resumed ${JSON.stringify(resumedStreams)}`,
    );
  });

  it('refuses wrong and expired credentials, and another agent’s address of record', async () => {
    const aor = agentAorOf(site.site, OTHER);
    const wrong = {
      ...credentials(OTHER),
      password: credentials(OTHER).password.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')),
    };
    expect(await register('wrong', { ...wrong, aor })).toMatch(/^401 /);
    const otherSite = credentials(OTHER, { secret: testSipSecret('shanghai') });
    expect(await register('foreign', { ...otherSite, aor })).toMatch(/^401 /);
    const expired = credentials(OTHER, { nowMs: Date.now() - 13 * 3600_000 });
    expect(await register('expired', { ...expired, aor })).toBe('403 Credentials Expired');
    // AGENT's own valid credentials, for OTHER's address of record
    expect(await register('impostor', { ...credentials(AGENT), aor })).toBe(
      '403 Not Your Address Of Record',
    );
    // and the site agent refuses a log-in at another agent's address of record
    await expect(
      site.control.login({ agentId: OTHER, contactUri: agentAorOf(site.site, AGENT) }),
    ).rejects.toThrow(/PERMISSION_DENIED|not agent bj-other's own address of record/);
  });

  it('sends a call offered to an unregistered browser back to the queue at once', async () => {
    // OTHER logs in at its address of record, where no browser is registered
    await site.control.login({ agentId: OTHER, contactUri: agentAorOf(site.site, OTHER) });
    await site.control.setReady({ agentId: OTHER });
    const since = Date.now();
    await caller.dial(`sip:${SUPPORT}@${site.kamailio.sip.host}:${site.kamailio.sip.port}`);
    // Kamailio finds no contact: a failed ring (the agent goes not ready), not the ring timeout
    await waitFor(
      'the agent not ready after its failed ring',
      async () =>
        (await agentState(OTHER)) === AgentState.AGENT_STATE_NOT_READY ? true : undefined,
      5_000,
    );
    expect(Date.now() - since).toBeLessThan(5_000);
    // and the caller waits in the queue (its early media), not refused
    await caller.waitForEvent('CALL_PROGRESS', { since, timeoutMs: 5_000 });
    expect(caller.events.some((e) => e.type === 'CALL_CLOSED' && e.at >= since)).toBe(false);
    await caller.hangup();
  });

  it('issues SIP credentials to an agent’s token only, for an agent of its site', async () => {
    for (const principal of [
      { sub: 'hq', role: 'hq' },
      { sub: 'bj', role: 'site', siteId: 'beijing' },
      { sub: 'acme', role: 'tenant', tenantId: 'acme-bank' },
      // an agent id the site does not have
      { sub: 'x', role: 'agent', siteId: 'beijing', agentId: 'bj-nobody' },
      { sub: 'x', role: 'agent', siteId: 'shanghai', agentId: AGENT },
    ] as Principal[]) {
      const { status } = await credentialsFromApi(principal);
      expect(status, JSON.stringify(principal)).toBe(403);
    }
    const res = await fetch(`${apiBase}/api/v1/desktop/sip-credentials`);
    expect(res.status).toBe(401);
  });
});
