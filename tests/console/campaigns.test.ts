// The console's Campaigns and Callbacks pages on a real site (issue 19): the site agent process
// with an outbound trunk, the central API as its own process (asking the site over mutual TLS on
// the person's behalf) serving the built console, and Debian's Chromium. A tenant's supervisor
// creates a campaign from a CSV in the page, starts and pauses it and sees the status change; a bad
// list shows the site's line-numbered refusal; a list of 50,000 contacts picked as a file becomes a
// campaign whole; another tenant's supervisor does not see them. A
// campaign from the churn call-back list (a stored scoring run in ClickHouse, the site's CRM
// contacts knowing one of its two treated customers) shows its source and the one unresolvable. A
// scheduled callback asked for through the API is listed, without its number, and Cancel (after
// the confirmation) removes it at the site.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '@ccfed/services';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildConsoleIfStale, CONSOLE_DIST } from '../../scripts/console-build.js';
import { startApiProcess, type ApiProcess } from '../support/api-process.js';
import { launchChromium } from '../support/browser.js';
import { storeChurnRun } from '../support/churn-runs.js';
import { freshDatabase, uniqueName, waitFor } from '../support/engines.js';
import { startSite, type RunningSite } from '../support/running-site.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SCREENSHOTS = join(ROOT, '.ccfed/test/screenshots');
const PASSWORD = 'console-campaigns-password-1';
const NUMBER = '+8613800000777';

let site: RunningSite;
let api: ApiProcess;
let browser: Browser;

