// The agent's desktop through the API against a real site: Kamailio and the site agent process,
// sipp agent phones and a sipp caller the customer directory knows, Kafka, the ingester and
// ClickHouse. An agent logs in and goes ready through the API (which acts at the site over gRPC
// on the agent's behalf), the caller's call is offered to it, and its desktop stream pops the
// customer's story — two earlier complaints seeded in ClickHouse — within the time measured here;
// the agent's wrap-up then lands in ClickHouse and changes the customer's FCR and churn features.
// Another agent's stream never sees the pop, and other roles are refused on the agent's routes.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fcrQuery, parseFcrRows } from '@ccfed/analytics/kpi-fcr';
import { validateKpiFilter } from '@ccfed/analytics/kpi';
import { churnScoresQuery, parseChurnRows } from '@ccfed/analytics/churn';
import { principalUri, type Principal } from '@ccfed/common';
import { CustomerTier } from '@ccfed/proto';
import {
  agentPhone,
  callerNumbers,
  freePort,
  queuedCallers,
  udpPortFree,
  type LoggedSippRun,
} from '@ccfed/services';
import type { ClickHouseClient } from '@clickhouse/client';
import pino from 'pino';
import { Metadata, Status, ClientError } from 'nice-grpc';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DESK_PASSWORD, startDeskApi, type DeskApi } from '../support/desk-api.js';
import { freshDatabase, rows, uniqueName, waitFor } from '../support/engines.js';
import { startIngester } from '../support/ingester.js';
import type { ServiceProcess } from '../support/processes.js';
import { dated, seededHistory } from '../support/customer-history.js';
import { startSite, type RunningSite } from '../support/running-site.js';
import { OPERATOR } from '../support/security.js';

const SALES = '400200100'; // acme-bank's sales number at beijing
const CALLERS = '8613700';
const CUSTOMER = 'cust-desk-7';
const API: Principal = { kind: 'service', service: 'api' };

let site: RunningSite;
let admin: ClickHouseClient;
let ingester: ServiceProcess;
let api: DeskApi;
let base: string;
const apiLog: Record<string, unknown>[] = [];
const phones: LoggedSippRun[] = [];
let callers: LoggedSippRun | undefined;
const streams: AbortController[] = [];

const logFile = (name: string) => {
  const dir = join(inject('runDir'), uniqueName('desktop-api'));
  mkdirSync(dir, { recursive: true });
  return join(dir, `${name}.log`);
};

/** One desktop stream: the events it has received, in order, with when they arrived. */
interface Stream {
  readonly events: { event: string; data: any; at: number }[];
  readonly status: number;
}

async function openStream(token: string): Promise<Stream> {
  const abort = new AbortController();
  streams.push(abort);
  const res = await fetch(`${base}/api/v1/desktop/stream`, {
    headers: { authorization: `Bearer ${token}` },
    signal: abort.signal,
  });
  const stream: Stream = { events: [], status: res.status };
  if (res.status !== 200 || !res.body) return stream;
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  void (async () => {
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done) return;
      buffer += value;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event && data) stream.events.push({ event, data: JSON.parse(data), at: Date.now() });
      }
    }
  })();
  return stream;
}

const events = (s: Stream, event: string) => s.events.filter((e) => e.event === event);

