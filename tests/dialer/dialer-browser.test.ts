// The outbound dialer with a browser agent: the reserved agent takes calls in the desktop's
// softphone (JsSIP over Kamailio's WebSocket, WebRTC bridged by rtpengine), the customer is a
// baresip phone behind the site's trunk. The agent's leg goes to the browser's registration
// without an offer; the browser offers WebRTC in its 200, which rtpengine makes plain RTP for the
// customer, and the customer's answer reaches the browser as WebRTC in the ACK.
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, join } from 'node:path';
import { sipCredentials, systemClock } from '@ccfed/common';
import { NgClient } from '@ccfed/services';
import { DialerMessages } from '@ccfed/site-agent/dialer/dialer-message';
import { SipDialer } from '@ccfed/site-agent/dialer/sip-dialer';
import { agentAorOf } from '@ccfed/topology';
import { pino } from 'pino';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildDesktopIfStale } from '../../scripts/console-build.js';
import { dominantFrequency, renderTone, soundSpansOf } from '../support/audio.js';
import { startBaresip, type BaresipPhone } from '../support/baresip.js';
import { launchWebrtcChromium } from '../support/browser.js';
import { uniqueName, waitFor } from '../support/engines.js';
import { startSite, testSipSecret, type RunningSite } from '../support/running-site.js';

const CUSTOMER = '+8613900139000';
const AGENT = 'bj-web';
const DESKTOP_DIST = new URL('../../central/desktop/dist', import.meta.url).pathname;

