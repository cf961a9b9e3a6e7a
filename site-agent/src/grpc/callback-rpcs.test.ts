// AgentControl's callback RPCs over a real gRPC server with mutual TLS and a real callback desk
// (example topology, Shanghai, sales offering callbacks): who may, what is refused with which
// status, and that the number never comes back.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock, silentLogger, type Principal } from '@ccfed/common';
import { site } from '@ccfed/proto';
import { parseTopology } from '@ccfed/topology';
import { Status } from 'nice-grpc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { Acd } from '../acd/acd.js';
import { acdSetup } from '../acd/from-topology.js';
import { CallbackDesk } from '../callback/callback-desk.js';
import { CallbackStore } from '../callback/callback-store.js';
import { EventStamper } from '../events/event-meta.js';
import type { CallbackControl } from './callback-rpcs.js';
import { startGrpcServer, type GrpcServer } from './server.js';
import {
  channelAs,
  clientFactory,
  failure,
  PHONES,
  SHANGHAI,
  SITE,
  testSite,
  tlsAs,
} from './test-support.js';

const EXAMPLE = new URL('../../../topology/example.yaml', import.meta.url).pathname;
const NOW = Date.parse('2026-12-07T06:00:00Z');
const IN_AN_HOUR = new Date(NOW + 3_600_000);

const siteSupervisor: Principal = { kind: 'supervisor', site: 'shanghai' };
const acme: Principal = { kind: 'supervisor', site: 'shanghai', tenant: 'acme-bank' };
const zenith: Principal = { kind: 'supervisor', site: 'shanghai', tenant: 'zenith-telecom' };
const agent: Principal = { kind: 'agent', site: 'shanghai', agent: 'sh-001' };

describe('AgentControl callback RPCs', () => {
  let withDesk: GrpcServer;
  let without: GrpcServer;
  const closers: (() => void)[] = [];

  beforeAll(async () => {
    const doc = parse(readFileSync(EXAMPLE, 'utf8'));
    doc.skills[0].callback = { offerAfterSeconds: 60, maxAttempts: 2, retryAfterSeconds: 60 };
    const topology = parseTopology(stringify(doc), 'test.yaml');
    const clock = new ManualClock(NOW);
    const shanghai = topology.sites.find((s) => s.id === 'shanghai')!;
    const acd = new Acd({ clock, ...acdSetup(topology, shanghai) });
    const desk = new CallbackDesk({
      clock,
      topology,
      acd,
      store: new CallbackStore(join(mkdtempSync(join(tmpdir(), 'ccfed-cb-rpc-')), 'callbacks')),
      dialer: undefined,
      stamper: new EventStamper({ clock, siteId: 'shanghai' }),
      publisher: { callEvent: async () => {} },
      log: silentLogger(),
      callerHashKey: 'k',
    });
    desk.attach(() => {});
    const callbacks: CallbackControl = {
      forCall: () => ({ refused: { kind: 'not_queued' } }),
      schedule: (req) => desk.schedule(req),
      pending: (tenants, skill) => desk.pending(tenants, skill),
      cancel: (id, tenants, by) => desk.cancel(id, tenants, by),
    };
    const base = {
      host: '127.0.0.1',
      port: 0,
      desk: testSite().desk,
      status: undefined as never,
      site: SITE,
      phoneNetwork: PHONES,
      tls: await tlsAs(SHANGHAI),
      log: silentLogger(),
    };
    withDesk = await startGrpcServer({ ...base, callbacks });
    without = await startGrpcServer(base);
  });

  afterAll(async () => {
    for (const close of closers) close();
    await withDesk?.close();
    await without?.close();
  });

  const as = async (principal: Principal, server = withDesk) => {
    const channel = await channelAs(server.port, principal);
    closers.push(() => channel.close());
    return clientFactory.create(site.AgentControlDefinition, channel);
  };
  const schedule = (over: Partial<site.RequestCallbackRequest> = {}) => ({
    callId: '',
    number: '+8613800000001',
    skill: 'sales',
    tenantId: 'acme-bank',
    scheduledFor: IN_AN_HOUR,
    ...over,
  });

  it('lets a tenant’s supervisor schedule for its own tenant, and lists callbacks by tenant without the number', async () => {
    const own = await (await as(acme)).requestCallback(schedule());
    expect(own.callback).toMatchObject({
      tenantId: 'acme-bank',
      skill: 'sales',
      scheduled: true,
      arrivalTime: IN_AN_HOUR,
      notBefore: IN_AN_HOUR,
    });
    expect(JSON.stringify(own)).not.toContain('8613800000001');
    expect(
      await failure((await as(acme)).requestCallback(schedule({ tenantId: 'zenith-telecom' }))),
    ).toMatchObject({
      code: Status.PERMISSION_DENIED,
    });
    expect((await (await as(zenith)).listCallbacks({ skill: '' })).callbacks).toEqual([]);
    const all = (await (await as(siteSupervisor)).listCallbacks({ skill: 'sales' })).callbacks;
    expect(all.map((c) => c.callbackId)).toEqual([own.callback!.callbackId]);
    expect(
      await failure((await as(zenith)).cancelCallback({ callbackId: own.callback!.callbackId })),
    ).toMatchObject({
      code: Status.NOT_FOUND,
    });
  });

  it('refuses what is wrong with the status that says so', async () => {
    const sup = await as(siteSupervisor);
    const cases: [Partial<site.RequestCallbackRequest>, Status, RegExp][] = [
      [{ number: '13800000002' }, Status.INVALID_ARGUMENT, /E\.164/],
      [{ number: '+8613800000001' }, Status.ALREADY_EXISTS, /already has a pending callback/],
      [
        { number: '+8613800000003', scheduledFor: new Date(NOW - 1) },
        Status.INVALID_ARGUMENT,
        /passed/,
      ],
      [
        { number: '+8613800000003', scheduledFor: new Date(NOW + 8 * 86_400_000) },
        Status.INVALID_ARGUMENT,
        /7 days/,
      ],
      [
        { number: '+8613800000003', skill: 'support' },
        Status.INVALID_ARGUMENT,
        /offers no callbacks/,
      ],
      [{ number: '+8613800000003', tenantId: 'nobody' }, Status.INVALID_ARGUMENT, /not a tenant/],
      [
        { number: '+8613800000003', scheduledFor: undefined },
        Status.INVALID_ARGUMENT,
        /call_id .* or scheduled_for/,
      ],
      [{ callId: 'has space' }, Status.INVALID_ARGUMENT, /call_id/],
      [{ callId: 'c-unknown' }, Status.FAILED_PRECONDITION, /not waiting/],
    ];
    for (const [over, code, message] of cases) {
      const got = await failure(sup.requestCallback(schedule(over)));
      expect(got, JSON.stringify(over)).toMatchObject({ code });
      expect(got.details).toMatch(message);
    }
    expect(await failure(sup.cancelCallback({ callbackId: 'none' }))).toMatchObject({
      code: Status.NOT_FOUND,
    });
  });

  it('is for supervisors only, and UNAVAILABLE at a site that takes no callbacks', async () => {
    expect(await failure((await as(agent)).listCallbacks({ skill: '' }))).toMatchObject({
      code: Status.PERMISSION_DENIED,
    });
    expect(
      await failure((await as(siteSupervisor, without)).listCallbacks({ skill: '' })),
    ).toMatchObject({
      code: Status.UNAVAILABLE,
    });
  });
});