async function session(username: string): Promise<string> {
  const res = await fetch(`${base}/api/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: DESK_PASSWORD }),
  });
  expect(res.status, username).toBe(200);
  return ((await res.json()) as { token: string }).token;
}

async function call(
  token: string,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}/api/v1${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: await res.json() };
}

beforeAll(async () => {
  site = await startSite({
    mutate: (doc) => {
      const sales = doc.skills.find((s: { id: string }) => s.id === 'sales');
      // Long enough for the agent to submit; the time running out is the old path.
      sales.wrapUpSeconds = 60;
      const bj = doc.sites.find((s: { id: string }) => s.id === 'beijing');
      bj.agents = [
        { id: 'bj-001', name: 'Agent 1', tenant: 'acme-bank', skills: { sales: 8 } },
        { id: 'bj-002', name: 'Agent 2', tenant: 'zenith-telecom', skills: { sales: 8 } },
      ];
    },
    directory: [
      {
        tenant: 'acme-bank',
        number: callerNumbers(CALLERS, 1)[0]!,
        customerId: CUSTOMER,
        tier: CustomerTier.CUSTOMER_TIER_GOLD,
      },
    ],
  });
  const { database, client } = await freshDatabase();
  admin = client;
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
  const group = `ccfed-ingester-${uniqueName('desk')}`;
  ingester = await startIngester({ prefix: site.prefix, database, group });

  const log = pino(
    { level: 'info' },
    { write: (line: string) => void apiLog.push(JSON.parse(line)) },
  );
  api = await startDeskApi({
    name: 'desk-api',
    topology: site.topology,
    prefix: site.prefix,
    topics: site.topics,
    database,
    log,
    liveAgents: new Map([
      ['bj-001', { siteId: 'beijing', tenantId: 'acme-bank', skills: ['sales'] }],
      ['bj-002', { siteId: 'beijing', tenantId: 'zenith-telecom', skills: ['sales'] }],
    ]),
    users: [
      { username: 'wang.fang', role: 'agent', siteId: 'beijing', agentId: 'bj-001' },
      { username: 'zhao.lei', role: 'agent', siteId: 'beijing', agentId: 'bj-002' },
      { username: 'bj.sup', role: 'site', siteId: 'beijing' },
      { username: 'sh.sup', role: 'site', siteId: 'shanghai' },
      { username: 'zenith', role: 'tenant', tenantId: 'zenith-telecom' },
    ],
  });
  base = api.base;
}, 120_000);

afterAll(async () => {
  for (const a of streams) a.abort();
  await callers?.stop();
  for (const p of phones) await p.stop();
  await api?.stop();
  await ingester?.stop();
  await admin?.close();
  await site?.stop();
});

describe('the agent desktop through the API', () => {
  it('logs in, goes ready, pops the customer story at offer, and the wrap-up changes FCR and churn', async () => {
    const agent1 = await session('wang.fang');
    const agent2 = await session('zhao.lei');
    const mine = await openStream(agent1);
    const theirs = await openStream(agent2);
    expect([mine.status, theirs.status]).toEqual([200, 200]);

    for (const [token, agentId] of [
      [agent1, 'bj-001'],
      [agent2, 'bj-002'],
    ] as const) {
      const port = await freePort();
      phones.push(
        agentPhone({
          port,
          ringMs: 200,
          talkMeanMs: 1500,
          calls: 1,
          logFile: logFile(agentId),
          timeout: '60s',
        }),
      );
      await waitFor(`${agentId}'s phone listening`, async () =>
        (await udpPortFree(port)) ? undefined : true,
      );
      const login = await call(token, 'POST', '/desktop/login', {
        contactUri: `sip:${agentId}@127.0.0.1:${port}`,
      });
      expect(login, agentId).toMatchObject({ status: 200, body: { agentId, state: 'not_ready' } });
      // A reason the topology does not list is refused before the site is asked.
      const nap = await call(token, 'POST', '/desktop/state', {
        state: 'not_ready',
        reason: 'nap',
      });
      expect(nap.status).toBe(400);
      expect(nap.body.error).toMatch(
        /reason: "nap" is not one of the topology's codes \(break, lunch/,
      );
      expect(await call(token, 'POST', '/desktop/state', { state: 'ready' })).toMatchObject({
        status: 200,
        body: { state: 'ready' },
      });
    }
    await waitFor('bj-001 ready on its stream', async () =>
      events(mine, 'state').some((e) => e.data.state === 'ready') ? true : undefined,
    );

    // FCR and churn features of the customer before the call (its history only).
    const since = new Date(Date.now() - 60_000);
    callers = queuedCallers({
      proxy: site.kamailio.sip,
      service: SALES,
      callerPrefix: CALLERS,
      patienceMs: 20_000,
      calls: 1,
      port: await freePort(),
      logFile: logFile('caller'),
      timeout: '60s',
    });

    const offer = await waitFor(
      'the offer on bj-001’s desktop',
      async () => events(mine, 'offer')[0],
      15_000,
    );
    const latencyMs = offer.at - Date.parse(offer.data.offeredAt);
    console.log(
      `screen pop: offer → received on the desktop stream in ${latencyMs} ms (site reserved the agent at ${offer.data.offeredAt})`,
    );
    // The issue's target is 500 ms (measured 110-480 ms here); the bound leaves room for a
    // machine shared with other test runs, and the figure is logged above.
    expect(latencyMs).toBeLessThan(1_500);
    const pop = offer.data;
    expect(pop.customer).toEqual({ id: CUSTOMER, tier: 'gold' });
    expect(pop.overflow).toBeNull();
    // The two earlier complaints, at two other sites, each with whose word it is.
    expect(
      pop.story.contacts.map((c: any) => [
        c.callId,
        c.siteId,
        c.skill,
        c.outcome,
        c.complaintSeverity,
        c.recordedBy,
      ]),
    ).toEqual([
      ['hist-1', 'shanghai', 'support', 'answered', 'major', 'agent'],
      ['hist-2', 'guangzhou', 'sales', 'answered', 'minor', 'survey'],
    ]);
    expect(pop.story.complaints).toBe(2);
    expect(pop.story.csat).toEqual([expect.objectContaining({ callId: 'hist-2', csat: 2 })]);
    expect(pop.story.churn.reasons).toContain('complaint');
    expect(pop.story.churn.features.complaint).toBe(3);
    const callId: string = pop.callId;
    // A desktop opened (reloaded) while the call is on gets the same pop.
    const reloaded = await openStream(agent1);
    const again = await waitFor(
      'the pop on a desktop opened later',
      async () => events(reloaded, 'offer')[0],
    );
    expect(again.data.callId).toBe(callId);
    expect(again.data.story.contacts).toHaveLength(2);

    // The answer and the end of the call reach the agent's stream; then its wrap-up.
    await waitFor(
      'the call ended on bj-001’s desktop',
      async () =>
        events(mine, 'call').some((e) => e.data.callId === callId && e.data.event === 'ended')
          ? true
          : undefined,
      15_000,
    );
    expect(events(mine, 'call').map((e) => e.data.event)).toEqual(['answered', 'ended']);

    // Another agent may not wrap up this call (the site says it is not wrapping it up), and a
    // note holding a phone number is refused.
    const wrap = {
      disposition: 'escalated',
      resolvedFirstContact: false,
      complaintSeverity: 'critical',
      note: 'Third complaint about the card fee; promised a call back from retention.',
    };
    expect((await call(agent2, 'POST', `/desktop/calls/${callId}/wrap-up`, wrap)).status).toBe(409);
    const withNumber = await call(agent1, 'POST', `/desktop/calls/${callId}/wrap-up`, {
      ...wrap,
      note: 'call back on 137 0000 1234',
    });
    expect(withNumber.status).toBe(400);
    expect(
      (
        await call(agent1, 'POST', `/desktop/calls/${callId}/wrap-up`, {
          ...wrap,
          disposition: 'won',
        })
      ).status,
    ).toBe(400);
    const done = await call(agent1, 'POST', `/desktop/calls/${callId}/wrap-up`, wrap);
    expect(done).toMatchObject({ status: 200, body: { agentId: 'bj-001', state: 'ready' } });

    // In ClickHouse, with what the agent recorded.
    const stored = await waitFor(
      'the wrap-up in ClickHouse',
      async () =>
        (
          await rows<any>(
            admin,
            `SELECT disposition, wrap_up_recorded, resolved_first_contact, complaint_severity, note, customer_id
             FROM call_events WHERE call_id = '${callId}' AND kind = 'wrap_up_done'`,
          )
        )[0],
      20_000,
    );
    expect(stored).toEqual({
      disposition: 'escalated',
      wrap_up_recorded: 1,
      resolved_first_contact: 0,
      complaint_severity: 4,
      note: wrap.note,
      customer_id: CUSTOMER,
    });

    // FCR: the call was the customer's first contact about sales in 7 days and nobody called
    // back, which alone would count it resolved; the agent said it was not, and that counts.
    const fcrNow = async () =>
      parseFcrRows(
        await rows(
          admin,
          fcrQuery(
            { role: 'tenant', tenantId: 'acme-bank' },
            validateKpiFilter({
              from: since.toISOString(),
              to: new Date(Date.now() + 60_000).toISOString(),
              groupBy: ['tenant'],
            }),
          ).text,
        ),
      );
    const fcr = await waitFor(
      'the agent’s verdict in FCR',
      async () => {
        const r = await fcrNow();
        return r[0]?.resolved === 0 ? r : undefined;
      },
      10_000,
    );
    expect(fcr).toEqual([{ tenant: 'acme-bank', first_contacts: 1, resolved: 0, fcr: 0 }]);

    // Churn: the critical complaint adds 3 points to the customer's complaint feature.
    const churn = parseChurnRows(
      await rows(
        admin,
        churnScoresQuery(
          { role: 'tenant', tenantId: 'acme-bank' },
          { asOf: new Date(Date.now() + 60_000) },
        ).text,
      ),
    ).find((r) => r.customer_id === CUSTOMER)!;
    expect(churn.complaint).toBe(6);
    expect(churn.reasons).toContain('complaint');

    // The other agent's desktop saw its own state, never bj-001's offer or calls.
    expect(events(theirs, 'offer')).toEqual([]);
    expect(events(theirs, 'call')).toEqual([]);
    expect(events(theirs, 'state').every((e) => e.data.callId === null)).toBe(true);
    const pushed = apiLog.filter((l) => l.event === 'desk_offer_pushed');
    expect(pushed).toHaveLength(1);
    console.log(
      `offer pushed by the API ${String(pushed[0]!.latencyMs)} ms after the site reserved the agent (story read ${String(pushed[0]!.storyMs)} ms)`,
    );

    const { code, output } = await callers.exited;
    expect(code, `sipp caller: ${output.slice(-1500)}`).toBe(0);
  }, 60_000);

  it('keeps every role to its own: agents out of analytics, supervisors to their site or tenant', async () => {
    const agent1 = await session('wang.fang');
    const bj = await session('bj.sup');
    const sh = await session('sh.sup');
    const zenith = await session('zenith');
    // Agents read no analytics, recordings or live wall, nor the supervisors' list.
    expect(
      (await call(agent1, 'GET', '/kpis?from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z')).status,
    ).toBe(403);
    expect((await call(agent1, 'GET', '/recordings')).status).toBe(403);
    expect((await call(agent1, 'GET', '/supervisor/agents?siteId=beijing')).status).toBe(403);
    expect(
      (await fetch(`${base}/api/v1/live`, { headers: { authorization: `Bearer ${agent1}` } }))
        .status,
    ).toBe(403);
    // Supervisors and tenants have no desk: refused on the agent's routes and stream.
    for (const token of [bj, zenith]) {
      expect((await call(token, 'POST', '/desktop/login', {})).status).toBe(403);
      expect((await call(token, 'POST', '/desktop/state', { state: 'ready' })).status).toBe(403);
      expect((await openStream(token)).status).toBe(403);
    }
    // The live agent list: beijing's supervisor sees both, zenith only its seat, Shanghai's none.
    const both = await call(bj, 'GET', '/supervisor/agents?siteId=beijing');
    expect(both.status).toBe(200);
    expect(both.body.agents.map((a: any) => [a.agentId, a.state])).toEqual([
      ['bj-001', 'ready'],
      ['bj-002', 'ready'],
    ]);
    expect(both.body.agents[0].timeInStateMs).toBeGreaterThanOrEqual(0);
    const seat = await call(zenith, 'GET', '/supervisor/agents?siteId=beijing');
    expect(seat.body.agents.map((a: any) => a.agentId)).toEqual(['bj-002']);
    expect((await call(sh, 'GET', '/supervisor/agents?siteId=beijing')).status).toBe(403);
    // Logging out through the API.
    expect(await call(agent1, 'POST', '/desktop/logout')).toMatchObject({
      status: 200,
      body: { state: 'logged_out' },
    });
  });

  it('the site agent honours x-ccfed-on-behalf-of only from the API, and then as that person', async () => {
    const onBehalf = (p: Principal) => ({
      metadata: Metadata({ 'x-ccfed-on-behalf-of': principalUri(p) }),
    });
    const bj1: Principal = { kind: 'agent', site: 'beijing', agent: 'bj-001' };
    const bj2: Principal = { kind: 'agent', site: 'beijing', agent: 'bj-002' };
    const supervisor: Principal = { kind: 'supervisor', site: 'beijing' };
    const refusal = async (p: Promise<unknown>) => {
      const err = await p.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ClientError);
      return err as ClientError;
    };
    // An agent naming its supervisor, an operator naming an agent: refused for the header itself.
    const asAgent = (await site.clientsAs(bj2)).control;
    const e1 = await refusal(asAgent.setReady({ agentId: 'bj-001' }, onBehalf(supervisor)));
    expect([e1.code, e1.details]).toEqual([
      Status.PERMISSION_DENIED,
      'agent:beijing/bj-002 may not act on behalf of anyone: only the API service may send x-ccfed-on-behalf-of',
    ]);
    const asOperator = (await site.clientsAs(OPERATOR)).control;
    expect((await refusal(asOperator.listAgents({}, onBehalf(bj1)))).code).toBe(
      Status.PERMISSION_DENIED,
    );
    // The API acting for bj-002 may act on bj-002 only.
    const asApi = (await site.clientsAs(API)).control;
    const e2 = await refusal(asApi.setReady({ agentId: 'bj-001' }, onBehalf(bj2)));
    expect(e2.code).toBe(Status.PERMISSION_DENIED);
    expect(e2.details).toMatch(/^agent:beijing\/bj-002 may not call SetReady at site beijing/);
    expect((await asApi.listAgents({}, onBehalf(bj2))).agents.map((a) => a.agentId)).toEqual([
      'bj-002',
    ]);
    // Without the header the API is only the API: no agent control of its own.
    expect((await refusal(asApi.listAgents({}))).code).toBe(Status.PERMISSION_DENIED);
  });
});
