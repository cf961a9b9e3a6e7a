import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  loadTls,
  ManualClock,
  secureChannel,
  silentLogger,
  type Principal,
  type TlsMaterial,
} from '@ccfed/common';
import { METRIC_NAMES, CustomerTier, routing } from '@ccfed/proto';
import { openPki, type Pki } from '@ccfed/services';
import { parseTopology } from '@ccfed/topology';
import { ChannelCredentials, ClientError, createChannel, createClient, Status } from 'nice-grpc';
import { pino } from 'pino';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { routingPolicy } from './routing/policy.js';
import { Router, type SiteFigures } from './routing/router.js';
import { startRouterServer, UNSERVED_WAIT_MS, type RouterServer } from './server.js';

const EXAMPLE = new URL('../../../topology/example.yaml', import.meta.url).pathname;
const T0 = Date.parse('2026-11-22T03:00:00Z');
const AHT = 180_000;

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

// A CA of this file's own, as the test suite and the local federation have theirs.
let pki: Pki;
let routerTls: TlsMaterial;
const ROUTER: Principal = { kind: 'service', service: 'router' };
const SHANGHAI: Principal = { kind: 'site', site: 'shanghai' };
beforeAll(async () => {
  pki = await openPki(mkdtempSync(join(tmpdir(), 'ccfed-router-pki-')));
  routerTls = await tlsAs(ROUTER);
});
const tlsAs = async (p: Principal) => loadTls(await pki.issue(p));

/** A client of the router on `port` holding `principal`'s certificate. */
async function clientAs(port: number, principal: Principal): Promise<routing.CentralRouterClient> {
  const channel = secureChannel(
    `127.0.0.1:${port}`,
    await tlsAs(principal),
    (p) => p.kind === 'service' && p.service === 'router',
    'service:router',
  );
  cleanup.push(() => channel.close());
  return createClient(routing.CentralRouterDefinition, channel);
}

// Example topology: support threshold 30 s, min improvement 10 s; beijing and guangzhou handicap
// 5 s; zenith-telecom may not be served at guangzhou; reservations last 10 s.
async function setup(opts: { log?: ReturnType<typeof silentLogger>; broken?: boolean } = {}) {
  const topology = parseTopology(readFileSync(EXAMPLE, 'utf8'), EXAMPLE);
  const clock = new ManualClock(T0);
  const router = new Router({ clock, policy: routingPolicy(topology) });
  const published: routing.RouteDecision[] = [];
  let ids = 0;
  const server: RouterServer = await startRouterServer({
    host: '127.0.0.1',
    port: 0,
    router: opts.broken
      ? {
          decide: () => {
            throw new Error('policy map corrupted');
          },
        }
      : router,
    clock,
    publish: (event) => published.push(event),
    log: opts.log ?? silentLogger(),
    newId: () => `id-${++ids}`,
    routerId: 'router-a',
    tls: routerTls,
  });
  cleanup.push(() => server.close());
  const clients = new Map<string, routing.CentralRouterClient>();
  /** Asks as `principal` (a site's certificate, by default the origin's). */
  const askAs = async (principal: Principal, over: Partial<routing.RequestRouteRequest> = {}) => {
    const key = JSON.stringify(principal);
    if (!clients.has(key)) clients.set(key, await clientAs(server.port, principal));
    return clients.get(key)!.requestRoute(
      {
        callId: 'call-1',
        originSiteId: 'shanghai',
        tenantId: 'acme-bank',
        skill: 'support',
        tier: CustomerTier.CUSTOMER_TIER_STANDARD,
        waitedMs: 10_000,
        originExpectedWaitMs: 120_000,
        hopCount: 0,
        ...over,
      },
      { signal: AbortSignal.timeout(5_000) },
    );
  };
  const ask = (over: Partial<routing.RequestRouteRequest> = {}) => askAs(SHANGHAI, over);
  let sequence = 0;
  const snapshot = (
    siteId: string,
    support: { queued: number; staffed: number; idle: number },
  ): SiteFigures => ({
    siteId,
    snapshotMs: clock.now(),
    sequence: ++sequence,
    acceptingOverflow: true,
    skills: new Map([
      ['support', { averageHandleMs: AHT, tenants: new Map([['acme-bank', support]]) }],
    ]),
  });
  return { router, clock, published, ask, askAs, snapshot };
}

