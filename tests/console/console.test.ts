// The HQ console in Debian's Chromium (playwright-core, headless) against the real API process
// wiring: the API serves the built console and the live stream, fed by site snapshots and agent
// events this test publishes to real Kafka, with ClickHouse holding today's counts and a routing
// decision. HQ watches the wall change; the decision explorer explains an overflowed call; a
// tenant client finds no trace of the other tenant, in the page or by calling the API with its
// token; forged and expired tokens send the browser back to the log-in page and get 401s.
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClickHouseClient } from '@clickhouse/client';
import { createConsoleServer } from '@ccfed/api/app';
import { hashPassword } from '@ccfed/api/auth/password';
import { issueToken } from '@ccfed/api/auth/token';
import { parseUsers } from '@ccfed/api/auth/users';
import { clickhouseRunner } from '@ccfed/api/clickhouse';
import type { ConsoleServer } from '@ccfed/api/live/console-server';
import { LiveFeed } from '@ccfed/api/live/live-feed';
import { LiveState } from '@ccfed/api/live/live-state';
import { startOfUtcDay, todayCountsQuery } from '@ccfed/api/live/today-counts';
import { latestAgentStatesQuery } from '@ccfed/api/live/agent-seed';
import { assertRunsOnCurrentClickHouse, migratedDatabaseSetup } from '@ccfed/services';
import { silentLogger, systemClock } from '@ccfed/common';
import { AgentEvent, AgentState, SiteSnapshot, type TopicNames } from '@ccfed/proto';
import { allAgents, loadTopology } from '@ccfed/topology';
import type { Producer } from 'kafkajs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatDateTime } from '@ccfed/common';
import { clickhouseClient, freshDatabase, freshTopics, waitFor } from '../support/engines.js';
import { adminKafka, kafkaAs } from '../support/kafka.js';
import { EXAMPLE_TOPOLOGY } from '../support/topology.js';
import { buildConsoleIfStale, CONSOLE_DIST } from '../../scripts/console-build.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DIST = CONSOLE_DIST;
const SCREENSHOTS = join(ROOT, '.ccfed/test/screenshots');
const SECRET = 'console-test-secret-0123456789-abcdefghijkl';
const PASSWORD = 'correct horse';
const OVERFLOWED_CALL = 'call-overflowed-1';
const ACME_CALL = 'call-acme-only-1';

let client: ClickHouseClient;
/** What the API reads with: its own read-only user, as in production. */
let apiClient: ClickHouseClient;
let topics: TopicNames;
let producer: Producer;
let feed: LiveFeed;
let server: ConsoleServer;
let base: string;
let browser: Browser;
/** Every Content-Security-Policy violation any page of the run reported. */
const cspViolations: string[] = [];

/** A new page that reports CSP violations (the console must run under its policy untouched). */
async function openPage(from: Browser | BrowserContext = browser): Promise<Page> {
  const page = await from.newPage();
  page.on('console', (msg) => {
    if (/Content Security Policy/i.test(msg.text())) cspViolations.push(msg.text());
  });
  return page;
}

let sequence = 0;
async function publishSnapshot(siteId: string, queued: Record<string, number>): Promise<void> {
  const tenant = (tenantId: string, q: number) => ({
    tenantId,
    queued: q,
    agentsStaffed: 3,
    agentsIdle: 1,
    expectedWaitMs: 20_000,
  });
  const snapshot = SiteSnapshot.fromPartial({
    meta: { eventId: `snap-${siteId}-${++sequence}`, siteId, eventTime: new Date() },
    sequence,
    acceptingOverflow: true,
    skills: Object.entries(queued).map(([skill, q]) => ({
      skill,
      queued: q,
      oldestWaitMs: 31_000,
      agentsStaffed: 6,
      agentsIdle: 2,
      expectedWaitMs: 40_000,
      offeredToday: 120,
      answeredWithinThresholdToday: 80,
      answeredToday: 100,
      abandonedToday: 10,
      // Per tenant: zenith-telecom's queue is always 900 + the site's, so the page can tell
      // which figure it shows.
      tenants: [tenant('acme-bank', q), tenant('zenith-telecom', 900 + q)],
    })),
  });
  await producer.send({
    topic: topics.siteSnapshots,
    messages: [{ key: siteId, value: Buffer.from(SiteSnapshot.encode(snapshot).finish()) }],
  });
}

