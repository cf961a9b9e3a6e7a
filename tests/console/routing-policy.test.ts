// The routing-policy page in Debian's Chromium (playwright-core, headless) against the API wired
// as the process wires it, on real Kafka: HQ submits invalid values and sees what is wrong next to
// each field and above the form, with nothing saved; then valid values, which are saved as the
// next version. A site supervisor sees the policy read only; a tenant client does not see it.
// Screenshots go to .ccfed/test/screenshots/routing-policy-*.png.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClickHouseClient } from '@clickhouse/client';
import { createConsoleServer } from '@ccfed/api/app';
import { hashPassword } from '@ccfed/api/auth/password';
import { parseUsers } from '@ccfed/api/auth/users';
import { clickhouseRunner } from '@ccfed/api/clickhouse';
import type { ConsoleServer } from '@ccfed/api/live/console-server';
import { RoutingPolicyStore } from '@ccfed/api/routing-policy/policy-store';
import { silentLogger, systemClock } from '@ccfed/common';
import type { TopicNames } from '@ccfed/proto';
import { loadTopology } from '@ccfed/topology';
import type { Kafka } from 'kafkajs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConsoleIfStale, CONSOLE_DIST } from '../../scripts/console-build.js';
import { clickhouseClient, freshTopics, uniqueName } from '../support/engines.js';
import { kafkaAs } from '../support/kafka.js';
import { EXAMPLE_TOPOLOGY } from '../support/topology.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SCREENSHOTS = join(ROOT, '.ccfed/test/screenshots');
const SECRET = 'console-policy-secret-0123456789-abcdefghijkl';
const PASSWORD = 'correct horse';

let kafka: Kafka;
let topics: TopicNames;
let store: RoutingPolicyStore;
let clickhouse: ClickHouseClient;
let server: ConsoleServer;
let base: string;
let browser: Browser;

async function logIn(page: Page, username: string): Promise<void> {
  await page.goto(`${base}/`);
  await page.locator('input[name="username"]').fill(username);
  await page.locator('input[name="password"]').fill(PASSWORD);
  await page.locator('button[type="submit"]').click();
  await page.waitForURL((url) => !url.hash.startsWith('#/login'));
}

async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SCREENSHOTS, `routing-policy-${name}.png`), fullPage: true });
}

/** The policy as the API answers it, with HQ's token from the page's session. */
async function policyOverApi(page: Page): Promise<any> {
  const token: string | null = await page.evaluate(() =>
    (globalThis as any).sessionStorage.getItem('ccfed.token'),
  );
  const res = await fetch(`${base}/api/v1/routing-policy`, {
    headers: { authorization: `Bearer ${token}` },
  });
  expect(res.status).toBe(200);
  return res.json();
}

async function messagesOnTopic(): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [p] = await admin.fetchTopicOffsets(topics.routingPolicy);
    return Number(p!.high);
  } finally {
    await admin.disconnect();
  }
}

const field = (page: Page, source: string) => page.locator(`input[name="${source}"]`);

beforeAll(async () => {
  buildConsoleIfStale();
  mkdirSync(SCREENSHOTS, { recursive: true });
  const fresh = await freshTopics(1);
  topics = fresh.topics;
  const topology = loadTopology(EXAMPLE_TOPOLOGY);
  // The store as the API runs it, as Kafka user api.
  kafka = await kafkaAs({ role: 'api' }, fresh.prefix, 'console-policy');
  store = new RoutingPolicyStore({
    kafka,
    topic: topics.routingPolicy,
    topology,
    groupId: uniqueName('ccfed-api-console-policy'),
    log: silentLogger(),
  });
  await store.start();
  const hash = await hashPassword(PASSWORD);
  const users = parseUsers(
    [
      'users:',
      `  - { username: li.wei, passwordHash: '${hash}', role: hq }`,
      `  - { username: beijing.sup, passwordHash: '${hash}', role: site, siteId: beijing }`,
      `  - { username: acme.client, passwordHash: '${hash}', role: tenant, tenantId: acme-bank }`,
    ].join('\n'),
    'test users',
  );
  clickhouse = clickhouseClient('api');
  ({ server } = createConsoleServer({
    runQuery: clickhouseRunner(clickhouse),
    users,
    secret: SECRET,
    tokenTtlSeconds: 3600,
    clock: systemClock,
    log: silentLogger(),
    live: undefined,
    topology,
    routingPolicy: store,
    consoleDir: CONSOLE_DIST,
  }));
  base = `http://127.0.0.1:${await server.listen(0, '127.0.0.1')}`;
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await store?.stop();
  await clickhouse?.close();
});