async function failure(call: Promise<unknown>): Promise<{ code: Status; details: string }> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof ClientError))
    throw new Error(`expected a gRPC status, got ${err === undefined ? 'success' : String(err)}`);
  return { code: err.code, details: err.details };
}

describe('RequestRoute', () => {
  it('overflows to the idle site, reserving it until the timeout, with every site weighed', async () => {
    const { router, clock, ask, snapshot } = await setup();
    router.observeSnapshot(snapshot('beijing', { queued: 0, staffed: 3, idle: 2 }));
    clock.advance(1_500);
    router.observeSnapshot(snapshot('guangzhou', { queued: 4, staffed: 2, idle: 0 }));

    const res = await ask();
    expect(res).toEqual({
      decisionId: 'id-1',
      verdict: routing.Verdict.VERDICT_OVERFLOW,
      targetSiteId: 'beijing',
      targetSipUri: expect.stringMatching(/^sip:127\.0\.0\.1:5070;transport=udp$/),
      reservationExpiresAt: new Date(T0 + 1_500 + 10_000),
      reason: expect.stringContaining('beijing expects 5.0 s'),
      alternatives: [
        {
          siteId: 'beijing',
          eligible: true,
          excludedReason: '',
          expectedWaitMs: 0,
          handicapMs: 5_000,
          stateAgeMs: 1_500,
        },
        {
          siteId: 'guangzhou',
          eligible: true,
          excludedReason: '',
          expectedWaitMs: 450_000,
          handicapMs: 5_000,
          stateAgeMs: 0,
        },
      ],
    });
    expect(router.reservedAt('beijing')).toBe(1);
  });

  it('stays when no site is better, giving the reason and the unserved sites as never', async () => {
    const { router, ask, snapshot } = await setup();
    router.observeSnapshot(snapshot('beijing', { queued: 9, staffed: 1, idle: 0 }));

    const res = await ask();
    expect(res.verdict).toBe(routing.Verdict.VERDICT_STAY);
    expect(res.targetSiteId).toBe('');
    expect(res.reservationExpiresAt).toBeUndefined();
    expect(res.reason).toMatch(/best site beijing .* is not 10\.0 s better than staying/);
    expect(res.alternatives).toEqual([
      expect.objectContaining({ siteId: 'beijing', eligible: true, expectedWaitMs: 1_800_000 }),
      expect.objectContaining({
        siteId: 'guangzhou',
        eligible: false,
        excludedReason: 'no snapshot received from the site',
        expectedWaitMs: UNSERVED_WAIT_MS,
      }),
    ]);
  });

  it('answers stay with a reason, not an error, for an unknown origin site, skill or tenant', async () => {
    const { router, ask, askAs, snapshot } = await setup();
    router.observeSnapshot(snapshot('beijing', { queued: 0, staffed: 3, idle: 3 }));

    // A site the CA vouches for that this router's topology does not (yet) have.
    const unknownSite = await askAs({ kind: 'site', site: 'chengdu' }, { originSiteId: 'chengdu' });
    expect(unknownSite).toMatchObject({
      verdict: routing.Verdict.VERDICT_STAY,
      reason: 'unknown origin site chengdu',
      alternatives: [],
    });
    const unknownSkill = await ask({ skill: 'billing' });
    expect(unknownSkill.reason).toBe('skill billing does not overflow');
    const unknownTenant = await ask({ tenantId: 'nobody' });
    expect(unknownTenant.verdict).toBe(routing.Verdict.VERDICT_STAY);
    expect(unknownTenant.reason).toBe('no other site can take the call');
  });

  it('refuses missing and malformed fields with INVALID_ARGUMENT naming the field', async () => {
    const { ask, published } = await setup();
    const cases: [Partial<routing.RequestRouteRequest>, string][] = [
      [{ callId: '' }, 'call_id is required'],
      [{ callId: 'x'.repeat(257) }, 'call_id is 257 characters long; at most 256 allowed'],
      [{ callId: 'two words' }, 'call_id "two words" is malformed'],
      [{ originSiteId: '' }, 'origin_site_id is required'],
      [{ originSiteId: 'Shanghai' }, 'origin_site_id "Shanghai" is malformed'],
      [{ tenantId: '' }, 'tenant_id is required'],
      [{ tenantId: 'acme bank' }, 'tenant_id "acme bank" is malformed'],
      [{ skill: '' }, 'skill is required'],
      [{ skill: 's'.repeat(33) }, `skill "${'s'.repeat(33)}" is malformed`],
    ];
    for (const [over, message] of cases) {
      const f = await failure(ask(over));
      expect(f.code, JSON.stringify(over).slice(0, 60)).toBe(Status.INVALID_ARGUMENT);
      expect(f.details).toContain(message);
    }
    expect(await ask({ callId: 'x'.repeat(256) })).toBeDefined();
    expect(published).toHaveLength(1);
  });

  it('publishes each decision with its inputs, the origin site and tenant and the deciding router, keyed by call', async () => {
    const { router, clock, ask, snapshot, published } = await setup();
    router.observeSnapshot(snapshot('beijing', { queued: 0, staffed: 3, idle: 2 }));
    const trace = {
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      tracestate: '',
    };
    const first = await ask({ callId: 'call-a', trace });
    clock.advance(250);
    const second = await ask({ callId: 'call-b', originExpectedWaitMs: 1_000 });

    expect(published).toHaveLength(2);
    expect(published[0]).toEqual({
      meta: {
        eventId: 'id-2',
        tenantId: 'acme-bank',
        siteId: 'shanghai',
        eventTime: new Date(T0),
        trace,
        producerSequence: 1,
      },
      request: expect.objectContaining({ callId: 'call-a', originExpectedWaitMs: 120_000, trace }),
      response: first,
      routerId: 'router-a',
    });
    expect(published[1]).toMatchObject({
      meta: { eventId: 'id-4', eventTime: new Date(T0 + 250), producerSequence: 2 },
      request: { callId: 'call-b', originExpectedWaitMs: 1_000 },
      response: second,
    });
    expect(second.verdict).toBe(routing.Verdict.VERDICT_STAY);
    // What the publisher writes round-trips through the wire format unchanged.
    const bytes = routing.RouteDecision.encode(published[0]!).finish();
    expect(routing.RouteDecision.decode(bytes)).toEqual(published[0]);
  });

  it('answers even when publishing throws', async () => {
    const topology = parseTopology(readFileSync(EXAMPLE, 'utf8'), EXAMPLE);
    const clock = new ManualClock(T0);
    const server = await startRouterServer({
      host: '127.0.0.1',
      port: 0,
      router: new Router({ clock, policy: routingPolicy(topology) }),
      clock,
      publish: () => {
        throw new Error('queue broken');
      },
      log: silentLogger(),
      routerId: 'router-a',
      tls: routerTls,
    });
    cleanup.push(() => server.close());
    const client = await clientAs(server.port, SHANGHAI);
    const res = await client.requestRoute(
      { callId: 'c', originSiteId: 'shanghai', tenantId: 'acme-bank', skill: 'support' },
      { signal: AbortSignal.timeout(5_000) },
    );
    expect(res.verdict).toBe(routing.Verdict.VERDICT_STAY);
  });

  it('answers INTERNAL with a generic message when the decision fails, and logs why', async () => {
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
    const { ask, published } = await setup({ log, broken: true });
    expect(await failure(ask())).toEqual({
      code: Status.INTERNAL,
      details: 'RequestRoute failed inside the router; see its log',
    });
    expect(published).toHaveLength(0);
    expect(lines.map((l) => JSON.parse(l))).toContainEqual(
      expect.objectContaining({
        event: 'grpc_internal_error',
        callId: 'call-1',
        err: expect.objectContaining({ message: 'policy map corrupted' }),
      }),
    );
  });
});

