// npm run bench:desktop — the screen pop latency: from the site offering a call to an
// agent to the customer's story rendered on the agent's desktop, p50/p99 over 100 calls.
//
// One site as production runs it (rtpengine, Kamailio, the site agent process with the customer
// directory), Kafka, ClickHouse with a history for every caller's customer, the ingester landing
// the bench's own calls, and the central API process serving the built desktop. Debian's
// Chromium opens the real desk page, `${api}/desktop/?phone=<sip:…>`, and the agent logs in
// through its form at a sipp desk phone (the desk shows the same pop whichever phone the agent
// uses; the browser softphone's media is tests/desktop/softphone.test.ts's business), then clicks
// Ready. sipp callers the directory knows dial the site's sales number one after another; the
// desk phone rings, answers, talks about a second and hangs up, and the site offers the next call.
//
// The desk app records each pop in window.ccfedPops (central/desktop/src/app/agent-desk.tsx):
// offeredAt is the site's reservation time, receivedAt when the stream's `offer` event reached the
// page, renderedAt when React had committed the pop. Writes bench/results/desktop.json:
//
//   pop_ms        offer → rendered (renderedAt − offeredAt): p50, p99, max, samples
//   received_ms   offer → received by the page
//   pushed_ms     offer → pushed by the API (its desk_offer_pushed log), and story_read_ms, the
//                 story read within it
//   story         how many pops showed the customer's earlier contacts (each caller has some)
//
// Both clocks are this machine's: the site agent stamps the reservation, the browser the rest.
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hashPassword } from '@ccfed/api/auth/password';
import {
  CustomerDirectoryEntry,
  CustomerTier,
  customerDirectoryKey,
  topicNames,
} from '@ccfed/proto';
import { agentPhone, assignFreePorts, freePort, migrate, sipp, udpPortFree } from '@ccfed/services';
import { callerHash } from '@ccfed/site-agent/caller-hash';
import { parseTopology, siteById } from '@ccfed/topology';
import { chromium } from 'playwright-core';
import { parse, stringify } from 'yaml';
import { buildDesktopIfStale, DESKTOP_DIST } from '../scripts/console-build.js';
import {
  benchArgs,
  benchClickHouse,
  benchClickHouseClient,
  benchKafka,
  benchKafkaClient,
  benchService,
  benchSite,
  percentile,
  round,
  ROOT,
  runBench,
} from './harness.js';

