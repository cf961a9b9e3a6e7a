// A preview campaign on the agent's desk, in Debian's Chromium: Beijing as production runs it
// (Kamailio with its WebSocket listener and its outbound trunk, rtpengine, the site agent process
// with its dialer), the API serving the desk page, and sipp customers behind the trunk who answer.
// The agent logs in on the page and goes ready; a tenant's supervisor starts a preview campaign of
// a customer whose history (two complaints) is in ClickHouse; the desk shows the preview card with
// that story; the agent clicks Dial, the browser rings (agent first), the agent answers, and the
// customer is called and connected. Screenshots go to .ccfed/test/screenshots/.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { AgentState } from '@ccfed/proto';
import { campaignCustomers, freePort, type LoggedSippRun } from '@ccfed/services';
import { inWindow } from '@ccfed/site-agent/campaign/rules';
import type { ClickHouseClient } from '@clickhouse/client';
import pino from 'pino';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildDesktopIfStale } from '../../scripts/console-build.js';
import { launchWebrtcChromium } from '../support/browser.js';
import { DESK_PASSWORD, startDeskApi, type DeskApi } from '../support/desk-api.js';
import { renderTone } from '../support/audio.js';
import { dated, seededHistory } from '../support/customer-history.js';
import { freshDatabase, uniqueName, waitFor } from '../support/engines.js';
import { startSite, type RunningSite } from '../support/running-site.js';

const CUSTOMER = 'cust-preview-1';
const SCREENSHOTS = new URL('../../.ccfed/test/screenshots', import.meta.url).pathname;
/** A zone where it is day (09:00-19:00) now and for the next hour, whatever the hour of the run. */
const dayZone = (now: number) =>
  ['UTC', 'Asia/Tokyo', 'America/New_York', 'Asia/Dubai', 'Pacific/Honolulu', 'Asia/Shanghai'].find(
    (z) =>
      [now, now + 3_600_000].every((t) => inWindow(t, { startMinute: 540, endMinute: 1140 }, z)),
  )!;

let dir: string;
let site: RunningSite;
let admin: ClickHouseClient;
let api: DeskApi;
let customers: LoggedSippRun;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  dir = join(inject('runDir'), uniqueName('desktop-preview'));
  mkdirSync(dir, { recursive: true });
  mkdirSync(SCREENSHOTS, { recursive: true });
  buildDesktopIfStale();
  const customersPort = await freePort();
  customers = campaignCustomers({
    port: customersPort,
    busyCalls: 0,
    ringMs: 300,
    talkMs: 4_000,
    logFile: join(dir, 'customers.log'),
  });
  site = await startSite({
    mutate: (doc) => {
      const bj = doc.sites.find((s: { id: string }) => s.id === 'beijing');
      bj.sip.trunk = `sip:127.0.0.1:${customersPort}`;
      bj.agents = [{ id: 'bj-001', name: 'Wang Fang', tenant: 'acme-bank', skills: { sales: 8 } }];
    },
  });
  let database: string;
  ({ database, client: admin } = await freshDatabase());
  const history = seededHistory(Date.now(), CUSTOMER);
  await admin.insert({
    table: 'call_events',
    values: history.callEvents.map(dated),
    format: 'JSONEachRow',
  });
  await admin.insert({
    table: 'surveys',
    values: history.surveys.map(dated),
    format: 'JSONEachRow',
  });
  api = await startDeskApi({
    name: 'desk-preview',
    topology: site.topology,
    prefix: site.prefix,
    topics: site.topics,
    database,
    log: pino({ level: 'warn' }),
    sipSites: ['beijing'],
    users: [{ username: 'wang.fang', role: 'agent', siteId: 'beijing', agentId: 'bj-001' }],
  });
  browser = await launchWebrtcChromium(await renderTone(join(dir, 'browser.wav'), 1000, 60));
}, 180_000);

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  await customers?.stop().catch(() => undefined);
  await api?.stop();
  await admin?.close();
  await site?.stop();
});

describe('a preview campaign on the agent’s desk', () => {
  it('shows the contact with the customer’s story; Dial rings the agent first, then connects the customer', async () => {
    const context = await browser.newContext();
    page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') console.error(`browser: ${m.text()}`);
    });
    await page.goto(`${api.base}/desktop/`);
    await page.locator('input[name="username"]').fill('wang.fang');
    await page.locator('input[name="password"]').fill(DESK_PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByTestId('phone-registration').filter({ hasText: 'Phone registered' }).waitFor({
      timeout: 20_000,
    });
    await page.getByTestId('go-ready').click();
    await page.locator('[data-testid="agent-state"][data-state="ready"]').waitFor();

    // Acme's supervisor at Beijing starts a preview campaign of the known customer.
    const supervisor = await site.clientsAs({
      kind: 'supervisor',
      site: 'beijing',
      tenant: 'acme-bank',
    });
    await supervisor.control.createCampaign({
      campaignId: 'desk-preview',
      tenantId: 'acme-bank',
      skill: 'sales',
      mode: 'preview',
      contactsCsv: `customer_id,number,time_zone\n${CUSTOMER},+447700900031,${dayZone(Date.now())}\n`,
      dnc: [],
      ringTimeoutMs: 10_000,
      previewTimeoutMs: 60_000,
    });
    const started = Date.now();
    await supervisor.control.startCampaign({ campaignId: 'desk-preview' });

    const card = page.getByTestId('preview-card');
    await card.waitFor({ timeout: 15_000 });
    const shownMs = Date.now() - started;
    expect(await page.getByTestId('preview-customer').textContent()).toBe(`customer ${CUSTOMER}`);
    expect(await card.getByTestId('pop-complaints').getAttribute('data-count')).toBe('2');
    expect(await card.textContent()).not.toContain('447700900031');
    expect(await page.getByTestId('agent-state').getAttribute('data-state')).toBe('reserved');
    await page.screenshot({ path: join(SCREENSHOTS, 'desktop-preview-card.png'), fullPage: true });

    // Dial: the site rings the agent's browser first; the agent answers, the customer is called.
    await card.getByTestId('preview-dial').click();
    await page.getByTestId('answer').waitFor({ timeout: 10_000 });
    await card.waitFor({ state: 'detached' });
    await page.getByTestId('answer').click();
    await page.locator('[data-testid="agent-state"][data-state="on_call"]').waitFor({
      timeout: 15_000,
    });
    const progress = await waitFor('the preview connected', async () => {
      const [c] = (await supervisor.control.listCampaigns({})).campaigns;
      return c?.connected === 1 ? c : undefined;
    });
    expect(progress).toMatchObject({ dialed: 1, previewsOffered: 1, previewsSkipped: 0 });
    const agent = (await supervisor.control.listAgents({})).agents.find(
      (a) => a.agentId === 'bj-001',
    );
    expect(agent?.state).toBe(AgentState.AGENT_STATE_ON_CALL);
    await page.screenshot({
      path: join(SCREENSHOTS, 'desktop-preview-talking.png'),
      fullPage: true,
    });
    console.log(`preview card on screen ${shownMs} ms after the campaign started`);
    await context.close();
  });
});