describe('outbound dialer to a browser agent', () => {
  const dir = join(inject('runDir'), uniqueName('dialer-browser'));
  let site: RunningSite;
  let customer: BaresipPhone;
  let browser: Browser;
  let page: Page;
  let http: Server;
  let ng: NgClient;
  let dialer: SipDialer;

  beforeAll(async () => {
    mkdirSync(dir, { recursive: true });
    buildDesktopIfStale();
    const [customerTone, browserTone] = await Promise.all([
      renderTone(join(dir, 'customer-400.wav'), 400, 60),
      renderTone(join(dir, 'browser-1000.wav'), 1000, 60),
    ]);
    customer = await startBaresip({
      dir: join(dir, 'customer'),
      user: CUSTOMER,
      microphone: customerTone,
      autoAnswer: true,
    });
    site = await startSite({
      mutate: (doc) => {
        const beijing = doc.sites.find((s: { id: string }) => s.id === 'beijing');
        beijing.sip.trunk = `sip:${customer.sip.host}:${customer.sip.port}`;
        beijing.agents = [{ id: AGENT, name: AGENT, tenant: 'acme-bank', skills: { support: 5 } }];
      },
    });
    http = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0]!;
      const file = join(DESKTOP_DIST, path === '/' ? 'index.html' : path);
      if (!file.startsWith(DESKTOP_DIST)) return void res.writeHead(404).end();
      let body: Buffer;
      try {
        body = readFileSync(file);
      } catch {
        return void res.writeHead(404).end();
      }
      const type = extname(file) === '.js' ? 'text/javascript' : 'text/html';
      res.writeHead(200, { 'content-type': type }).end(body);
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const port = (http.address() as { port: number }).port;
    browser = await launchWebrtcChromium(browserTone);
    page = await browser.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.text().includes('404')) console.error(`browser: ${m.text()}`);
    });
    await page.goto(`http://127.0.0.1:${port}/softphone-test.html`);

    ng = await NgClient.open({ host: '127.0.0.1', port: site.site.media.ngPort });
    dialer = await SipDialer.start({
      site: site.site,
      sipSecret: testSipSecret(site.siteId),
      agentUri: (id) => (id === AGENT ? agentAorOf(site.site, AGENT) : undefined),
      messageFile: (t) => new DialerMessages(site.topology, join(dir, 'messages')).fileOf(t),
      media: ng,
      clock: systemClock,
      log: pino({ level: 'info' }, pino.destination(join(dir, 'dialer.log'))),
    });
  }, 180_000);

  afterAll(async () => {
    await dialer?.stop();
    await ng?.close();
    await browser?.close().catch(() => undefined);
    await new Promise((resolve) => http?.close(resolve));
    await customer?.stop();
    await site?.stop();
  });

  it('agent first: the browser answers, then the customer; each hears the other; the agent’s hold and resume reach the customer', async () => {
    const creds = sipCredentials({
      secret: testSipSecret('beijing'),
      agentId: AGENT,
      nowMs: Date.now(),
    });
    const registered = await page.evaluate(
      async (config) => {
        const w = globalThis as any;
        w.phone = w.ccfedSoftphone.createSoftphone(config);
        await w.phone.registered;
        // the agent answers at once; the answer completes once the customer has answered too
        w.phone.onIncoming(() => {
          w.answered = w.phone.answer().then(
            () => 'confirmed',
            (e: Error) => e.message,
          );
        });
        return 'registered';
      },
      {
        wsUri: `ws://127.0.0.1:${site.site.sip.wsPort}`,
        username: creds.username,
        password: creds.password,
        aor: agentAorOf(site.site, AGENT),
        microphone: { echoCancellation: false, noiseSuppression: false, autoGainControl: false },
      },
    );
    expect(registered).toBe('registered');

    const since = Date.now();
    const outcome = await dialer.dial({
      attemptId: 'browser-1',
      callId: 'browser-call-1',
      agentId: AGENT,
      number: CUSTOMER,
      skill: 'support',
      tenantId: 'acme-bank',
      order: 'agent_first',
      ringTimeoutMs: 10_000,
    });
    expect(outcome).toMatchObject({ kind: 'connected' });
    expect(await page.evaluate(() => (globalThis as any).answered)).toBe('confirmed');
    await customer.waitForEvent('CALL_ESTABLISHED', { since });

    // the customer's 400 Hz reaches the browser
    const energy = () =>
      page.evaluate(
        async () => (await (globalThis as any).phone.inboundAudio())?.totalAudioEnergy ?? 0,
      );
    const e0 = await energy();
    await waitFor(
      'the browser receives audio energy',
      async () => ((await energy()) > e0 + 0.2 ? true : undefined),
      15_000,
    );
    await page.waitForTimeout(1_500);

    // The agent holds: the re-INVITE is relayed to the customer, whose answer holds the browser;
    // resume brings the customer's audio back.
    await page.evaluate(() => (globalThis as any).phone.hold());
    expect(await page.evaluate(() => (globalThis as any).phone.isOnHold())).toBe(true);
    await page.waitForTimeout(800);
    const h0 = await energy();
    await page.waitForTimeout(1_200);
    expect((await energy()) - h0).toBeLessThan(0.01);
    await page.evaluate(() => (globalThis as any).phone.resume());
    const r0 = await energy();
    await waitFor(
      'audio resumes in the browser',
      async () => ((await energy()) > r0 + 0.2 ? true : undefined),
      10_000,
    );
    await customer.hangup();
    await waitFor('the browser’s call ended', async () =>
      (await page.evaluate(() => (globalThis as any).phone.state())) === 'registered'
        ? true
        : undefined,
    );

    // the browser's 1000 Hz reached the customer (before the hold: its first recording)
    const heard = customer.recordings().heard[0]!;
    const spans = await soundSpansOf(heard, { bridgeMs: 200 });
    const longest = [...spans].sort((a, b) => b.endS - b.startS - (a.endS - a.startS))[0]!;
    expect(longest.endS - longest.startS).toBeGreaterThan(1);
    const hz = await dominantFrequency(heard, {
      startS: longest.startS + 0.2,
      durationS: longest.endS - longest.startS - 0.4,
    });
    expect(Math.abs(hz - 1000) / 1000).toBeLessThan(0.05);
  });

  it('customer first: the customer answers, the browser within 2 s, bridged: the browser hears the customer', async () => {
    const since = Date.now();
    const outcome = await dialer.dial({
      attemptId: 'browser-2',
      callId: 'browser-call-2',
      agentId: AGENT,
      number: CUSTOMER,
      skill: 'support',
      tenantId: 'acme-bank',
      order: 'customer_first',
      ringTimeoutMs: 10_000,
    });
    expect(outcome).toMatchObject({ kind: 'connected' });
    await customer.waitForEvent('CALL_ESTABLISHED', { since });
    const energy = () =>
      page.evaluate(
        async () => (await (globalThis as any).phone.inboundAudio())?.totalAudioEnergy ?? 0,
      );
    const e0 = await energy();
    await waitFor(
      'the browser receives audio energy',
      async () => ((await energy()) > e0 + 0.2 ? true : undefined),
      15_000,
    );
    await customer.hangup();
    await waitFor('the browser’s call ended', async () =>
      (await page.evaluate(() => (globalThis as any).phone.state())) === 'registered'
        ? true
        : undefined,
    );
  });
});
