// SiteAgent.HandOverCallback and the confirm step's SettleCallbackHandover and
// GetCallbackHandoverOutcome over a real gRPC server with mutual TLS and a real callback desk
// (example topology; Shanghai takes, Beijing hands over): the origin's own client (handover-
// client.ts) is taken, and who else may not, a tampered, replayed or malformed message, and a
// server that talks to the wrong site, are refused with a clear status.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock, silentLogger, type Principal } from '@ccfed/common';
import { site, type CallEvent } from '@ccfed/proto';
import { parseTopology, type Topology } from '@ccfed/topology';
import { Status } from 'nice-grpc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { Acd } from '../acd/acd.js';
import { acdSetup } from '../acd/from-topology.js';
import { CallbackDesk } from '../callback/callback-desk.js';
import { CallbackStore } from '../callback/callback-store.js';
import { handoverClient } from '../callback/handover-client.js';
import {
  signHandover,
  signQuery,
  signSettlement,
  type Handover,
  type HandoverSettlement,
} from '../callback/handover.js';
import { EventStamper } from '../events/event-meta.js';
import { startGrpcServer, type GrpcServer } from './server.js';
import { clientFactory, failure, PHONES, SHANGHAI, SITE, testSite, tlsAs } from './test-support.js';
import { secureChannel } from '@ccfed/common';

const EXAMPLE = new URL('../../../topology/example.yaml', import.meta.url).pathname;
const NOW = Date.parse('2026-12-07T06:00:00Z');
const KEY = Buffer.from('a-federation-key-of-at-least-thirty-two-bytes', 'utf8');
const BEIJING: Principal = { kind: 'site', site: 'beijing' };

const handover = (over: Partial<Handover> = {}): Handover => ({
  callbackId: 'cb-1',
  originSiteId: 'beijing',
  tenantId: 'acme-bank',
  skill: 'sales',
  tier: 1,
  number: '+8613800000001',
  callerHash: '0123456789abcdef0123456789abcdef',
  customerId: 'cust-1',
  arrivalMs: NOW - 60_000,
  requestedAtMs: NOW - 30_000,
  scheduled: false,
  attempts: 0,
  decisionId: 'd-1',
  traceparent: '',
  ...over,
});

/** The request as the wire carries it, signed over `signed` (the fields sent, unless tampered). */
const request = (sent: Handover, signed: Handover = sent): site.HandOverCallbackRequest => ({
  ...sent,
  arrivalTime: new Date(sent.arrivalMs),
  requestedAt: new Date(sent.requestedAtMs),
  notBefore: sent.notBeforeMs === undefined ? undefined : new Date(sent.notBeforeMs),
  signature: signHandover(KEY, signed, NOW),
});