describe('who may ask', () => {
  it("refuses a site asking for another site's call, naming both, and logs it; nothing is reserved", async () => {
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
    const { router, askAs, snapshot, published } = await setup({ log });
    router.observeSnapshot(snapshot('beijing', { queued: 0, staffed: 3, idle: 3 }));

    expect(await failure(askAs({ kind: 'site', site: 'guangzhou' }))).toEqual({
      code: Status.PERMISSION_DENIED,
      details:
        'site:guangzhou may ask routes only for its own calls, not for origin_site_id "shanghai"',
    });
    expect(router.reservedAt('beijing')).toBe(0);
    expect(published).toHaveLength(0);
    expect(lines.map((l) => JSON.parse(l))).toContainEqual(
      expect.objectContaining({
        level: 40,
        event: 'route_request_denied',
        peer: 'site:guangzhou',
        originSiteId: 'shanghai',
        callId: 'call-1',
      }),
    );
  });

  it('refuses every principal that is not a site, before reading the request', async () => {
    const { askAs, published } = await setup();
    const others: Principal[] = [
      { kind: 'operator', name: 'li' },
      { kind: 'service', service: 'api' },
      { kind: 'supervisor', site: 'shanghai' },
      { kind: 'agent', site: 'shanghai', agent: 'sh-001' },
    ];
    for (const p of others) {
      expect((await failure(askAs(p, { callId: '' }))).code).toBe(Status.PERMISSION_DENIED);
    }
    expect(await failure(askAs({ kind: 'operator', name: 'li' }))).toEqual({
      code: Status.PERMISSION_DENIED,
      details: 'only a site may call RequestRoute, not operator:li',
    });
    expect(published).toHaveLength(0);
  });

  it('answers stay with the cap as the reason once the origin holds its cap, logging it once', async () => {
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
    const { router, ask, snapshot } = await setup({ log });
    router.observeSnapshot(snapshot('beijing', { queued: 0, staffed: 40, idle: 40 }));
    const answers = [];
    for (let i = 0; i < 13; i++) answers.push(await ask({ callId: `flood-${i}` }));
    expect(answers.filter((a) => a.verdict === routing.Verdict.VERDICT_OVERFLOW)).toHaveLength(10);
    expect(answers.at(-1)).toMatchObject({
      verdict: routing.Verdict.VERDICT_STAY,
      reason: 'shanghai already holds 10 reservations, its cap of 10 (best site would be beijing)',
    });
    const capped = lines
      .map((l) => JSON.parse(l))
      .filter((l) => l.event === 'route_reservations_capped');
    expect(capped).toEqual([
      expect.objectContaining({ level: 40, site: 'shanghai', callId: 'flood-10' }),
    ]);
    expect(METRIC_NAMES.routeReservationsCapped).toBe('ccfed.router.reservations_capped');
  });

  it('refuses a client without a certificate, and one whose certificate another CA issued', async () => {
    const { router } = await setup();
    const server = await startRouterServer({
      host: '127.0.0.1',
      port: 0,
      router,
      clock: new ManualClock(T0),
      publish: () => undefined,
      log: silentLogger(),
      routerId: 'router-a',
      tls: routerTls,
    });
    cleanup.push(() => server.close());
    const request = {
      callId: 'c',
      originSiteId: 'shanghai',
      tenantId: 'acme-bank',
      skill: 'support',
    };
    const opts = { signal: AbortSignal.timeout(5_000) };

    // TLS, trusting the right CA, but no certificate of its own.
    const anonymous = createChannel(
      `127.0.0.1:${server.port}`,
      ChannelCredentials.createSsl(routerTls.ca, null, null, {
        checkServerIdentity: () => undefined,
      }),
      { 'grpc.ssl_target_name_override': 'ccfed.peer' },
    );
    cleanup.push(() => anonymous.close());
    const noCert = await failure(
      createClient(routing.CentralRouterDefinition, anonymous).requestRoute(request, opts),
    );
    expect(noCert.code).toBe(Status.UNAVAILABLE);

    // A site certificate from a CA the router does not trust.
    const other = await openPki(mkdtempSync(join(tmpdir(), 'ccfed-other-pki-')));
    const forged = loadTls(await other.issue(SHANGHAI));
    const stranger = secureChannel(
      `127.0.0.1:${server.port}`,
      { ...forged, ca: routerTls.ca },
      () => true,
      'any',
    );
    cleanup.push(() => stranger.close());
    const wrongCa = await failure(
      createClient(routing.CentralRouterDefinition, stranger).requestRoute(request, opts),
    );
    expect(wrongCa.code).toBe(Status.UNAVAILABLE);
  });
});

describe('startRouterServer', () => {
  it('names the address when the port is in use, and frees it on close', async () => {
    const opts = {
      host: '127.0.0.1',
      router: { decide: () => ({ verdict: 'stay', reason: '', alternatives: [] }) as const },
      clock: new ManualClock(T0),
      publish: () => undefined,
      log: silentLogger(),
      routerId: 'router-a',
      tls: routerTls,
    };
    const first = await startRouterServer({ ...opts, port: 0 });
    await expect(startRouterServer({ ...opts, port: first.port })).rejects.toThrow(
      `gRPC server cannot listen on 127.0.0.1:${first.port}: the address is already in use`,
    );
    await Promise.all([first.close(), first.close()]);
    const again = await startRouterServer({ ...opts, port: first.port });
    cleanup.push(() => again.close());
    expect(again.port).toBe(first.port);
  });
});
