// The screen pop of an overflowed call: Shanghai cannot serve its caller (its only agent is not
// ready), the central router moves the call to Beijing, and the Beijing agent's desktop, logged in
// and ready through the API, pops the call with where it came from, how long the caller had
// already waited and the router's reason. Real sites (Kamailio, site agents), the router, Kafka.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createConsoleServer } from '@ccfed/api/app';
import { hashPassword } from '@ccfed/api/auth/password';
import { parseUsers } from '@ccfed/api/auth/users';
import { clickhouseRunner } from '@ccfed/api/clickhouse';
import { DesktopFeed } from '@ccfed/api/desktop/desktop-feed';
import { SiteDesks } from '@ccfed/api/desktop/site-desks';
import type { ConsoleServer } from '@ccfed/api/live/console-server';
import { silentLogger, type Principal } from '@ccfed/common';
import { CustomerTier } from '@ccfed/proto';
import {
  agentPhone,
  callerNumbers,
  freePort,
  queuedCallers,
  udpPortFree,
  type LoggedSippRun,
} from '@ccfed/services';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { clickhouseClient, freshDatabase, uniqueName, waitFor } from '../support/engines.js';
import { kafkaAs, kafkaEnv } from '../support/kafka.js';
import { startService, type ServiceProcess } from '../support/processes.js';
import { startFederation, type RunningFederation } from '../support/running-site.js';
import { ROUTER, tlsAs, tlsEnv } from '../support/security.js';

const SECRET = 'desktop-overflow-test-secret-0123456789-abc';
const PASSWORD = 'correct horse';
const SHANGHAI_SUPPORT = '400100200';
const CALLERS = '8613711';
const API: Principal = { kind: 'service', service: 'api' };

let fed: RunningFederation;
let router: ServiceProcess;
let desktop: DesktopFeed;
let siteDesks: SiteDesks;
let server: ConsoleServer;
let base: string;
const phones: LoggedSippRun[] = [];
let caller: LoggedSippRun | undefined;
const abort = new AbortController();
const logDir = join(inject('runDir'), uniqueName('desktop-overflow'));

beforeAll(async () => {
  mkdirSync(logDir, { recursive: true });
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
        number: callerNumbers(CALLERS, 1)[0]!,
        customerId: 'cust-ovf-1',
        tier: CustomerTier.CUSTOMER_TIER_VIP,
      },
    ],
  });
  router = startService(
    'central/router/src/index.ts',
    {
      CCFED_TOPOLOGY: fed.topologyFile,
      ...(await kafkaEnv({ role: 'router' }, fed.prefix)),
      CCFED_TOPIC_PREFIX: fed.prefix,
      CCFED_ROUTER_PORT: String(routerPort),
      ...(await tlsEnv(ROUTER)),
    },
    'router',
  );
  const { database } = await freshDatabase();
  desktop = new DesktopFeed({
    kafka: await kafkaAs({ role: 'api' }, fed.prefix, 'desk-overflow'),
    topics: fed.topics,
    runQuery: clickhouseRunner(clickhouseClient('api', database)),
    clock: { now: () => Date.now() },
    log: silentLogger(),
  });
  await desktop.start();
  siteDesks = new SiteDesks({ topology: fed.topology, tls: await tlsAs(API) });
  const hash = await hashPassword(PASSWORD);
  ({ server } = createConsoleServer({
    runQuery: clickhouseRunner(clickhouseClient('api', database)),
    users: parseUsers(
      `users:\n  - { username: bj.agent, passwordHash: '${hash}', role: agent, siteId: beijing, agentId: bj-001 }\n`,
      'users.yaml',
    ),
    secret: SECRET,
    tokenTtlSeconds: 3600,
    clock: { now: () => Date.now() },
    log: silentLogger(),
    live: undefined,
    desktop,
    siteDesks,
    topology: fed.topology,
  }));
  base = `http://127.0.0.1:${await server.listen(0, '127.0.0.1')}`;
}, 120_000);

afterAll(async () => {
  abort.abort();
  await caller?.stop();
  for (const p of phones) await p.stop();
  await server?.close();
  siteDesks?.close();
  await desktop?.stop();
  await router?.stop();
  await fed?.stop();
});

describe('the screen pop of an overflowed call', () => {
  it('shows the origin site, the wait so far and the router’s reason', async () => {
    const phone = async (agentId: string) => {
      const port = await freePort();
      phones.push(
        agentPhone({
          port,
          ringMs: 100,
          talkMeanMs: 1000,
          calls: 1,
          logFile: join(logDir, `${agentId}.log`),
          timeout: '60s',
        }),
      );
      await waitFor(`${agentId}'s phone`, async () =>
        (await udpPortFree(port)) ? undefined : true,
      );
      return `sip:${agentId}@127.0.0.1:${port}`;
    };
    // Shanghai's only agent is logged in but not ready: its callers wait.
    const shanghai = fed.sites.get('shanghai')!;
    await shanghai.control.login({ agentId: 'sh-001', contactUri: await phone('sh-001') });

    const session = await fetch(`${base}/api/v1/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'bj.agent', password: PASSWORD }),
    });
    const { token } = (await session.json()) as { token: string };
    const post = (path: string, body: unknown) =>
      fetch(`${base}/api/v1${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await post('/desktop/login', { contactUri: await phone('bj-001') })).status).toBe(200);
    expect((await post('/desktop/state', { state: 'ready' })).status).toBe(200);

    const offers: any[] = [];
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

    const startedAt = Date.now();
    caller = queuedCallers({
      proxy: shanghai.kamailio.sip,
      service: SHANGHAI_SUPPORT,
      callerPrefix: CALLERS,
      patienceMs: 40_000,
      calls: 1,
      port: await freePort(),
      logFile: join(logDir, 'caller.log'),
      timeout: '60s',
    });
    const offer = await waitFor(
      'the overflowed call’s pop at Beijing',
      async () => offers[0],
      40_000,
    );
    const pop = offer.data;
    console.log(
      `overflow pop: ${offer.at - Date.parse(pop.offeredAt)} ms after Beijing reserved the agent; ${JSON.stringify(pop.overflow)}`,
    );
    expect(pop.siteId).toBe('beijing');
    expect(pop.customer).toEqual({ id: 'cust-ovf-1', tier: 'vip' });
    expect(pop.overflow.originSiteId).toBe('shanghai');
    // The caller's wait counts from their arrival at Shanghai (queued there, asked the router,
    // moved over SIP), not from Beijing's offer: more than nothing, less than since we dialled.
    expect(pop.overflow.waitedMs).toBeGreaterThan(0);
    expect(pop.overflow.waitedMs).toBe(pop.waitedMs);
    expect(pop.overflow.waitedMs).toBeLessThanOrEqual(Date.now() - startedAt);
    // e.g. "beijing expects 0.0 s against 86400.0 s at shanghai"
    expect(pop.overflow.routerReason).toMatch(/^beijing expects .* at shanghai$/);
    // The customer is known, with no history stored in this database.
    expect(pop.story).toMatchObject({ customerId: 'cust-ovf-1', contacts: [] });
  }, 60_000);
});
