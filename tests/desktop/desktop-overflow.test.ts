// The screen pop of an overflowed call, in the real desk page in Debian's Chromium: Shanghai
// cannot serve its caller (its only agent is logged in but not ready), the central router moves
// the call to Beijing, and Beijing's agent, logged in on the page with its browser softphone
// registered at Beijing's Kamailio and ready, is rung with the customer, where the call came
// from, how long the caller had already waited and the router's reason. The agent answers in the
// browser: the caller's tone sounds at the page (its level) through both sites' rtpengines
// (both anchor an overflowed call) and the browser's 1000 Hz fake microphone reaches the caller.
// Real sites (Kamailio, rtpengine, site agents), the router, Kafka, a baresip caller.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { CustomerTier } from '@ccfed/proto';
import { agentPhone, freePort, udpPortFree, type LoggedSippRun } from '@ccfed/services';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildDesktopIfStale } from '../../scripts/console-build.js';
import { launchWebrtcChromium } from '../support/browser.js';
import { DESK_PASSWORD, startDeskApi, type DeskApi } from '../support/desk-api.js';
import { renderTone, toneWhereSounding } from '../support/audio.js';
import { startBaresip, type BaresipPhone } from '../support/baresip.js';
import { freshDatabase, uniqueName, waitFor } from '../support/engines.js';
import { type ServiceProcess } from '../support/processes.js';
import { type RunningFederation, startFederation, startRouter } from '../support/running-site.js';

const SHANGHAI_SUPPORT = '400100200';
const CALLER = '8613711000001';
const CALLER_HZ = 400;
const BROWSER_HZ = 1000;
const SCREENSHOTS = new URL('../../.ccfed/test/screenshots', import.meta.url).pathname;

let fed: RunningFederation;
let router: ServiceProcess;
let api: DeskApi;
let base: string;
let shPhone: LoggedSippRun | undefined;
let caller: BaresipPhone;
let browser: Browser;
const abort = new AbortController();
const logDir = join(inject('runDir'), uniqueName('desktop-overflow'));

const near = (hz: number, target: number) => Math.abs(hz - target) / target;

beforeAll(async () => {
  mkdirSync(logDir, { recursive: true });
  mkdirSync(SCREENSHOTS, { recursive: true });
  buildDesktopIfStale();
  const routerPort = await freePort();
  fed = await startFederation({
    siteIds: ['shanghai', 'beijing'],
    env: { CCFED_ROUTER: `127.0.0.1:${routerPort}` },
    mutate: (doc) => {
      const support = doc.skills.find((s: { id: string }) => s.id === 'support');
      support.averageHandleSeconds = 2;
      support.overflow = {
        expectedWaitThresholdSeconds: 2,
        askAfterWaitingSeconds: 1,
        minImprovementSeconds: 1,
      };
      doc.routing.staleAfterSeconds = 3;
      doc.routing.reRequestIntervalSeconds = 1;
      doc.routing.tenantRestrictions = [];
      for (const site of doc.sites) {
        site.handicapSeconds = 0;
        site.agents = [
          {
            id: site.id === 'beijing' ? 'bj-001' : `${site.id.slice(0, 2)}-001`,
            name: 'Agent 1',
            tenant: 'acme-bank',
            skills: { support: 5 },
          },
        ];
      }
    },
    directory: [
      {
        tenant: 'acme-bank',
        number: CALLER,
        customerId: 'cust-ovf-1',
        tier: CustomerTier.CUSTOMER_TIER_VIP,
      },
    ],
  });
  router = await startRouter(fed, routerPort);
  const { database } = await freshDatabase();
  api = await startDeskApi({
    name: 'desk-overflow',
    topology: fed.topology,
    prefix: fed.prefix,
    topics: fed.topics,
    database,
    sipSites: ['beijing'],
    users: [{ username: 'bj.agent', role: 'agent', siteId: 'beijing', agentId: 'bj-001' }],
  });
  base = api.base;

  const [callerTone, browserTone] = await Promise.all([
    renderTone(join(logDir, `caller-${CALLER_HZ}.wav`), CALLER_HZ, 120),
    renderTone(join(logDir, `browser-${BROWSER_HZ}.wav`), BROWSER_HZ, 120),
  ]);
  caller = await startBaresip({
    dir: join(logDir, 'caller'),
    user: CALLER,
    microphone: callerTone,
  });
  browser = await launchWebrtcChromium(browserTone);
}, 120_000);

afterAll(async () => {
  abort.abort();
  await browser?.close().catch(() => undefined);
  await caller?.stop().catch(() => undefined);
  await shPhone?.stop();
  await api?.stop();
  await router?.stop();
  await fed?.stop();
});

/** The `offer` events of the agent's desk stream, as the API pushes them to the page. */
async function offersOf(token: string): Promise<{ at: number; data: any }[]> {
  const offers: { at: number; data: any }[] = [];
  const res = await fetch(`${base}/api/v1/desktop/stream`, {
    headers: { authorization: `Bearer ${token}` },
    signal: abort.signal,
  });
  expect(res.status).toBe(200);
  void (async () => {
    let buffer = '';
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: '', done: true }));
      if (done) return;
      buffer += value;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (block.startsWith('event: offer\n'))
          offers.push({ at: Date.now(), data: JSON.parse(block.split('\ndata: ')[1]!) });
      }
    }
  })();
  return offers;
}

