// A callback keeps the caller's place, end to end at a real site: Kamailio on ccfed.cfg, the
// site's rtpengine, the site agent process, Kafka. Twenty callers queue for sales with the one
// agent not ready: six sipp callers, then a baresip phone (caller 7), then thirteen more sipp
// callers. Caller 7 hears the offer ("press 1", the skill offers callbacks once the wait passes
// a second), presses 1 (RFC 4733 through rtpengine), hears the callback confirmed and its call
// ends with 480; its callback holds its place. The agent then takes calls one by one: the ACD reserves the agent for the callback
// exactly between callers 6 and 8. No dialer is configured here (the SIP dialer is built apart):
// the reservation is an event, the agent is let go at once and the callback stays pending for its
// next try. Caller 12 (sipp) gets its callback through the HTTP API (a site supervisor's POST
// /api/v1/callbacks): its call ends 480 and it keeps its place too. A second callback for the same
// number and skill is refused; a tenant sees only its own callbacks, at the site and in the API.
// The ingester lands every step in ClickHouse, where the callback rollup counts them.
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { AgentEvent, AgentState, CallEvent } from '@ccfed/proto';
import {
  freePort,
  queuedCallers,
  udpPortFree,
  agentPhone,
  type LoggedSippRun,
} from '@ccfed/services';
import { assemblePrompt, callbackReply } from '@ccfed/services';
import { callerHash } from '@ccfed/site-agent/caller-hash';
import type { Consumer } from 'kafkajs';
import { ClientError, Status } from 'nice-grpc';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { findPrompt, renderTone } from '../support/audio.js';
import { startBaresip, type BaresipPhone } from '../support/baresip.js';
import { TEST_CALLER_HASH_KEY } from '../support/directory.js';
import { startApiProcess, type ApiProcess } from '../support/api-process.js';
import { freshDatabase, rows, uniqueName, waitFor } from '../support/engines.js';
import { startIngester } from '../support/ingester.js';
import type { ServiceProcess } from '../support/processes.js';
import { adminKafka, READER_MAX_WAIT_MS } from '../support/kafka.js';
import { startSite, type RunningSite } from '../support/running-site.js';

const PROMPTS_DIR = new URL('../../.ccfed/prompts', import.meta.url).pathname;
const SALES = '400200100';
const AGENT = 'bj-001';
/** Caller 7, who asks for the callback. */
const CHOOSER = '+8613800000700';
/** Caller 12: the 5th of the second sipp run. */
const API_CHOSEN = '+861380000025';
type Kind = NonNullable<CallEvent['kind']>['$case'];
const USERS = {
  hq: { role: 'hq' },
  'bj.sup': { role: 'site', siteId: 'beijing' },
  'sh.sup': { role: 'site', siteId: 'shanghai' },
  'acme.client': { role: 'tenant', tenantId: 'acme-bank' },
  'zenith.client': { role: 'tenant', tenantId: 'zenith-telecom' },
} as const;
type User = keyof typeof USERS;