async function publishAgent(siteId: string, agentId: string, tenantId: string, to: AgentState) {
  const event = AgentEvent.fromPartial({
    meta: { eventId: `agent-${agentId}-${Date.now()}`, siteId, tenantId, eventTime: new Date() },
    agentId,
    fromState: AgentState.AGENT_STATE_READY,
    toState: to,
  });
  await producer.send({
    topic: topics.agentEvents,
    messages: [{ key: agentId, value: Buffer.from(AgentEvent.encode(event).finish()) }],
  });
}

async function insertFixtures(): Promise<void> {
  const now = new Date();
  const stamp = { event_time: formatDateTime(now), event_date: formatDateTime(now).slice(0, 10) };
  const decision = (callId: string, tenantId: string, target: string) => ({
    event_id: `ev-${callId}`,
    tenant_id: tenantId,
    decision_id: `dec-${callId}`,
    call_id: callId,
    origin_site_id: 'shanghai',
    skill: 'support',
    tier: 1,
    waited_ms: 45_000,
    origin_expected_wait_ms: 180_000,
    hop_count: 0,
    ...stamp,
    event_ms: 250,
    verdict: 'overflow',
    target_site_id: target,
    reason: 'target wait shorter by at least the minimum improvement',
    alt_site_ids: ['beijing', 'guangzhou'],
    alt_eligible: [1, 0],
    alt_excluded_reasons: ['', 'stale_snapshot'],
    alt_expected_wait_ms: [12_000, 5_000],
    alt_handicap_ms: [0, 10_000],
    alt_state_age_ms: [400, 95_000],
    kafka_partition: 0,
    kafka_offset: 1,
    ingested_at: stamp.event_time,
  });
  await client.insert({
    table: 'route_decisions',
    values: [
      decision(OVERFLOWED_CALL, 'zenith-telecom', 'beijing'),
      decision(ACME_CALL, 'acme-bank', 'beijing'),
    ],
    format: 'JSONEachRow',
  });
  // The overflow leg of each call as the two sites record it: out at shanghai, in at beijing.
  const leg = (callId: string, tenantId: string, siteId: string, kind: string, n: number) => ({
    event_id: `${kind}-${callId}`,
    tenant_id: tenantId,
    site_id: siteId,
    call_id: callId,
    kind,
    ...stamp,
    event_ms: n,
    skill: 'support',
    tier: 1,
    arrival_time: stamp.event_time,
    peer_site_id: siteId === 'shanghai' ? 'beijing' : 'shanghai',
    decision_id: `dec-${callId}`,
    kafka_partition: 0,
    kafka_offset: n,
    ingested_at: stamp.event_time,
  });
  await client.insert({
    table: 'call_events',
    values: [
      leg(OVERFLOWED_CALL, 'zenith-telecom', 'shanghai', 'overflowed_out', 1),
      leg(OVERFLOWED_CALL, 'zenith-telecom', 'beijing', 'overflowed_in', 2),
      leg(ACME_CALL, 'acme-bank', 'shanghai', 'overflowed_out', 3),
      leg(ACME_CALL, 'acme-bank', 'beijing', 'overflowed_in', 4),
      leg('call-acme-2', 'acme-bank', 'shanghai', 'overflowed_out', 5),
    ],
    format: 'JSONEachRow',
  });
  // An agent who went not-ready before the API started: known from ClickHouse, not from Kafka.
  await client.insert({
    table: 'agent_events',
    values: [
      {
        event_id: 'agent-sh-010-stored',
        tenant_id: 'acme-bank',
        site_id: 'shanghai',
        agent_id: 'sh-010',
        ...stamp,
        event_ms: 0,
        from_state: 'ready',
        to_state: 'not_ready',
        reason_code: 'lunch',
        from_reason_code: '',
        call_id: '',
        from_state_since: '1970-01-01 00:00:00',
        from_state_since_ms: 0,
        kafka_partition: 0,
        kafka_offset: 1,
        ingested_at: stamp.event_time,
      },
    ],
    format: 'JSONEachRow',
  });
}

/** The staffing plan in force: the hour before now and the hours after it, at shanghai. */
const PLAN_START = (() => {
  const d = new Date(Date.now() - 3600_000);
  d.setUTCMinutes(0, 0, 0);
  return d;
})();
const PLAN_BUCKETS = 12; // three hours of 15-minute intervals

