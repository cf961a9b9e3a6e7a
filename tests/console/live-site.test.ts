// The live wall fed by a real site under SIP traffic: Kamailio and the site agent process publish
// snapshots and agent events to Kafka as in production, sipp agent phones answer and sipp callers
// queue; HQ watches the wall in Debian's Chromium as the agents log in and the calls arrive.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createConsoleServer } from '@ccfed/api/app';
import { hashPassword } from '@ccfed/api/auth/password';
import { parseUsers } from '@ccfed/api/auth/users';
import { clickhouseRunner } from '@ccfed/api/clickhouse';
import type { ConsoleServer } from '@ccfed/api/live/console-server';
import { LiveFeed } from '@ccfed/api/live/live-feed';
import { LiveState } from '@ccfed/api/live/live-state';
import type { ClickHouseClient } from '@clickhouse/client';
import { silentLogger, systemClock } from '@ccfed/common';
import {
  agentPhone,
  freePort,
  queuedCallers,
  udpPortFree,
  type LoggedSippRun,
} from '@ccfed/services';
import { allAgents } from '@ccfed/topology';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { clickhouseClient, freshDatabase, uniqueName, waitFor } from '../support/engines.js';
import { kafkaAs } from '../support/kafka.js';
import { startSite, type RunningSite } from '../support/running-site.js';
import { buildConsoleIfStale, CONSOLE_DIST } from '../../scripts/console-build.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DIST = CONSOLE_DIST;
const SCREENSHOTS = join(ROOT, '.ccfed/test/screenshots');
const SECRET = 'console-site-secret-0123456789-abcdefghijk';
const PASSWORD = 'correct horse';
const SALES = '400200100'; // acme-bank's sales number at beijing

let site: RunningSite;
let client: ClickHouseClient;
let feed: LiveFeed;
let server: ConsoleServer;
let browser: Browser;
let page: Page;
const phones: LoggedSippRun[] = [];
let callers: LoggedSippRun | undefined;

const logFile = (name: string) => {
  const dir = join(inject('runDir'), uniqueName('console-site'));
  mkdirSync(dir, { recursive: true });
  return join(dir, `${name}.log`);
};

beforeAll(async () => {
  buildConsoleIfStale();
  mkdirSync(SCREENSHOTS, { recursive: true });
  site = await startSite({
    mutate: (doc) => {
      const sales = doc.skills.find((s: { id: string }) => s.id === 'sales');
      sales.wrapUpSeconds = 1;
      const bj = doc.sites.find((s: { id: string }) => s.id === 'beijing');
      bj.agents = [
        { id: 'bj-001', name: 'Agent 1', tenant: 'acme-bank', skills: { sales: 8 } },
        { id: 'bj-002', name: 'Agent 2', tenant: 'zenith-telecom', skills: { sales: 8 } },
      ];
    },
  });
  const { database } = await freshDatabase();
  // The API reads as its own read-only user, as in production.
  client = clickhouseClient('api', database);
  const runQuery = clickhouseRunner(client);
  // The live wall as the API runs it, as Kafka user api.
  feed = new LiveFeed({
    kafka: await kafkaAs({ role: 'api' }, site.prefix, 'console-site'),
    topics: site.topics,
    runQuery,
    state: new LiveState(
      new Map(
        allAgents(site.topology).map(({ site: s, agent }) => [
          agent.id,
          { siteId: s.id, tenantId: agent.tenant, skills: Object.keys(agent.skills) },
        ]),
      ),
    ),
    clock: systemClock,
    log: silentLogger(),
  });
  await feed.start();
  const hash = await hashPassword(PASSWORD);
  ({ server } = createConsoleServer({
    runQuery,
    users: parseUsers(`users:\n  - { username: li.wei, passwordHash: '${hash}', role: hq }`, 't'),
    secret: SECRET,
    tokenTtlSeconds: 3600,
    clock: systemClock,
    log: silentLogger(),
    live: feed,
    topology: site.topology,
    consoleDir: DIST,
  }));
  const base = `http://127.0.0.1:${await server.listen(0, '127.0.0.1')}`;
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  page = await browser.newPage();
  await page.goto(`${base}/`);
  await page.locator('input[name="username"]').fill('li.wei');
  await page.locator('input[name="password"]').fill(PASSWORD);
  await page.locator('button[type="submit"]').click();
}, 120_000);

afterAll(async () => {
  await callers?.stop();
  for (const p of phones) await p.stop();
  await browser?.close();
  await server?.close();
  await feed?.stop();
  await client?.close();
  await site?.stop();
});

describe('the live wall on a running site', () => {
  it('shows the site from its own snapshots, then its agents logging in and taking calls', async () => {
    // The site agent publishes a snapshot every second: the wall shows beijing without help.
    await page.getByTestId('queued-beijing-sales').waitFor({ timeout: 15_000 });
    await page.getByTestId('site-beijing').getByRole('button', { name: 'beijing' }).click();

    for (const agentId of ['bj-001', 'bj-002']) {
      const port = await freePort();
      phones.push(
        agentPhone({
          port,
          ringMs: 200,
          talkMeanMs: 3000,
          logFile: logFile(agentId),
          timeout: '90s',
        }),
      );
      await waitFor(`${agentId}'s phone listening`, async () =>
        (await udpPortFree(port)) ? undefined : true,
      );
      await site.control.login({ agentId, contactUri: `sip:${agentId}@127.0.0.1:${port}` });
      await site.control.setReady({ agentId });
    }
    await page.getByTestId('agent-bj-001').filter({ hasText: 'ready' }).waitFor({ timeout: 5_000 });
    await page.getByTestId('agent-bj-002').filter({ hasText: 'ready' }).waitFor({ timeout: 5_000 });
    // The skill row counts from the site's snapshots, which follow the agent events by up to a
    // snapshot interval: wait for it rather than read it the moment the agents show ready.
    await waitFor(
      'both agents staffed and idle in the skill row',
      async () =>
        /\t2\t2\t/.test(await page.getByTestId('skill-beijing-sales').innerText()) // staffed, idle
          ? true
          : undefined,
      5_000,
    );

    // acme-bank's calls: only bj-001 serves them, so a queue builds while bj-002 stays ready.
    callers = queuedCallers({
      proxy: site.kamailio.sip,
      service: SALES,
      callerPrefix: '86139000',
      patienceMs: 8_000,
      calls: 6,
      rate: 3,
      port: await freePort(),
      logFile: logFile('callers'),
      timeout: '60s',
    });
    await page
      .getByTestId('agent-bj-001')
      .filter({ hasText: 'on_call' })
      .waitFor({ timeout: 10_000 });
    await waitFor(
      'a queue on the wall',
      async () =>
        Number(await page.getByTestId('queued-beijing-sales').innerText()) > 0 ? true : undefined,
      10_000,
    );
    expect(await page.getByTestId('agent-bj-002').innerText()).toContain('ready');
    await page.screenshot({
      path: join(SCREENSHOTS, 'live-site-under-traffic.png'),
      fullPage: true,
    });
    const { code, output } = await callers.exited;
    expect(code, `sipp callers: ${output.slice(-1500)}`).toBe(0);
  });
});