describe('SiteAgent.HandOverCallback', () => {
  let server: GrpcServer;
  let without: GrpcServer;
  let topology: Topology;
  let desk: CallbackDesk;
  const events: CallEvent[] = [];
  const closers: (() => void)[] = [];
  const clock = new ManualClock(NOW);

  beforeAll(async () => {
    const doc = parse(readFileSync(EXAMPLE, 'utf8'));
    doc.skills[0].callback = { offerAfterSeconds: 60, maxAttempts: 2, retryAfterSeconds: 60 };
    topology = parseTopology(stringify(doc), 'test.yaml');
    const shanghai = topology.sites.find((s) => s.id === 'shanghai')!;
    const acd = new Acd({ clock, ...acdSetup(topology, shanghai) });
    acd.login('sh-001');
    acd.ready('sh-001');
    desk = new CallbackDesk({
      clock,
      topology,
      acd,
      store: new CallbackStore(join(mkdtempSync(join(tmpdir(), 'ccfed-handover-rpc-')), 'cb')),
      dialer: undefined,
      stamper: new EventStamper({ clock, siteId: 'shanghai' }),
      publisher: { callEvent: async (e) => void events.push(e) },
      log: silentLogger(),
    });
    desk.attach(() => {});
    const base = {
      host: '127.0.0.1',
      port: 0,
      desk: testSite().desk,
      status: undefined as never,
      site: { ...SITE, peerSites: new Set(['beijing', 'guangzhou']) },
      phoneNetwork: PHONES,
      tls: await tlsAs(SHANGHAI),
      log: silentLogger(),
    };
    server = await startGrpcServer({
      ...base,
      handovers: {
        receiver: {
          receive: (h) => desk.receiveHandover(h, { thresholdMs: 3_600_000, drained: false }),
          settle: (s) => desk.settleHandover(s),
          outcome: (q) => desk.handoverOutcome(q),
        },
        topology,
        federationKeys: [KEY],
        clock,
      },
    });
    without = await startGrpcServer(base);
  });

  afterAll(async () => {
    for (const close of closers) close();
    await server?.close();
    await without?.close();
  });

  /** The federation as the origin's client sees it: Shanghai's control API where the server is. */
  const atServer = (port: number): Topology => ({
    ...topology,
    sites: topology.sites.map((s) =>
      s.id === 'shanghai' ? { ...s, grpc: { host: '127.0.0.1', port } } : s,
    ),
  });
  const as = async (principal: Principal, port = server.port) => {
    const channel = secureChannel(
      `127.0.0.1:${port}`,
      await tlsAs(principal),
      (p) => p.kind === 'site' && p.site === 'shanghai',
      'site:shanghai',
    );
    closers.push(() => channel.close());
    return clientFactory.create(site.SiteAgentDefinition, channel);
  };

  it('takes a peer site’s signed handover through the origin’s own client, and answers a repeat as taken', async () => {
    const client = handoverClient({
      topology: atServer(server.port),
      tls: await tlsAs(BEIJING),
      signingKey: KEY,
      clock,
    });
    closers.push(() => client.close());
    expect(await client.handOver('shanghai', handover())).toEqual({ accepted: true, reason: '' });
    clock.advance(1);
    expect(await client.handOver('shanghai', handover())).toEqual({ accepted: true, reason: '' });
    // Taken provisionally: held, not listed, no event, until Beijing settles it.
    expect(desk.pending('all')).toEqual([]);
    expect(events).toEqual([]);
    const settlement = {
      callbackId: 'cb-1',
      originSiteId: 'beijing',
      decisionId: 'd-1',
      committed: true,
    };
    expect(await client.settle('shanghai', settlement)).toEqual({ known: true });
    expect(desk.pending('all')).toEqual([
      expect.objectContaining({ id: 'cb-1', arrivalMs: NOW - 60_000 }),
    ]);
    expect(events.map((e) => e.kind!.$case)).toEqual(['callbackHandedIn']);
    // Told again (its answer lost): known, nothing changes.
    clock.advance(1);
    expect(await client.settle('shanghai', settlement)).toEqual({ known: true });
    expect(events.map((e) => e.kind!.$case)).toEqual(['callbackHandedIn']);
    // Asked, as an origin, about a handover it never made to Beijing: not committed.
    expect(
      await client.outcome('shanghai', {
        callbackId: 'cb-9',
        targetSiteId: 'beijing',
        decisionId: 'd-9',
      }),
    ).toEqual({ committed: false });
  });

  it('refuses a settlement or a question from a site that is not the one it names, tampered, replayed or malformed', async () => {
    const client = await as(BEIJING);
    const s: HandoverSettlement = {
      callbackId: 'cb-6',
      originSiteId: 'beijing',
      decisionId: 'd-6',
      committed: false,
    };
    const sign = (x: HandoverSettlement) => ({ ...x, signature: signSettlement(KEY, x, NOW) });
    expect(
      await failure(client.settleCallbackHandover(sign({ ...s, originSiteId: 'guangzhou' }))),
    ).toEqual({
      code: Status.PERMISSION_DENIED,
      details: 'a site settles only its own handovers: origin_site_id must be beijing',
    });
    // An abort turned into a commit on the way.
    expect(await failure(client.settleCallbackHandover({ ...sign(s), committed: true }))).toEqual({
      code: Status.PERMISSION_DENIED,
      details: "the handover's federation signature does not hold: bad signature",
    });
    const once = sign(s);
    expect(await client.settleCallbackHandover(once)).toEqual({ known: true });
    expect(await failure(client.settleCallbackHandover(once))).toMatchObject({
      code: Status.PERMISSION_DENIED,
      details: "the handover's federation signature does not hold: replayed",
    });
    expect(await failure(client.settleCallbackHandover(sign({ ...s, decisionId: '' })))).toEqual({
      code: Status.INVALID_ARGUMENT,
      details: 'bad settlement: decision_id: 1-128 printable characters',
    });
    const q = { callbackId: 'cb-6', targetSiteId: 'guangzhou', decisionId: 'd-6' };
    expect(
      await failure(client.getCallbackHandoverOutcome({ ...q, signature: signQuery(KEY, q, NOW) })),
    ).toEqual({
      code: Status.PERMISSION_DENIED,
      details: 'a site settles only its own handovers: target_site_id must be beijing',
    });
    const mine = { ...q, targetSiteId: 'beijing' };
    expect(
      await failure(
        client.getCallbackHandoverOutcome({
          ...mine,
          signature: signQuery(KEY, { ...mine, decisionId: 'd-7' }, NOW),
        }),
      ),
    ).toMatchObject({ code: Status.PERMISSION_DENIED });
    for (const principal of [SHANGHAI, { kind: 'operator', name: 'li' } as const]) {
      const r = await failure(
        (await as(principal)).getCallbackHandoverOutcome({
          ...mine,
          signature: signQuery(KEY, mine, NOW),
        }),
      );
      expect(r.code).toBe(Status.PERMISSION_DENIED);
    }
  });

  it('refuses a site that is not a peer, the site itself, an operator, an agent and the router', async () => {
    for (const [principal, says] of [
      [{ kind: 'site', site: 'atlantis' }, 'atlantis is not a site of this federation'],
      [SHANGHAI, 'a site does not hand callbacks to itself'],
      [{ kind: 'operator', name: 'li' }, 'only another site of the federation hands over'],
      [{ kind: 'agent', site: 'shanghai', agent: 'sh-001' }, 'only another site'],
      [{ kind: 'service', service: 'router' }, 'only another site'],
    ] as const) {
      const r = await failure((await as(principal)).handOverCallback(request(handover())));
      expect(r.code, JSON.stringify(principal)).toBe(Status.PERMISSION_DENIED);
      expect(r.details).toContain(says);
    }
  });

  it('refuses a peer handing over another site’s callback', async () => {
    const r = await failure(
      (await as(BEIJING)).handOverCallback(request(handover({ originSiteId: 'guangzhou' }))),
    );
    expect(r).toEqual({
      code: Status.PERMISSION_DENIED,
      details: 'a site hands over only its own callbacks: origin_site_id must be beijing',
    });
  });

  it('refuses a tampered handover (a tier raised, an arrival moved ahead) and a replayed one', async () => {
    const client = await as(BEIJING);
    const honest = handover({ callbackId: 'cb-2', number: '+8613800000002' });
    for (const sent of [
      { ...honest, tier: 4 },
      { ...honest, arrivalMs: NOW - 3_600_000 },
    ]) {
      expect(await failure(client.handOverCallback(request(sent, honest)))).toEqual({
        code: Status.PERMISSION_DENIED,
        details: "the handover's federation signature does not hold: bad signature",
      });
    }
    const once = request(honest);
    expect(await client.handOverCallback(once)).toMatchObject({ accepted: true });
    expect(await failure(client.handOverCallback(once))).toEqual({
      code: Status.PERMISSION_DENIED,
      details: "the handover's federation signature does not hold: replayed",
    });
  });

  it('refuses a malformed handover naming the field, never echoing the number', async () => {
    const r = await failure(
      (await as(BEIJING)).handOverCallback(
        request(handover({ callbackId: 'cb-3', number: '13800000003' })),
      ),
    );
    expect(r).toEqual({
      code: Status.INVALID_ARGUMENT,
      details: 'bad handover: number: not E.164',
    });
    const skill = await failure(
      (await as(BEIJING)).handOverCallback(
        request(handover({ callbackId: 'cb-3', skill: 'support' })),
      ),
    );
    expect(skill.code).toBe(Status.INVALID_ARGUMENT);
  });

  it('answers a duplicate number as refused, not as an error: the origin keeps its callback', async () => {
    const r = await (
      await as(BEIJING)
    ).handOverCallback(request(handover({ callbackId: 'cb-4', originSiteId: 'beijing' })));
    expect(r).toEqual({ accepted: false, reason: 'duplicate', expectedWaitMs: 0 });
  });

  it('is UNAVAILABLE at a site that takes no handovers, and the origin’s client talks only to the site it names', async () => {
    const r = await failure(
      (await as(BEIJING, without.port)).handOverCallback(request(handover())),
    );
    expect(r.code).toBe(Status.UNAVAILABLE);
    // Shanghai's server where the topology puts Guangzhou: its certificate is not Guangzhou's.
    const wrong = atServer(server.port);
    const misled = handoverClient({
      topology: {
        ...wrong,
        sites: wrong.sites.map((s) =>
          s.id === 'guangzhou' ? { ...s, grpc: { host: '127.0.0.1', port: server.port } } : s,
        ),
      },
      tls: await tlsAs(BEIJING),
      signingKey: KEY,
      clock,
      deadlineMs: 2_000,
    });
    closers.push(() => misled.close());
    await expect(
      misled.handOver('guangzhou', handover({ callbackId: 'cb-5', number: '+8613800000005' })),
    ).rejects.toThrow();
  });
});