async function insertStaffingPlan(): Promise<void> {
  const runAt = formatDateTime(new Date(PLAN_START.getTime() - 3600_000));
  const bucket = (i: number) => formatDateTime(new Date(PLAN_START.getTime() + i * 900_000));
  await client.insert({
    table: 'staffing_runs',
    format: 'JSONEachRow',
    values: [{ run_at: runAt, horizon_start: runAt, horizon_end: runAt, finished_at: runAt }],
  });
  await client.insert({
    table: 'staffing_plan',
    format: 'JSONEachRow',
    values: ['acme-bank', 'zenith-telecom'].flatMap((tenant) =>
      Array.from({ length: PLAN_BUCKETS }, (_, i) => ({
        run_at: runAt,
        tenant_id: tenant,
        site_id: 'shanghai',
        skill: 'support',
        bucket: bucket(i),
        offered: 9,
        aht_s: 200,
        patience_s: 120,
        sl_threshold_s: 20,
        sl_target: 0.8,
        required_agents: 2,
        expected_sl: 0.82,
      })),
    ),
  });
  // acme-bank's two support agents: both logged in the first interval, one in the second.
  await client.insert({
    table: 'staffing_agents',
    format: 'JSONEachRow',
    values: ['sh-002', 'sh-008'].map((agent) => ({
      run_at: runAt,
      tenant_id: 'acme-bank',
      site_id: 'shanghai',
      agent_id: agent,
      skill: 'support',
    })),
  });
  await client.insert({
    table: 'agent_rollup_15m',
    format: 'JSONEachRow',
    values: [
      ['sh-002', 0],
      ['sh-008', 0],
      ['sh-002', 1],
    ].map(([agent, i]) => ({
      bucket: bucket(i as number),
      tenant_id: 'acme-bank',
      site_id: 'shanghai',
      agent_id: agent,
      ready_ms: 300_000,
      on_call_ms: 600_000,
    })),
  });
}

async function logIn(page: Page, username: string): Promise<void> {
  await page.goto(`${base}/`);
  await page.locator('input[name="username"]').fill(username);
  await page.locator('input[name="password"]').fill(PASSWORD);
  await page.locator('button[type="submit"]').click();
}

async function screenshot(page: Page, name: string): Promise<string> {
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

async function getJson(path: string, token: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: await res.json() };
}

/** The first pushed view of /api/v1/live for `token`. */
async function firstLiveView(token: string): Promise<any> {
  const abort = new AbortController();
  const res = await fetch(`${base}/api/v1/live`, {
    headers: { authorization: `Bearer ${token}` },
    signal: abort.signal,
  });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error('live stream ended before its first view');
    text += value;
    const m = /event: view\ndata: (.*)\n\n/.exec(text);
    if (m) {
      abort.abort();
      return JSON.parse(m[1]!);
    }
  }
}

/** A raw GET, so that the path reaches the server exactly as written (fetch would normalize it). */
function rawGet(path: string): Promise<{ status: number; type: string | undefined }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    request({ host: url.hostname, port: url.port, path, method: 'GET' }, (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'] });
    })
      .on('error', reject)
      .end();
  });
}