describe('an overflowed call on the agent desktop', () => {
  it('pops at Beijing with the origin, the wait and the router’s reason, and talks both ways in the browser', async () => {
    // Shanghai's only agent is logged in but not ready: its callers wait.
    const shanghai = fed.sites.get('shanghai')!;
    const shPort = await freePort();
    shPhone = agentPhone({
      port: shPort,
      ringMs: 100,
      talkMeanMs: 1000,
      calls: 1,
      logFile: join(logDir, 'sh-001.log'),
      timeout: '60s',
    });
    await waitFor('sh-001’s phone', async () => ((await udpPortFree(shPort)) ? undefined : true));
    await shanghai.control.login({
      agentId: 'sh-001',
      contactUri: `sip:sh-001@127.0.0.1:${shPort}`,
    });

    // Beijing's agent logs in on the page; its softphone registers at Beijing; it goes ready.
    const context = await browser.newContext();
    const agent: Page = await context.newPage();
    agent.on('console', (m) => {
      if (m.type() === 'error') console.error(`browser: ${m.text()}`);
    });
    await agent.goto(`${base}/desktop/`);
    await agent.locator('input[name="username"]').fill('bj.agent');
    await agent.locator('input[name="password"]').fill(DESK_PASSWORD);
    await agent.getByRole('button', { name: 'Log in' }).click();
    await agent.getByTestId('phone-registration').filter({ hasText: 'Phone registered' }).waitFor({
      timeout: 20_000,
    });
    await agent.locator('[data-testid="agent-state"][data-state="not_ready"]').waitFor();
    await agent.getByTestId('go-ready').click();
    await agent.locator('[data-testid="agent-state"][data-state="ready"]').waitFor();
    // The same offers the page gets, read alongside for their exact figures.
    const token = (await agent.evaluate(() => sessionStorage.getItem('ccfed.token')))!;
    const offers = await offersOf(token);

    // The known caller dials Shanghai's support number; the router moves the call to Beijing.
    const dialled = Date.now();
    const shSip = shanghai.kamailio.sip;
    await caller.dial(`sip:${SHANGHAI_SUPPORT}@${shSip.host}:${shSip.port}`);
    const pop = agent.getByTestId('screen-pop');
    await pop.waitFor({ timeout: 30_000 });
    const callId = (await pop.getAttribute('data-call-id'))!;
    await expect
      .poll(() => agent.getByTestId('pop-customer').textContent())
      .toBe('Customer cust-ovf-1');
    expect(await agent.getByTestId('pop-tier').textContent()).toBe('vip');
    // e.g. "From shanghai, waited 0:02 before reaching you (beijing expects 0.0 s against
    // 86400.0 s at shanghai)"
    const overflow = await agent.getByTestId('pop-overflow').textContent();
    expect(overflow).toMatch(
      /^From shanghai, waited \d+:\d\d before reaching you \(beijing expects .* at shanghai\)$/,
    );
    // The customer is known, with no history stored in this database.
    expect(await agent.getByTestId('pop-no-contacts').count()).toBe(1);

    const offer = await waitFor('the offer on the API’s stream', async () => offers[0], 10_000);
    const data = offer.data;
    console.log(
      `overflow pop: ${offer.at - Date.parse(data.offeredAt)} ms after Beijing reserved the agent; ${JSON.stringify(data.overflow)}`,
    );
    expect(data.callId).toBe(callId);
    expect(data.siteId).toBe('beijing');
    expect(data.customer).toEqual({ id: 'cust-ovf-1', tier: 'vip' });
    expect(data.overflow.originSiteId).toBe('shanghai');
    // The caller's wait counts from their arrival at Shanghai (queued there, asked the router,
    // moved over SIP), not from Beijing's offer: more than nothing, less than since we dialled;
    // the page shows that same wait.
    expect(data.overflow.waitedMs).toBeGreaterThan(0);
    expect(data.overflow.waitedMs).toBe(data.waitedMs);
    expect(data.overflow.waitedMs).toBeLessThanOrEqual(Date.now() - dialled);
    const seconds = Math.floor(data.overflow.waitedMs / 1000);
    expect(overflow).toContain(
      `waited ${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')} `,
    );
    expect(overflow).toContain(`(${data.overflow.routerReason})`);
    expect(data.story).toMatchObject({ customerId: 'cust-ovf-1', contacts: [] });
    await agent.getByTestId('answer').waitFor({ timeout: 10_000 });
    await agent.screenshot({
      path: join(SCREENSHOTS, 'desktop-overflowed.png'),
      fullPage: true,
    });

    // The agent answers in the browser: the caller's tone crosses Shanghai's and Beijing's
    // rtpengines to the page.
    await agent.getByTestId('answer').click();
    await caller.waitForEvent('CALL_ESTABLISHED', { since: dialled, timeoutMs: 10_000 });
    await agent.locator('[data-testid="agent-state"][data-state="on_call"]').waitFor();
    await agent.getByTestId('caller-audio').waitFor();
    await expect
      .poll(
        async () =>
          Number((await agent.getByTestId('caller-audio').getAttribute('data-energy')) ?? 0),
        { timeout: 10_000 },
      )
      .toBeGreaterThan(0.01);
    // A short talk, then the agent hangs up from the page.
    await new Promise((r) => setTimeout(r, 2500));
    const hungUp = Date.now();
    await agent.getByTestId('hang-up').click();
    await caller.waitForEvent('CALL_CLOSED', { since: hungUp, timeoutMs: 10_000 });

    // The caller heard the browser's microphone.
    const tones = await Promise.all(
      caller.recordings().heard.map((f) => toneWhereSounding(f, 1, 1).catch(() => 0)),
    );
    expect(
      tones.some((hz) => near(hz, BROWSER_HZ) < 0.05),
      `caller heard ${tones}`,
    ).toBe(true);
  }, 60_000);
});