describe('routing policy page', () => {
  it('shows HQ what is wrong with invalid values and saves nothing, then saves valid ones as the next version', async () => {
    const page = await browser.newPage();
    await logIn(page, 'li.wei');
    await page.goto(`${base}/#/routing-policy`);
    const salesThreshold = field(page, 'skills.sales.thresholdSeconds');
    await salesThreshold.waitFor({ timeout: 15_000 });
    expect(await salesThreshold.inputValue()).toBe('30');
    expect(await page.getByTestId('policy-version').innerText()).toBe(
      'Version 0, changed by topology file',
    );
    await screenshot(page, 'hq-before');

    await salesThreshold.fill('0');
    await field(page, 'sites.beijing.handicapSeconds').fill('9999');
    await page.getByRole('button', { name: 'Save policy' }).click();
    const problem = page.getByTestId('policy-problem');
    await problem.waitFor({ timeout: 10_000 });
    expect(await problem.innerText()).toContain(
      'Nothing was saved. invalid routing policy: skills.sales.thresholdSeconds: must be between 1 and 3600; sites.beijing.handicapSeconds: must be between -600 and 600',
    );
    // Each message under its own field.
    const salesBox = page.locator('.MuiFormControl-root', { has: salesThreshold });
    await salesBox.getByText('must be between 1 and 3600').waitFor();
    const beijingBox = page.locator('.MuiFormControl-root', {
      has: field(page, 'sites.beijing.handicapSeconds'),
    });
    await beijingBox.getByText('must be between -600 and 600').waitFor();
    await screenshot(page, 'hq-invalid');
    const unchanged = await policyOverApi(page);
    expect(unchanged.version).toBe(0);
    expect(unchanged.skills.sales.thresholdSeconds).toBe(30);
    expect(unchanged.sites.beijing.handicapSeconds).toBe(5);
    expect(await messagesOnTopic()).toBe(0);

    await salesThreshold.fill('45');
    await field(page, 'sites.beijing.handicapSeconds').fill('-20');
    // The optional "ask after waiting": set for sales, emptied (none) for support.
    await field(page, 'skills.sales.askAfterWaitingSeconds').fill('20');
    expect(await field(page, 'skills.support.askAfterWaitingSeconds').inputValue()).toBe('15');
    await field(page, 'skills.support.askAfterWaitingSeconds').fill('');
    await page.getByRole('button', { name: 'Save policy' }).click();
    await page
      .getByTestId('policy-version')
      .filter({ hasText: /^Version 1, changed by li\.wei at / })
      .waitFor({ timeout: 10_000 });
    await page.getByText('Routing policy saved: version 1, in force now').waitFor();
    expect(await problem.count()).toBe(0);
    await screenshot(page, 'hq-saved');
    const saved = await policyOverApi(page);
    expect(saved).toMatchObject({
      version: 1,
      changedBy: 'li.wei',
      skills: {
        sales: { thresholdSeconds: 45, minImprovementSeconds: 10, askAfterWaitingSeconds: 20 },
      },
      sites: { beijing: { handicapSeconds: -20 } },
    });
    expect(saved.skills.support).toEqual({ thresholdSeconds: 30, minImprovementSeconds: 10 });
    expect(await messagesOnTopic()).toBe(1);
    await page.close();
  }, 90_000);

  it('shows a site supervisor the policy read only, and a tenant client nothing of it', async () => {
    const supervisor = await browser.newPage();
    await logIn(supervisor, 'beijing.sup');
    await supervisor.goto(`${base}/#/routing-policy`);
    const handicap = field(supervisor, 'sites.beijing.handicapSeconds');
    await handicap.waitFor({ timeout: 15_000 });
    expect(await handicap.inputValue()).toBe('-20');
    expect(await handicap.isDisabled()).toBe(true);
    expect(await supervisor.getByRole('button', { name: 'Save policy' }).count()).toBe(0);
    await screenshot(supervisor, 'supervisor');
    await supervisor.close();

    const tenant = await browser.newPage();
    await logIn(tenant, 'acme.client');
    await tenant.getByRole('menuitem', { name: 'Topology' }).waitFor({ timeout: 15_000 });
    expect(await tenant.getByRole('menuitem', { name: 'Routing policy' }).count()).toBe(0);
    await tenant.goto(`${base}/#/routing-policy`);
    await tenant.getByText('Not Found').waitFor();
    expect(await field(tenant, 'skills.sales.thresholdSeconds').count()).toBe(0);
    await screenshot(tenant, 'tenant');
    await tenant.close();
  }, 60_000);
});