describe('a callback keeps the caller’s place at a real site', () => {
  let site: RunningSite;
  let consumer: Consumer | undefined;
  let chooser: BaresipPhone | undefined;
  const runs: LoggedSippRun[] = [];
  const events: CallEvent[] = [];
  const agentEvents: AgentEvent[] = [];
  let agentRun: LoggedSippRun | undefined;
  let api: ApiProcess | undefined;
  let ingester: ServiceProcess | undefined;
  let db: Awaited<ReturnType<typeof freshDatabase>> | undefined;
  const dir = join(inject('runDir'), uniqueName('callback'));

  /** The HTTP API as `user`: status and JSON body. */
  const http = async (user: User, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${api!.base}/api/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${api!.tokens.get(user)}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as any };
  };

  const queued = async () =>
    (await site.status.getStatus({})).snapshot?.skills.find((s) => s.skill === 'sales')?.queued ??
    0;
  const event = (kind: Kind, match: (e: CallEvent) => boolean = () => true) =>
    waitFor(`a ${kind} event`, async () => events.find((e) => e.kind?.$case === kind && match(e)));
  const callers = (prefix: string, calls: number) =>
    freePort().then((port) => {
      const run = queuedCallers({
        proxy: site.kamailio.sip,
        service: SALES,
        callerPrefix: prefix,
        patienceMs: 110_000,
        calls,
        rate: 20,
        port,
        logFile: join(dir, `callers-${prefix.slice(1)}.log`),
      });
      runs.push(run);
      return run;
    });

  beforeAll(async () => {
    mkdirSync(dir, { recursive: true });
    site = await startSite({
      mutate: (doc) => {
        const sales = doc.skills.find((s: { id: string }) => s.id === 'sales');
        sales.wrapUpSeconds = 0;
        // The announcement (and so the offer) at once, no ringback first.
        sales.queueMedia = { ringbackSeconds: 0, announceEverySeconds: 30 };
        // A retry far beyond the test: the callback is reserved once.
        sales.callback = { offerAfterSeconds: 1, maxAttempts: 3, retryAfterSeconds: 600 };
        delete sales.overflow;
        const bj = doc.sites.find((s: { id: string }) => s.id === 'beijing');
        bj.agents = [{ id: AGENT, name: 'Li Wei', tenant: 'acme-bank', skills: { sales: 8 } }];
      },
    });
    db = await freshDatabase();
    [ingester, api] = await Promise.all([
      startIngester({
        prefix: site.prefix,
        database: db.database,
        group: `ccfed-ingester-${uniqueName('callback')}`,
      }),
      startApiProcess({
        dir,
        database: db.database,
        topologyFile: site.topologyFile,
        users: Object.entries(USERS).map(([username, u]) => ({ username, ...u })),
        password: 'callback-test-password-1',
      }),
    ]);
    consumer = adminKafka('callback-test').consumer({
      groupId: uniqueName('callback'),
      maxWaitTimeInMs: READER_MAX_WAIT_MS,
    });
    await consumer.connect();
    await consumer.subscribe({
      topics: [site.topics.callEvents, site.topics.agentEvents],
      fromBeginning: true,
    });
    await consumer.run({
      eachMessage: async ({ topic, message }) => {
        if (topic === site.topics.agentEvents) agentEvents.push(AgentEvent.decode(message.value!));
        else events.push(CallEvent.decode(message.value!));
      },
    });
    // The agent's phone answers at once and hangs up after ~300 ms; logged in, not ready.
    const phonePort = await freePort();
    agentRun = agentPhone({
      port: phonePort,
      ringMs: 50,
      talkMeanMs: 300,
      logFile: join(dir, 'agent-phone.log'),
    });
    await waitFor('the agent phone listening', async () =>
      (await udpPortFree(phonePort)) ? undefined : true,
    );
    await site.control.login({ agentId: AGENT, contactUri: `sip:${AGENT}@127.0.0.1:${phonePort}` });
  }, 60_000);

  afterAll(async () => {
    for (const run of runs) await run.stop();
    await agentRun?.stop();
    await chooser?.stop();
    await consumer?.disconnect();
    await api?.stop();
    await ingester?.stop();
    await db?.client.close();
    await site?.stop();
  });

  it('serves the caller who chose a callback exactly in the place it held among 20, and keeps it pending without a dialer', async () => {
    await callers('+86138000001', 6);
    await waitFor('six callers queued', async () => ((await queued()) === 6 ? true : undefined));

    chooser = await startBaresip({
      dir: join(dir, 'chooser'),
      user: CHOOSER,
      microphone: await renderTone(join(dir, 'tone.wav'), 440, 120),
    });
    await chooser.dial(`sip:${SALES}@127.0.0.1:${site.kamailio.sip.port}`);
    const hash = callerHash(TEST_CALLER_HASH_KEY, CHOOSER);
    const offered = await event('announced', (e) => e.callerHash === hash);
    const callbackId = offered.callId;
    await chooser.sendDigit('1');
    const requested = await event('callbackRequested', (e) => e.callId === callbackId);
    await chooser.waitForEvent('CALL_CLOSED', { timeoutMs: 30_000 });
    // Before the call ended, the caller heard the callback confirmed, in the number's language.
    const heard = chooser.recordings().heard.at(-1)!;
    const confirmed = await findPrompt(
      heard,
      await assemblePrompt(PROMPTS_DIR, callbackReply('zh', true).pieces),
    );
    expect(confirmed.correlation).toBeGreaterThan(0.8);
    expect(requested.arrivalTime).toEqual(offered.arrivalTime);
    expect(requested.kind).toMatchObject({ value: { origin: 1 } });
    // The number is in no event, only its hash.
    expect(JSON.stringify(events.filter((e) => e.callId === callbackId))).not.toContain(
      CHOOSER.slice(1),
    );

    await callers('+86138000002', 13);
    await waitFor('19 callers and the callback queued', async () =>
      (await queued()) === 20 ? true : undefined,
    );

    // Caller 12's callback through the API, asked by Beijing's supervisor: its call ends (480).
    const hash12 = callerHash(TEST_CALLER_HASH_KEY, API_CHOSEN);
    const callId12 = (await event('offered', (e) => e.callerHash === hash12)).callId;
    // Its place is its rank by arrival at the site: 12th as sipp sends the calls, but a loaded
    // sipp sends late calls in a burst, whose order Kamailio's workers may swap.
    const arrival = (callId: string) =>
      events
        .find((e) => e.callId === callId && e.kind?.$case === 'offered')!
        .arrivalTime!.getTime();
    const offeredIds = () => [
      ...new Set(events.filter((e) => e.kind?.$case === 'offered').map((e) => e.callId)),
    ];
    const place12 = 1 + offeredIds().filter((id) => arrival(id) < arrival(callId12)).length;
    expect(place12).toBeGreaterThanOrEqual(11);
    expect(place12).toBeLessThanOrEqual(13);
    const viaApi = await http('bj.sup', 'POST', '/callbacks', {
      siteId: 'beijing',
      callId: callId12,
    });
    expect(viaApi).toMatchObject({
      status: 200,
      body: { callbackId: callId12, siteId: 'beijing', position: place12, attempts: 0 },
    });
    expect(JSON.stringify(viaApi.body)).not.toContain(API_CHOSEN.slice(1));
    const requested12 = await event('callbackRequested', (e) => e.callId === callId12);
    expect(requested12.kind).toMatchObject({
      value: { origin: 2, requestedBy: 'supervisor:beijing' },
    });
    expect(await queued()).toBe(20);

    // The API: a tenant sees its own callbacks only; another site's supervisor is refused; the
    // number must be E.164; the same number and skill twice is 409; another tenant cannot cancel.
    const listed = await http('acme.client', 'GET', '/callbacks?site=beijing&skill=sales');
    expect(listed.status).toBe(200);
    expect(listed.body.callbacks.map((c: any) => [c.callbackId, c.position])).toEqual([
      [callbackId, 7],
      [callId12, place12],
    ]);
    expect((await http('zenith.client', 'GET', '/callbacks')).body).toMatchObject({
      callbacks: [],
    });
    expect((await http('sh.sup', 'GET', '/callbacks?site=beijing')).status).toBe(403);
    const scheduled = {
      siteId: 'beijing',
      skill: 'sales',
      tenantId: 'acme-bank',
      scheduledFor: new Date(Date.now() + 3_600_000).toISOString(),
    };
    const badNumber = await http('hq', 'POST', '/callbacks', {
      ...scheduled,
      number: '13800000700',
    });
    expect(badNumber.status).toBe(400);
    expect(badNumber.body.error).toMatch(/E\.164/);
    const twice = await http('hq', 'POST', '/callbacks', { ...scheduled, number: CHOOSER });
    expect(twice.status).toBe(409);
    expect(twice.body.error).toMatch(/already has a pending callback/);
    expect(
      (
        await http(
          'zenith.client',
          'DELETE',
          `/callbacks/${encodeURIComponent(callbackId)}?site=beijing`,
        )
      ).status,
    ).toBe(404);

    // One pending callback per number and skill: a scheduled one for the same number is refused.
    const refused = await site.control
      .requestCallback({
        callId: '',
        number: CHOOSER,
        skill: 'sales',
        tenantId: 'acme-bank',
        scheduledFor: new Date(Date.now() + 3_600_000),
      })
      .catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(ClientError);
    expect((refused as ClientError).code).toBe(Status.ALREADY_EXISTS);
    expect((refused as ClientError).details).toMatch(/already has a pending callback/);

    // Tenant scoping: acme-bank's supervisor sees it in 7th place, zenith-telecom's nothing.
    const acme = await site.clientsAs({ kind: 'supervisor', site: 'beijing', tenant: 'acme-bank' });
    const zenith = await site.clientsAs({
      kind: 'supervisor',
      site: 'beijing',
      tenant: 'zenith-telecom',
    });
    expect((await acme.control.listCallbacks({ skill: 'sales' })).callbacks).toEqual([
      expect.objectContaining({ callbackId, position: 7, attempts: 0, dialing: false }),
      expect.objectContaining({ callbackId: callId12, position: place12 }),
    ]);
    expect((await zenith.control.listCallbacks({ skill: '' })).callbacks).toEqual([]);
    const foreign = await zenith.control.cancelCallback({ callbackId }).catch((e: unknown) => e);
    expect((foreign as ClientError).code).toBe(Status.NOT_FOUND);

    // The agent comes free and serves the queue one call at a time.
    await site.control.setReady({ agentId: AGENT });
    for (const run of runs) {
      const { code, output } = await run.exited;
      expect(code, output.slice(-2000)).toBe(0);
    }
    await event('callbackAttemptEnded', (e) => e.callId === callbackId);
    await event('callbackAttemptEnded', (e) => e.callId === callId12);
    await waitFor('every answered call in Kafka', async () =>
      events.filter((e) => e.kind?.$case === 'answered').length === 18 ? true : undefined,
    );

    // The agent's reservations, in the order the site made them.
    const reserved = agentEvents
      .filter((e) => e.agentId === AGENT && e.toState === AgentState.AGENT_STATE_RESERVED)
      .sort((a, b) => a.meta!.producerSequence - b.meta!.producerSequence)
      .map((e) => e.callId);
    const inArrivalOrder = offeredIds().sort((a, b) => arrival(a) - arrival(b) || (a < b ? -1 : 1));
    expect(inArrivalOrder).toHaveLength(20);
    expect(inArrivalOrder[6]).toBe(callbackId);
    expect(inArrivalOrder[place12 - 1]).toBe(callId12);
    expect(reserved).toEqual(inArrivalOrder);

    const started = await event('callbackAttemptStarted', (e) => e.callId === callbackId);
    expect(started.kind).toMatchObject({
      value: { agentId: AGENT, attempt: 1, order: 'agent_first' },
    });
    const ended = await event('callbackAttemptEnded', (e) => e.callId === callbackId);
    expect(ended.kind).toMatchObject({
      value: { outcome: 'no_dialer', counted: false, attempts: 0 },
    });
    expect(
      events
        .filter((e) => e.callId === callbackId && e.kind!.$case.startsWith('callback'))
        .sort((a, b) => a.meta!.producerSequence - b.meta!.producerSequence)
        .map((e) => e.kind!.$case),
    ).toEqual(['callbackRequested', 'callbackAttemptStarted', 'callbackAttemptEnded']);
    // Still pending, attempts not counted, not before its retry.
    const [pending] = (await acme.control.listCallbacks({ skill: 'sales' })).callbacks;
    expect(pending).toMatchObject({ callbackId, attempts: 0, dialing: false, position: 1 });
    expect(pending!.notBefore!.getTime()).toBeGreaterThan(Date.now() + 500_000);

    // Every step in ClickHouse, and the callbacks' rollup.
    const rollup = await waitFor('the callbacks in ClickHouse', async () => {
      const [r] = await rows<{ requested: string; attempts: string; counted: string }>(
        db!.client,
        "SELECT sum(requested) AS requested, sum(attempts) AS attempts, sum(attempts_counted) AS counted FROM callback_rollup_15m WHERE site_id = 'beijing' AND skill = 'sales'",
      );
      return r && Number(r.attempts) === 2 ? r : undefined;
    });
    expect(rollup).toEqual({ requested: '2', attempts: '2', counted: '0' });
    const kinds = await rows<{ kind: string; callback_outcome: string }>(
      db!.client,
      // By kind: without a dialer the attempt starts and ends in the same millisecond, so event
      // time cannot order them (the Kafka events above carry the order).
      `SELECT kind, callback_outcome FROM call_events WHERE call_id = '${callbackId.replace(/'/g, '')}' AND kind LIKE 'callback%' ORDER BY kind`,
    );
    expect(kinds).toEqual([
      { kind: 'callback_attempt_ended', callback_outcome: 'no_dialer' },
      { kind: 'callback_attempt_started', callback_outcome: '' },
      { kind: 'callback_requested', callback_outcome: '' },
    ]);

    // The numbers are only in the site agent's data directory, 0600; a restart keeps both
    // callbacks pending in their places.
    const kept = join(site.dataDir, 'callbacks');
    expect(readdirSync(kept).filter((f) => f.endsWith('.json'))).toHaveLength(2);
    for (const f of readdirSync(kept)) expect(statSync(join(kept, f)).mode & 0o777).toBe(0o600);
    const before = (await acme.control.listCallbacks({ skill: 'sales' })).callbacks;
    await site.agentProcess.stop();
    await site.restartAgent();
    const back = await waitFor('the callbacks back after a restart', async () => {
      const list = (await acme.control.listCallbacks({ skill: 'sales' })).callbacks;
      return list.length === 2 ? list : undefined;
    });
    const placeOf = (c: { callbackId: string; arrivalTime?: Date; attempts: number }) => [
      c.callbackId,
      c.arrivalTime?.getTime(),
      c.attempts,
    ];
    expect(back.map(placeOf)).toEqual(before.map(placeOf));
  }, 90_000);
});