beforeAll(async () => {
  buildConsoleIfStale();
  mkdirSync(SCREENSHOTS, { recursive: true });
  const [db, fresh] = await Promise.all([freshDatabase(), freshTopics(1)]);
  client = db.client;
  apiClient = clickhouseClient('api', db.database);
  topics = fresh.topics;
  await insertFixtures();
  await insertStaffingPlan();

  const hash = await hashPassword(PASSWORD);
  const users = parseUsers(
    [
      'users:',
      `  - { username: li.wei, passwordHash: '${hash}', role: hq }`,
      `  - { username: zenith.client, passwordHash: '${hash}', role: tenant, tenantId: zenith-telecom }`,
    ].join('\n'),
    'test users',
  );
  const topology = loadTopology(EXAMPLE_TOPOLOGY);
  const directory = new Map(
    allAgents(topology).map(({ site, agent }) => [
      agent.id,
      { siteId: site.id, tenantId: agent.tenant, skills: Object.keys(agent.skills) },
    ]),
  );
  // The test publishes for every site at once (as the admin); the live wall reads as the API does.
  producer = adminKafka('console-test').producer();
  await producer.connect();
  const runQuery = clickhouseRunner(apiClient);
  feed = new LiveFeed({
    kafka: await kafkaAs({ role: 'api' }, fresh.prefix, 'console-test'),
    topics,
    runQuery,
    state: new LiveState(directory),
    clock: systemClock,
    log: silentLogger(),
    pollIntervalMs: 1_000,
  });
  await feed.start();
  ({ server } = createConsoleServer({
    runQuery,
    users,
    secret: SECRET,
    tokenTtlSeconds: 3600,
    clock: systemClock,
    log: silentLogger(),
    live: feed,
    topology,
    consoleDir: DIST,
  }));
  base = `http://127.0.0.1:${await server.listen(0, '127.0.0.1')}`;

  // The feed starts at the end of the topics: publish until the first snapshots are in.
  await waitFor('the first snapshots in the live state', async () => {
    await publishSnapshot('shanghai', { support: 3, sales: 1 });
    await publishSnapshot('beijing', { support: 2 });
    const view = feed.state.view({ role: 'hq' }, Date.now());
    return view.sites.length === 2 ? true : undefined;
  });
  await publishAgent('shanghai', 'sh-001', 'acme-bank', AgentState.AGENT_STATE_ON_CALL);
  await publishAgent('shanghai', 'sh-003', 'zenith-telecom', AgentState.AGENT_STATE_READY);
  await publishAgent('beijing', 'bj-002', 'acme-bank', AgentState.AGENT_STATE_WRAP_UP);

  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await feed?.stop();
  await producer?.disconnect();
  await client?.close();
  await apiClient?.close();
});