const args = benchArgs({
  calls: { full: '100', smoke: '5' },
  /** Customers the callers belong to (each caller's number is one customer's). */
  customers: { full: '20', smoke: '5' },
  /** Earlier calls seeded per customer over the last 170 days. */
  history: { full: '12', smoke: '6' },
  /**
   * The desk phone's ring before it answers, and its mean talk time (exponential). The smoke
   * run's ring outlasts an offer's delay to the page on a loaded CI machine (about 1.4 s seen at
   * load 16-21): a call over before its offer is rendered never pops, and two offers landing in
   * one render leave only the last on screen, so a shorter ring failed the smoke for the machine.
   */
  'ring-ms': { full: '300', smoke: '2000' },
  'talk-ms': { full: '1000', smoke: '500' },
});
const { values } = args;
const CALLS = Number(values.calls);
const CUSTOMERS = Math.min(Number(values.customers), CALLS);
const HISTORY = Number(values.history);
for (const [name, v] of [
  ['calls', CALLS],
  ['customers', CUSTOMERS],
  ['history', HISTORY],
] as const)
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name}: expected a whole number ≥ 1`);

const TARGET_MS = 500;
const SALES = '400200100'; // acme-bank's sales number at beijing
const CALLERS = '8613900';
const AGENT = 'bj-001';
const USERNAME = 'wang.fang';
const DATABASE = 'ccfed';
const PREFIX = 'ccfed';
const DAY = 86_400_000;

interface Pop {
  callId: string;
  offeredAt: string;
  receivedAt: number;
  renderedAt: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const customerOf = (i: number) => `cust-bench-${(i % CUSTOMERS) + 1}`;
const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return {
    p50: round(percentile(s, 50)),
    p99: round(percentile(s, 99)),
    max: round(s.at(-1) ?? Number.NaN),
    samples: s.length,
  };
};

/** Each customer's earlier calls at the three sites: answered, wrapped up, some complaints, a survey. */
function history(now: number) {
  const iso = (ms: number) => new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
  const sites = ['shanghai', 'guangzhou', 'beijing'];
  const callEvents: Record<string, unknown>[] = [];
  const surveys: Record<string, unknown>[] = [];
  for (let c = 0; c < CUSTOMERS; c++) {
    const customer = customerOf(c);
    for (let h = 0; h < HISTORY; h++) {
      const arrival = now - Math.round(((h + 1) / (HISTORY + 1)) * 170 * DAY) - c * 60_000;
      const site = sites[(c + h) % 3]!;
      const callId = `hist-${c + 1}-${h + 1}`;
      const base = {
        tenant_id: 'acme-bank',
        site_id: site,
        call_id: callId,
        skill: h % 2 === 0 ? 'sales' : 'support',
        customer_id: customer,
        arrival_time: iso(arrival),
        agent_id: `${site.slice(0, 2)}-00${(h % 3) + 1}`,
      };
      const at = (ms: number) => {
        const t = iso(arrival + ms);
        // 18.16 leaves an omitted column at its type's default in JSONEachRow, not its DEFAULT.
        return { event_time: t, event_date: t.slice(0, 10) };
      };
      callEvents.push(
        { ...base, ...at(20_000), event_id: `${callId}-a`, kind: 'answered', wait_ms: 20_000 },
        {
          ...base,
          ...at(300_000),
          event_id: `${callId}-w`,
          kind: 'wrap_up_done',
          disposition: h % 4 === 1 ? 'escalated' : 'resolved',
          wrap_up_recorded: 1,
          resolved_first_contact: h % 4 === 1 ? 0 : 1,
          complaint_severity: h % 4 === 1 ? 2 : 0,
        },
      );
      if (h % 3 === 0)
        surveys.push({
          tenant_id: base.tenant_id,
          site_id: site,
          call_id: callId,
          customer_id: customer,
          agent_id: base.agent_id,
          skill: base.skill,
          ...at(3_600_000),
          event_id: `${callId}-s`,
          csat: 2 + (h % 4),
          complaint_severity: 0,
        });
    }
  }
  return { callEvents, surveys };
}

await runBench('desktop', args, async (run) => {
  const { dir } = run;
  const t0 = Date.now();
  const step = (what: string) => console.log(`${((Date.now() - t0) / 1000).toFixed(1)} s: ${what}`);
  // The bundle the API serves, built again when this checkout's sources are newer.
  buildDesktopIfStale();
  step('desktop bundle current');
  // Started, not awaited: each step below waits for what it needs, so that the site's engines,
  // the central processes and Chromium start side by side (nothing is measured until the agent
  // is ready at the desk).
  const engines = Promise.all([benchKafka(run), benchClickHouse(run)]).then((up) => {
    step('Kafka and ClickHouse up');
    return up;
  });
  engines.catch(() => undefined); // awaited by every step below

  // Beijing with one acme-bank sales agent and no wrap-up time: the site offers the next call as
  // soon as the last ends. The callers stand for an SBC in front of the site (trusted source).
  const doc = parse(readFileSync(join(ROOT, 'topology', 'example.yaml'), 'utf8'));
  await assignFreePorts(doc);
  for (const sk of doc.skills) sk.wrapUpSeconds = 0;
  const bj = doc.sites.find((s: { id: string }) => s.id === 'beijing');
  bj.agents = [{ id: AGENT, name: 'Wang Fang', tenant: 'acme-bank', skills: { sales: 8 } }];
  const callerPort = await freePort();
  bj.trustedSources = [`127.0.0.1:${callerPort}`];
  const topologyFile = join(dir, 'topology.yaml');
  writeFileSync(topologyFile, stringify(doc));
  const topology = parseTopology(stringify(doc), topologyFile);
  const site = siteById(topology, 'beijing');

  // The customer directory as the CRM connector writes it (here by the bench's admin client),
  // before the site starts: every caller's number hashed with the federation's caller-hash key.
  const callerHashKey = randomBytes(24).toString('base64url');
  const directoryWritten = (async () => {
    const [kafka] = await engines;
    await kafka.env({ role: 'crm' }, PREFIX); // creates the topics
    const producer = benchKafkaClient(kafka, 'bench-crm').producer();
    await producer.connect();
    await producer.send({
      topic: topicNames(PREFIX).customerDirectory,
      messages: Array.from({ length: CALLS }, (_, i) => {
        const hash = callerHash(callerHashKey, `${CALLERS}${i + 1}`);
        return {
          key: customerDirectoryKey('acme-bank', hash),
          value: Buffer.from(
            CustomerDirectoryEntry.encode({
              meta: {
                eventId: randomUUID(),
                tenantId: 'acme-bank',
                siteId: '',
                eventTime: new Date(),
                trace: undefined,
                producerSequence: 0,
              },
              callerHash: hash,
              customerId: customerOf(i),
              tier: CustomerTier.CUSTOMER_TIER_GOLD,
            }).finish(),
          ),
        };
      }),
    });
    await producer.disconnect();
    return kafka;
  })();
  directoryWritten.catch(() => undefined); // awaited below

  // ClickHouse migrated and seeded with every customer's history, while the site starts.
  const seeding = (async () => {
    const [, clickhouse] = await engines;
    await migrate(clickhouse.as('admin'), DATABASE);
    const admin = benchClickHouseClient(clickhouse, 'admin', { database: DATABASE });
    const h = history(Date.now());
    await admin.insert({ table: 'call_events', values: h.callEvents, format: 'JSONEachRow' });
    await admin.insert({ table: 'surveys', values: h.surveys, format: 'JSONEachRow' });
    await admin.close();
    return h.callEvents.length / 2;
  })();
  seeding.catch(() => undefined); // awaited below
  const siteUp = benchSite(run, {
    topology,
    topologyFile,
    siteId: site.id,
    kafka: directoryWritten,
    env: { CCFED_CALLER_HASH_KEY: callerHashKey },
    directoryEntries: CALLS,
  }).then((up) => {
    step('site up, directory read');
    return up;
  });
  siteUp.catch(() => undefined); // awaited below, with the central processes

  // The central processes once the topics and the history are in place, while the site starts.
  const [kafka, clickhouse] = await engines;
  await directoryWritten;
  const seeded = await seeding;
  step('history seeded');

  // The ingester lands the bench's own calls (and their wrap-ups) as they happen.
  await benchService(run, {
    name: 'ingester',
    entry: 'central/ingester/src/index.ts',
    env: { CCFED_TOPIC_PREFIX: PREFIX },
    kafka: { broker: kafka, as: { role: 'ingester' }, prefix: PREFIX },
    clickhouse: { server: clickhouse, as: 'ingester', database: DATABASE },
  });

  // The central API as production runs it: its users file, ClickHouse as its read-only user,
  // Kafka as user api, the site through its certificate (service:api), the built desktop.
  const password = randomBytes(12).toString('base64url');
  const usersFile = join(dir, 'users.yaml');
  writeFileSync(
    usersFile,
    stringify({
      users: [
        {
          username: USERNAME,
          passwordHash: await hashPassword(password),
          role: 'agent',
          siteId: site.id,
          agentId: AGENT,
        },
      ],
    }),
    { mode: 0o600 },
  );
  const apiPort = await freePort();
  const pushes: { latencyMs: number; storyMs: number; callId: string }[] = [];
  let listening: () => void = () => undefined;
  const apiUp = new Promise<void>((r) => (listening = r));
  const api = await benchService(run, {
    name: 'api',
    entry: 'central/api/src/index.ts',
    tls: { kind: 'service', service: 'api' },
    kafka: { broker: kafka, as: { role: 'api' }, prefix: PREFIX },
    clickhouse: { server: clickhouse, as: 'api', database: DATABASE },
    logLevel: 'info',
    env: {
      CCFED_API_HOST: '127.0.0.1',
      CCFED_API_PORT: String(apiPort),
      CCFED_API_SECRET: randomBytes(48).toString('base64'),
      CCFED_API_USERS: usersFile,
      CCFED_TOPOLOGY: topologyFile,
      CCFED_TOPIC_PREFIX: PREFIX,
      CCFED_DESKTOP_DIR: DESKTOP_DIST,
    },
    onLine: (line) => {
      if (line.includes('"event":"api_listening"')) listening();
      else if (line.includes('"event":"desk_offer_pushed"'))
        pushes.push(JSON.parse(line) as (typeof pushes)[number]);
    },
  });
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  run.onCleanup(() => browser.close());
  await Promise.race([
    apiUp,
    api.exited.then((code) => {
      throw new Error(`the API exited with ${code}; see ${api.logFile}`);
    }),
  ]);

  const { kamailio } = await siteUp;
  step('API listening, Chromium up, site up');

  // The agent's desk phone: rings, answers, talks, hangs up, for as many calls as come.
  const phonePort = await freePort();
  const runFor = `${CALLS * 15 + 120}s`;
  const phone = agentPhone({
    port: phonePort,
    ringMs: Number(values['ring-ms']),
    talkMeanMs: Number(values['talk-ms']),
    logFile: join(dir, 'desk-phone.log'),
    timeout: runFor,
  });
  run.onCleanup(() => phone.stop());
  for (let i = 0; (await udpPortFree(phonePort)) && i < 100; i++) await sleep(50);

  // The real desk page: log in through its form at the desk phone, then Ready.
  const page = await browser.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') console.error(`browser: ${m.text()}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400) console.error(`browser: ${r.status()} for ${new URL(r.url()).pathname}`);
  });
  // What the pop showed of each customer's story: the most contact rows seen per call.
  await page.addInitScript(() => {
    const shown: Record<string, number> = {};
    (globalThis as unknown as { benchStoryRows: Record<string, number> }).benchStoryRows = shown;
    new MutationObserver(() => {
      const pop = document.querySelector('[data-testid="screen-pop"]');
      const id = pop?.getAttribute('data-call-id');
      if (!pop || !id) return;
      const rows = pop.querySelectorAll('[data-testid="pop-contact"]').length;
      shown[id] = Math.max(shown[id] ?? 0, rows);
    }).observe(document, { subtree: true, childList: true, attributes: true });
  });
  const contactUri = `sip:${AGENT}@127.0.0.1:${phonePort}`;
  await page.goto(`http://127.0.0.1:${apiPort}/desktop/?phone=${encodeURIComponent(contactUri)}`);
  await page.locator('input[name="username"]').fill(USERNAME);
  await page.locator('input[name="password"]').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.locator('[data-testid="agent-state"][data-state="not_ready"]').waitFor();
  await page.getByTestId('go-ready').click();
  await page.locator('[data-testid="agent-state"][data-state="ready"]').waitFor();
  step(`agent ${AGENT} ready at its desk phone; ${seeded} earlier calls seeded`);

  // The callers, one at a time (-l 1): each dials as the last one's call ends.
  const started = Date.now();
  const callers = sipp('caller-queue.xml', [
    `${kamailio.sip.host}:${kamailio.sip.port}`,
    '-p',
    String(callerPort),
    '-s',
    SALES,
    '-key',
    'caller',
    CALLERS,
    '-key',
    'patience_ms',
    '120000',
    '-key',
    'patience_exp_ms',
    '0',
    '-m',
    String(CALLS),
    '-l',
    '1',
    '-r',
    '10',
    '-trace_logs',
    '-log_file',
    join(dir, 'callers.log'),
    '-timeout',
    runFor,
  ]);
  run.onCleanup(() => callers.stop());
  const pops = async () =>
    page.evaluate(() => (globalThis as unknown as { ccfedPops?: Pop[] }).ccfedPops ?? []);
  let done = false;
  const sippExit = callers.exited.then((r) => {
    done = true;
    return r;
  });
  let lastLog = 0;
  for (;;) {
    const seen = new Set((await pops()).map((p) => p.callId)).size;
    if (seen >= CALLS || done) break;
    if (Date.now() - lastLog > 15_000) {
      console.log(`${seen}/${CALLS} pops after ${Math.round((Date.now() - started) / 1000)} s`);
      lastLog = Date.now();
    }
    await sleep(250);
  }
  let stuck: NodeJS.Timeout | undefined;
  const { code, output } = await Promise.race([
    sippExit,
    new Promise<{ code: null; output: string }>((resolve) => {
      stuck = setTimeout(
        () => resolve({ code: null, output: 'still running 30 s after the last pop' }),
        30_000,
      );
    }),
  ]).finally(() => clearTimeout(stuck));
  if (code !== 0) throw new Error(`sipp callers: exit ${code}\n${output.slice(-2000)}`);
  const callSeconds = (Date.now() - started) / 1000;

  // The first pop of each call (a re-opened stream pops the same call again).
  const first = new Map<string, Pop>();
  for (const p of await pops()) if (!first.has(p.callId)) first.set(p.callId, p);
  const all = [...first.values()];
  const storyRows = await page.evaluate(
    () => (globalThis as unknown as { benchStoryRows: Record<string, number> }).benchStoryRows,
  );
  const withStory = all.filter((p) => (storyRows[p.callId] ?? 0) > 0).length;
  const pop = stats(all.map((p) => p.renderedAt - Date.parse(p.offeredAt)));
  const received = stats(all.map((p) => p.receivedAt - Date.parse(p.offeredAt)));
  const pushed = stats(pushes.map((p) => p.latencyMs));
  const storyRead = stats(pushes.map((p) => p.storyMs));
  console.log(
    `${all.length}/${CALLS} calls popped in ${Math.round(callSeconds)} s, ${withStory} with the customer's earlier contacts; offer → rendered p50 ${pop.p50} ms, p99 ${pop.p99} ms, max ${pop.max} ms (target ${TARGET_MS}); offer → received p50 ${received.p50}, p99 ${received.p99}; API push p50 ${pushed.p50}, story read p50 ${storyRead.p50}`,
  );
  if (all.length < CALLS) throw new Error(`only ${all.length} of ${CALLS} calls popped`);

  run.writeResult({
    setup: {
      calls: CALLS,
      customers: CUSTOMERS,
      seeded_earlier_calls: seeded,
      call_seconds: round(callSeconds),
      note: 'one site (rtpengine, Kamailio, site agent process with the customer directory), one Kafka broker, ClickHouse 18.16 with every customer’s history, the ingester, the central API process serving the built desktop, Debian’s Chromium on the real desk page, a sipp desk phone and sipp callers one at a time, all on this machine; run.load_average says how busy it was',
      definition:
        'pop_ms: renderedAt − offeredAt of window.ccfedPops (agent-desk.tsx): from the site reserving the agent (its AgentEvent RESERVED) to React having committed the pop with the customer’s story; received_ms: to the page receiving the offer on its stream; pushed_ms and story_read_ms: the API’s desk_offer_pushed log',
    },
    target_ms: TARGET_MS,
    pop_ms: pop,
    received_ms: received,
    pushed_ms: pushed,
    story_read_ms: storyRead,
    story: { pops: all.length, with_earlier_contacts: withStory },
    over_target: all.filter((p) => p.renderedAt - Date.parse(p.offeredAt) > TARGET_MS).length,
  });
});