async function logIn(username: string): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${api.base}/`);
  await page.locator('input[name="username"]').fill(username);
  await page.locator('input[name="password"]').fill(PASSWORD);
  await page.locator('button[type="submit"]').click();
  await page.waitForURL((url) => !url.hash.startsWith('#/login'));
  return page;
}

async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SCREENSHOTS, `campaigns-${name}.png`), fullPage: true });
}

async function http(user: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${api.base}/api/v1${path}`, {
    method,
    headers: {
      authorization: `Bearer ${api.tokens.get(user)}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

beforeAll(async () => {
  buildConsoleIfStale();
  mkdirSync(SCREENSHOTS, { recursive: true });
  const dir = join(inject('runDir'), uniqueName('console-campaigns'));
  mkdirSync(dir, { recursive: true });
  // A trunk nobody answers: no agent is logged in, so the progressive campaign never dials.
  const trunkPort = await freePort();
  site = await startSite({
    mutate: (doc) => {
      const sales = doc.skills.find((s: { id: string }) => s.id === 'sales');
      sales.callback = { offerAfterSeconds: 30, maxAttempts: 3, retryAfterSeconds: 600 };
      const bj = doc.sites.find((s: { id: string }) => s.id === 'beijing');
      bj.sip.trunk = `sip:127.0.0.1:${trunkPort}`;
    },
  });
  const { database, client } = await freshDatabase();
  await storeChurnRun(client, new Date(Math.floor((Date.now() - 3_600_000) / 1000) * 1000), 'v7', [
    { tenant: 'acme-bank', customer: 'a-1', group: 'callback', priority: 900 },
    { tenant: 'acme-bank', customer: 'a-2', group: 'callback', priority: 800 },
    { tenant: 'acme-bank', customer: 'a-3', group: 'control', priority: 950 },
  ]);
  await client.close();
  mkdirSync(join(site.dataDir, 'crm-contacts'), { recursive: true });
  writeFileSync(
    join(site.dataDir, 'crm-contacts', 'acme-bank.csv'),
    'customer_id,number,time_zone\na-1,+447700900031,UTC\na-3,+447700900033,UTC\n',
  );
  [api, browser] = await Promise.all([
    startApiProcess({
      dir,
      database,
      topologyFile: site.topologyFile,
      users: [
        { username: 'acme.client', role: 'tenant', tenantId: 'acme-bank' },
        { username: 'zenith.client', role: 'tenant', tenantId: 'zenith-telecom' },
        { username: 'bj.agent', role: 'agent', siteId: 'beijing', agentId: 'bj-001' },
      ],
      password: PASSWORD,
      env: { CCFED_CONSOLE_DIR: CONSOLE_DIST },
    }),
    launchChromium(),
  ]);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await api?.stop();
  await site?.stop();
});

describe('the Campaigns page', () => {
  it('a tenant creates a campaign from a CSV, starts and pauses it; a bad list names its line; another tenant sees nothing', async () => {
    const page = await logIn('acme.client');
    await page.getByRole('menuitem', { name: 'Campaigns' }).click();
    await page.getByTestId('no-campaigns').waitFor({ timeout: 15_000 });

    const fill = (k: string, v: string) => page.getByTestId(`campaign-${k}`).fill(v);
    // Sites and skills are offered from the topology the tenant may see.
    await page.getByTestId('campaign-siteId').selectOption('beijing');
    await page.getByTestId('campaign-skill').selectOption('sales');
    await fill('campaignId', 'bad-list');
    await fill(
      'contactsCsv',
      'customer_id,number,time_zone\nc-1,+447700900021,UTC\nc-2,0770 0900,UTC\n',
    );
    await page.getByTestId('campaign-create').click();
    const refused = page.getByTestId('campaign-create-error');
    await refused.waitFor({ timeout: 10_000 });
    expect(await refused.innerText()).toMatch(/400.*line 3: number is not E\.164/);
    await screenshot(page, 'bad-list');

    // The good list picked as a file.
    await fill('campaignId', 'spring-retention');
    const goodCsv =
      'customer_id,number,time_zone\nc-1,+447700900021,UTC\nc-2,+447700900022,Asia/Shanghai\n';
    await page.getByTestId('campaign-file').setInputFiles({
      name: 'spring.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(goodCsv),
    });
    // Held as picked, not put in the text box: the page says what it holds.
    const picked = page.getByTestId('campaign-file-picked');
    await picked.waitFor({ timeout: 10_000 });
    expect(await picked.innerText()).toMatch(/^spring\.csv: 2 contacts, 0\.0 MiB/);
    expect(await page.getByTestId('campaign-contactsCsv').count()).toBe(0);
    await fill('ringTimeoutSeconds', '10');
    await page.getByTestId('campaign-create').click();
    await page.getByTestId('campaign-created').waitFor({ timeout: 10_000 });
    expect(await refused.count()).toBe(0);
    const row = page.getByTestId('campaign-beijing-spring-retention');
    await row.waitFor({ timeout: 10_000 });
    expect(await row.getByTestId('status').innerText()).toBe('paused');
    expect(await row.getByTestId('contacts').innerText()).toBe('2');
    expect(await row.getByTestId('dialed').innerText()).toBe('0');

    // The same id again: the site's 409, said plainly.
    await page.getByTestId('campaign-create').click();
    await refused.waitFor({ timeout: 10_000 });
    expect(await refused.innerText()).toMatch(/409/);

    // A retention team's list: 50,000 contacts (2.3 MB) picked as a file, sent whole.
    const zones = ['Europe/London', 'Asia/Shanghai', 'America/New_York', 'UTC'];
    const bigCsv = [
      'customer_id,number,time_zone',
      ...Array.from({ length: 50_000 }, (_, i) => `w-${i},+4479${30_000_000 + i},${zones[i % 4]}`),
    ].join('\n');
    await page.getByTestId('campaign-file').setInputFiles({
      name: 'winter.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(bigCsv),
    });
    await picked.filter({ hasText: 'winter.csv: 50,000 contacts' }).waitFor({ timeout: 10_000 });
    await fill('campaignId', 'winter-retention');
    await page.getByTestId('campaign-create').click();
    await page
      .getByTestId('campaign-created')
      .filter({ hasText: 'winter-retention created at beijing, paused, 50000 contacts' })
      .waitFor({ timeout: 30_000 });
    const winter = page.getByTestId('campaign-beijing-winter-retention');
    await winter.waitFor({ timeout: 10_000 });
    expect(await winter.getByTestId('contacts').innerText()).toBe('50000');
    await screenshot(page, 'big-list');
    // Back to a pasted list: the text box returns.
    await page.getByTestId('campaign-file-clear').click();
    await page.getByTestId('campaign-contactsCsv').waitFor({ timeout: 5_000 });

    await row.getByTestId('start').click();
    await row.getByTestId('status').filter({ hasText: 'running' }).waitFor({ timeout: 10_000 });
    await screenshot(page, 'running');
    await row.getByTestId('pause').click();
    await row.getByTestId('status').filter({ hasText: 'paused' }).waitFor({ timeout: 10_000 });
    // Nobody is logged in at beijing: nothing was dialed.
    expect(await row.getByTestId('dialed').innerText()).toBe('0');
    expect(await row.getByTestId('source').innerText()).toBe('csv');

    // From the churn call-back list: no CSV box, HQ reads the list, the site finds a-1's number.
    await page.getByTestId('campaign-source').selectOption('churn');
    expect(await page.getByTestId('campaign-contactsCsv').count()).toBe(0);
    await fill('campaignId', 'churn-winback');
    await page.getByTestId('campaign-create').click();
    const created = page.getByTestId('campaign-created');
    await created.filter({ hasText: 'churn-winback' }).waitFor({ timeout: 10_000 });
    expect(await created.innerText()).toMatch(/1 contacts, 1 with no number at the site/);
    const churnRow = page.getByTestId('campaign-beijing-churn-winback');
    await churnRow.waitFor({ timeout: 10_000 });
    expect(await churnRow.getByTestId('contacts').innerText()).toBe('1');
    expect(await churnRow.getByTestId('source').innerText()).toBe('churn (1 with no number)');
    expect(await page.locator('body').innerText()).not.toMatch(/7700900031|7700900033/);
    await screenshot(page, 'churn');

    // Another tenant's supervisor: the menu entry, and no campaign of acme's.
    const zenith = await logIn('zenith.client');
    await zenith.getByRole('menuitem', { name: 'Campaigns' }).click();
    await zenith.getByTestId('no-campaigns').waitFor({ timeout: 15_000 });
    expect(await zenith.getByTestId('campaign-beijing-spring-retention').count()).toBe(0);
    await screenshot(zenith, 'other-tenant');
    await zenith.context().close();
    await page.context().close();

    // An agent: the API refuses it campaigns and callbacks, and the menu does not offer them.
    const agent = await logIn('bj.agent');
    await agent.getByRole('menuitem', { name: 'Topology' }).waitFor({ timeout: 15_000 });
    expect(await agent.getByRole('menuitem', { name: 'Campaigns' }).count()).toBe(0);
    expect(await agent.getByRole('menuitem', { name: 'Callbacks', exact: true }).count()).toBe(0);
    expect((await http('bj.agent', 'GET', '/campaigns')).status).toBe(403);
    await agent.context().close();
  }, 240_000); // two lists, one of 50,000 contacts, on a machine shared with other test runs
});

describe('the Callbacks page', () => {
  it('lists a scheduled callback without its number, and Cancel removes it at the site', async () => {
    const asked = await http('acme.client', 'POST', '/callbacks', {
      siteId: 'beijing',
      number: NUMBER,
      skill: 'sales',
      scheduledFor: new Date(Date.now() + 3_600_000).toISOString(),
    });
    expect(asked.status).toBe(200);
    const callbackId = String(asked.body.callbackId);

    const page = await logIn('acme.client');
    await page.getByRole('menuitem', { name: 'Callbacks', exact: true }).click();
    // Only beijing runs: the others are said to be unreachable, not shown as without callbacks.
    const unreachable = page.getByTestId('callbacks-unreachable');
    await unreachable.waitFor({ timeout: 15_000 });
    expect(await unreachable.innerText()).toMatch(/shanghai/);
    await page.getByTestId('callbacks-site').selectOption('beijing');
    await page.getByTestId('callbacks-skill').selectOption('sales');
    await page.getByTestId('callbacks-apply').click();
    const row = page.getByTestId(`callback-${callbackId}`);
    await row.waitFor({ timeout: 15_000 });
    const text = await row.innerText();
    expect(text).toMatch(/beijing\s+sales\s+acme-bank\s+1\s/);
    expect(text).toContain('yes'); // scheduled
    expect(await page.locator('body').innerText()).not.toContain('13800000777');
    await screenshot(page, 'callbacks');

    // Keep it first: still there. Then cancel it for real.
    await row.getByTestId('cancel').click();
    await page.getByTestId('cancel-keep').click();
    expect(await row.count()).toBe(1);
    await row.getByTestId('cancel').click();
    await page.getByTestId('cancel-confirm').click();
    await page.getByTestId('no-callbacks').waitFor({ timeout: 10_000 });
    await waitFor('the site without the callback', async () => {
      const r = await http('acme.client', 'GET', '/callbacks?site=beijing');
      return r.body.callbacks.length === 0 ? true : undefined;
    });

    // A token the server no longer takes: the page's next refresh sends the person to log in.
    await page.evaluate(() => sessionStorage.setItem('ccfed.token', 'no-longer-valid'));
    await page.waitForURL((url) => url.hash.startsWith('#/login'), { timeout: 10_000 });
    await page.context().close();
  });
});