describe('HQ console', () => {
  it('serves the console with the right content types and no way out of its directory', async () => {
    const index = await rawGet('/');
    expect(index).toEqual({ status: 200, type: 'text/html; charset=utf-8' });
    const asset = readdirSync(join(DIST, 'assets')).find((f) => f.endsWith('.js'))!;
    expect((await rawGet(`/assets/${asset}`)).type).toBe('text/javascript; charset=utf-8');
    for (const path of [
      '/../package.json',
      '/assets/../../package.json',
      '/%2e%2e/%2e%2e/package.json',
      '/..%2f..%2fpackage.json',
      '/assets/..%5c..%5cpackage.json',
      '/.gitignore',
      '/%00',
    ]) {
      expect((await rawGet(path)).status, path).toBe(400);
    }
    expect((await rawGet('/assets/missing.js')).status).toBe(404);
    // The SPA's own routes get index.html; the API's paths stay the API's.
    expect(await rawGet('/decisions')).toEqual({ status: 200, type: 'text/html; charset=utf-8' });
    expect((await rawGet('/api/v1/nothing')).status).toBe(404);
  });

  it('lets HQ log in and watch the live wall change within 2 s of a snapshot', async () => {
    const page = await openPage();
    await logIn(page, 'li.wei');
    const queued = page.getByTestId('queued-shanghai-support');
    await queued.waitFor({ timeout: 15_000 });
    await expect.poll(() => page.getByTestId('site-beijing').isVisible()).toBe(true);
    await expect
      .poll(async () => page.getByTestId('skill-shanghai-support').innerText(), { timeout: 10_000 })
      .toMatch(/on_call 1/);
    const row = await page.getByTestId('skill-shanghai-support').innerText();
    expect(row).toContain('80.0 %'); // SL today: 80 of 100 answered within the threshold
    await screenshot(page, 'hq-live-wall-before');

    const published = Date.now();
    await publishSnapshot('shanghai', { support: 17, sales: 1 });
    await queued.filter({ hasText: /^17$/ }).waitFor({ timeout: 2_000 });
    const latency = Date.now() - published;
    console.log(`live wall updated ${latency} ms after the snapshot was published`);
    expect(latency).toBeLessThan(2_000);
    // Today's overflow from ClickHouse: three calls left shanghai's support queue, two reached beijing.
    await expect
      .poll(() => page.getByTestId('overflow-out-shanghai-support').innerText())
      .toBe('3');
    expect(await page.getByTestId('overflow-in-beijing-support').innerText()).toBe('2');
    await screenshot(page, 'hq-live-wall-after');

    // Drill-down: site → skill → agents.
    await page.getByTestId('site-shanghai').getByRole('button', { name: 'shanghai' }).click();
    await page.getByTestId('agent-sh-001').waitFor();
    expect(await page.getByTestId('agent-sh-010').innerText()).toContain('not_ready');
    await page.getByTestId('skills-shanghai').getByRole('button', { name: 'sales' }).click();
    await page.getByTestId('agent-sh-001').waitFor();
    expect(await page.getByTestId('agent-sh-003').count()).toBe(0); // sh-003 has no sales skill
    await screenshot(page, 'hq-drill-down');

    // KPI trend: today's overflow legs grouped by hour, as a table and a chart.
    await page.goto(`${base}/#/kpis`);
    await page.getByTestId('kpis-rows').waitFor();
    expect(await page.getByTestId('kpis-rows').innerText()).toContain('overflow_out');
    await page.getByTestId('kpi-chart').waitFor();
    expect(await page.getByTestId('kpi-chart').locator('circle').count()).toBeGreaterThan(0);
    await screenshot(page, 'hq-kpis');
    await page.goto(`${base}/#/topology`);
    await page.getByTestId('topology-sites').waitFor();
    expect(await page.locator('body').innerText()).toContain('acme-bank');
    await page.close();
  });

  it('explains an overflowed call: target, reason and the alternatives with their waits', async () => {
    const page = await openPage();
    await logIn(page, 'li.wei');
    await page.getByTestId('live-updated').waitFor();
    await page.goto(`${base}/#/decisions`);
    await page.getByTestId('call-id').fill(OVERFLOWED_CALL);
    await page.getByTestId('find-call').click();
    await page.getByTestId('decision').waitFor();
    expect(await page.getByTestId('verdict').innerText()).toBe('overflow');
    expect(await page.getByTestId('target').innerText()).toBe('beijing');
    expect(await page.getByTestId('alternative-beijing').innerText()).toMatch(/yes\s+12\.0 s/);
    expect(await page.getByTestId('alternative-guangzhou').innerText()).toMatch(
      /no\s+5\.0 s\s+10\.0 s\s+95\.0 s\s+stale_snapshot/,
    );
    await screenshot(page, 'decision-explorer');
    await page.close();
  });

  it('shows the staffing plan: required beside staffed agents, understaffed intervals marked', async () => {
    // Ended intervals of the fixture: the hour before now (4) and those of this hour before now.
    const ended = Math.min(PLAN_BUCKETS, Math.floor((Date.now() - PLAN_START.getTime()) / 900_000));
    // acme-bank is short from its second interval on, zenith-telecom (nobody staffed) always.
    const short = Math.max(0, ended - 1) + ended;
    const page = await openPage();
    await logIn(page, 'li.wei');
    await page.getByTestId('live-updated').waitFor();
    await page.goto(`${base}/#/staffing`);
    await page.getByTestId('field-from').fill(PLAN_START.toISOString());
    await page
      .getByTestId('field-to')
      .fill(new Date(PLAN_START.getTime() + PLAN_BUCKETS * 900_000).toISOString());
    await page.getByTestId('apply').click();
    await page.getByTestId('staffing-rows').waitFor();
    await expect
      .poll(() => page.getByTestId('staffing-rows').locator('tbody tr').count())
      .toBe(2 * PLAN_BUCKETS);
    expect(await page.locator('[data-marked="true"]').count()).toBe(short);
    expect(await page.getByTestId('understaffed-count').innerText()).toBe(
      `${short} understaffed intervals`,
    );
    expect(await page.getByTestId('understaffed-mark').count()).toBe(ended);
    await screenshot(page, 'staffing');
    await page.close();

    // A tenant client sees its own plan only.
    const context = await browser.newContext();
    const tenant = await openPage(context);
    await logIn(tenant, 'zenith.client');
    await tenant.getByTestId('live-updated').waitFor();
    await tenant.goto(`${base}/#/staffing`);
    await tenant.getByTestId('field-from').fill(PLAN_START.toISOString());
    await tenant.getByTestId('apply').click();
    await tenant.getByTestId('staffing-rows').waitFor();
    const text = await tenant.getByTestId('staffing-rows').innerText();
    expect(text).toContain('zenith-telecom');
    expect(text).not.toContain('acme-bank');
    await context.close();
  });

  it("shows a tenant client nothing of another tenant's, in the page or through the API", async () => {
    const context = await browser.newContext();
    const page = await openPage(context);
    await logIn(page, 'zenith.client');
    await page.getByTestId('queued-shanghai-support').filter({ hasText: /^917$/ }).waitFor();
    await page.getByTestId('site-shanghai').getByRole('button', { name: 'shanghai' }).click();
    await page.getByTestId('agent-sh-003').waitFor();
    const acmeAgents = allAgentsOf('acme-bank');
    const wallText = await page.locator('body').innerText();
    await screenshot(page, 'tenant-live-wall');
    await page.goto(`${base}/#/topology`);
    await page.getByTestId('topology-sites').waitFor();
    const topologyText = await page.locator('body').innerText();
    await page.goto(`${base}/#/decisions`);
    await page.getByTestId('call-id').fill(ACME_CALL);
    await page.getByTestId('find-call').click();
    await page.getByTestId('no-decisions').waitFor();
    for (const text of [wallText, topologyText]) {
      expect(text).not.toContain('acme-bank');
      for (const id of acmeAgents) expect(text).not.toContain(id);
    }
    // Its own overflow only: one of the three calls that left shanghai was zenith-telecom's.
    await page.goto(`${base}/#/`);
    await expect
      .poll(() => page.getByTestId('overflow-out-shanghai-support').innerText())
      .toBe('1');
    await screenshot(page, 'tenant-decision-explorer');

    // The same token, straight at the API.
    const token: string | null = await page.evaluate(() =>
      (globalThis as any).sessionStorage.getItem('ccfed.token'),
    );
    expect(token).toBeTruthy();
    const live = JSON.stringify(await firstLiveView(token!));
    const decisions = await getJson(`/api/v1/routing/decisions?callId=${ACME_CALL}`, token!);
    const topologyAnswer = await getJson('/api/v1/topology', token!);
    expect(decisions).toEqual({ status: 200, body: { rows: [] } });
    expect(topologyAnswer.status).toBe(200);
    for (const text of [live, JSON.stringify(topologyAnswer.body)]) {
      expect(text).not.toContain('acme-bank');
      for (const id of acmeAgents) expect(text).not.toContain(`"${id}"`);
    }
    expect(live).toContain('"sh-003"');
    const own = await getJson(`/api/v1/routing/decisions?callId=${OVERFLOWED_CALL}`, token!);
    expect(own.body.rows).toHaveLength(1);
    await context.close();
  });

  it('sends a forged or expired token back to the log-in page, and the API refuses it', async () => {
    const now = Date.now();
    const forged = issueToken(
      { sub: 'li.wei', role: 'hq' },
      { secret: 'another-secret-0123456789-abcdefghijklmnopq', ttlSeconds: 3600, now },
    );
    const expired = issueToken(
      { sub: 'li.wei', role: 'hq' },
      { secret: SECRET, ttlSeconds: 60, now: now - 3600_000 },
    );
    for (const [name, token] of [
      ['forged', forged],
      ['expired', expired],
    ] as const) {
      for (const path of ['/api/v1/me', '/api/v1/live', '/api/v1/topology']) {
        const res = await fetch(`${base}${path}`, {
          headers: { authorization: `Bearer ${token}` },
        });
        expect(res.status, `${name} ${path}`).toBe(401);
      }
      const page = await openPage();
      await page.goto(`${base}/`);
      // Runs in the page, where sessionStorage exists (the tests' own types have no DOM).
      await page.evaluate((t) => {
        const storage = (globalThis as any).sessionStorage;
        storage.setItem('ccfed.token', t);
        storage.setItem('ccfed.identity', '{"username":"li.wei","role":"hq","expiresAt":""}');
      }, token);
      await page.goto(`${base}/#/`);
      await page.reload();
      await page.waitForURL(/#\/login/, { timeout: 10_000 });
      await page
        .getByRole('button', { name: /sign in/i })
        .first()
        .waitFor();
      expect(await page.getByTestId('site-shanghai').count()).toBe(0);
      await screenshot(page, `refused-${name}-token`);
      await page.close();
    }
    // A wrong password stays on the log-in page with a message.
    const page = await openPage();
    await page.goto(`${base}/`);
    await page.locator('input[name="username"]').fill('li.wei');
    await page.locator('input[name="password"]').fill('wrong');
    await page.locator('button[type="submit"]').click();
    await page.getByText('Unknown username or wrong password').waitFor();
    await page.close();
  });

  it('ends a live stream when its token expires', async () => {
    const shortLived = issueToken(
      { sub: 'li.wei', role: 'hq' },
      { secret: SECRET, ttlSeconds: 2, now: Date.now() },
    );
    const res = await fetch(`${base}/api/v1/live`, {
      headers: { authorization: `Bearer ${shortLived}` },
    });
    expect(res.status).toBe(200);
    const started = Date.now();
    const text = await res.text(); // the server ends the stream
    expect(text).toContain('event: view');
    expect(text).toMatch(/event: expired\ndata: \{"error":"token expired"\}\n\n$/);
    expect(Date.now() - started).toBeLessThan(4_000);
  });

  it("proves today's counts and the stored agent states queries on current ClickHouse too", async () => {
    const day = startOfUtcDay(Date.now());
    await assertRunsOnCurrentClickHouse(
      migratedDatabaseSetup(),
      [
        { role: 'hq' } as const,
        { role: 'site', siteId: 'shanghai' } as const,
        { role: 'tenant', tenantId: 'zenith-telecom' } as const,
      ].flatMap((scope) => [
        { name: `today ${scope.role}`, sql: todayCountsQuery(scope, day).text },
        { name: `agents ${scope.role}`, sql: latestAgentStatesQuery(scope, day).text },
      ]),
    );
  });

  it('answers the live stream with 503 and a clear message when the API runs without Kafka', async () => {
    const { server: noKafka } = createConsoleServer({
      runQuery: clickhouseRunner(apiClient),
      users: new Map(),
      secret: SECRET,
      tokenTtlSeconds: 3600,
      clock: systemClock,
      log: silentLogger(),
      live: undefined,
    });
    const url = `http://127.0.0.1:${await noKafka.listen(0, '127.0.0.1')}`;
    try {
      const hq = issueToken({ sub: 'li.wei', role: 'hq' }, { secret: SECRET, ttlSeconds: 60 });
      const live = await fetch(`${url}/api/v1/live`, {
        headers: { authorization: `Bearer ${hq}` },
      });
      expect(live.status).toBe(503);
      expect(((await live.json()) as { error: string }).error).toMatch(
        /without Kafka.*CCFED_KAFKA_BROKERS/,
      );
      expect((await fetch(`${url}/api/v1/live`)).status).toBe(401);
      const extra = await fetch(`${url}/api/v1/live?access_token=${hq}`, {
        headers: { authorization: `Bearer ${hq}` },
      });
      expect(extra.status).toBe(400);
      // Without a topology file there is no topology route.
      const topology = await fetch(`${url}/api/v1/topology`, {
        headers: { authorization: `Bearer ${hq}` },
      });
      expect(topology.status).toBe(404);
      // Without a console directory, / is the API's: a JSON 404, not a file.
      expect((await fetch(`${url}/`)).status).toBe(404);
    } finally {
      await noKafka.close();
    }
  });

  it('runs every page above under its Content-Security-Policy, and cannot be framed', async () => {
    expect(cspViolations).toEqual([]);
    const res = await fetch(`${base}/`);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    // Another origin framing the console (a clickjacking page) gets nothing in its frame.
    const page = await browser.newPage();
    const refused: string[] = [];
    page.on('console', (msg) => void refused.push(msg.text()));
    await page.setContent(`<iframe id="c" src="${base}/" width="800" height="600"></iframe>`);
    const frame = await (await page.$('#c'))!.contentFrame();
    await expect
      .poll(async () => refused.some((t) => /frame-ancestors/.test(t)), { timeout: 10_000 })
      .toBe(true);
    expect(await frame?.locator('input[name="username"]').count()).toBe(0);
    await page.close();
  });

  it('saved every screenshot', () => {
    for (const name of [
      'hq-live-wall-before',
      'hq-live-wall-after',
      'hq-drill-down',
      'hq-kpis',
      'decision-explorer',
      'tenant-live-wall',
      'tenant-decision-explorer',
      'refused-forged-token',
      'refused-expired-token',
    ]) {
      const path = join(SCREENSHOTS, `${name}.png`);
      expect(existsSync(path), path).toBe(true);
      expect(statSync(path).size, path).toBeGreaterThan(1000);
    }
  });
});

function allAgentsOf(tenantId: string): string[] {
  return allAgents(loadTopology(EXAMPLE_TOPOLOGY))
    .filter(({ agent }) => agent.tenant === tenantId)
    .map(({ agent }) => agent.id);
}
