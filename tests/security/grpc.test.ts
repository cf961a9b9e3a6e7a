// The gRPC trust boundary, tried as an attacker on the network and as a principal overstepping its
// certificate would, against the real processes: a site (Kamailio and the site agent process) and
// the central router process. Mutual TLS refuses anyone without a certificate from the federation's
// CA; each RPC refuses principals it is not theirs to call; a site cannot ask routes in another
// site's name; and a flood of route requests from one site holds no more than its cap of
// reservations, so the other sites' calls still move.
import { mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadTls, secureChannel, type Principal } from '@ccfed/common';
import { AgentState, CustomerTier, routing, site as siteApi } from '@ccfed/proto';
import { freePort, openPki } from '@ccfed/services';
import { Partitioners, type Producer } from 'kafkajs';
import {
  ChannelCredentials,
  ClientError,
  createChannel,
  createClient,
  Status,
  type Channel,
} from 'nice-grpc';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freshTopics, waitFor } from '../support/engines.js';
import { adminKafka } from '../support/kafka.js';
import { type ServiceProcess } from '../support/processes.js';
import {
  type RunningSite,
  startRouter,
  startSite,
  writeTopology,
} from '../support/running-site.js';
import { OPERATOR, routerChannel, tlsAs } from '../support/security.js';
import { SnapshotFeeder } from '../support/snapshot-feeder.js';

const CAP = 3;
const opts = () => ({ signal: AbortSignal.timeout(5_000) });

/** The status a call failed with; fails the test when it succeeded. */
async function failure(call: Promise<unknown>): Promise<{ code: Status; details: string }> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof ClientError))
    throw new Error(
      `expected a gRPC error status, got ${err === undefined ? 'success' : String(err)}`,
    );
  return { code: err.code, details: err.details };
}

/** Log lines of a process with the given event name. */
function logged(process: ServiceProcess, event: string): Record<string, unknown>[] {
  return readFileSync(process.logFile, 'utf8')
    .split('\n')
    .filter((l) => l.includes(`"event":"${event}"`))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('gRPC trust boundary', () => {
  const channels: Channel[] = [];
  const track = (c: Channel) => (channels.push(c), c);
  let site: RunningSite;
  let router: ServiceProcess;
  let routerAddress: string;
  let producer: Producer;
  let feeder: SnapshotFeeder;

  /** A route request for one of `origin`'s calls that has waited long and would gain by moving. */
  const request = (callId: string, origin: string): routing.RequestRouteRequest => ({
    callId,
    originSiteId: origin,
    tenantId: 'acme-bank',
    skill: 'support',
    tier: CustomerTier.CUSTOMER_TIER_STANDARD,
    waitedMs: 15_000,
    originExpectedWaitMs: 600_000,
    hopCount: 0,
    trace: undefined,
  });
  const routerAs = async (p: Principal) =>
    createClient(routing.CentralRouterDefinition, track(await routerChannel(routerAddress, p)));

  beforeAll(async () => {
    site = await startSite({ siteId: 'beijing' });

    // The router on topics of its own, fed snapshots of a federation where Beijing has room
    // and Shanghai does not, with a cap of CAP reservations per origin.
    const { prefix, topics } = await freshTopics();
    const { file } = await writeTopology((doc) => {
      doc.routing.maxReservationsPerOrigin = CAP;
      // Reservations outlive this test on a slow machine: only the cap may free them.
      doc.routing.reservationTimeoutSeconds = 120;
    });
    const port = await freePort();
    routerAddress = `127.0.0.1:${port}`;
    router = await startRouter({ topologyFile: file, prefix }, port, { name: 'router-security' });
    producer = adminKafka('security-snapshots').producer({
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    feeder = new SnapshotFeeder(producer, topics.siteSnapshots);
    feeder.set('shanghai', { queued: 12, staffed: 4, idle: 0 });
    feeder.set('beijing', { queued: 0, staffed: 20, idle: 20 });
    feeder.set('guangzhou', { queued: 12, staffed: 4, idle: 0 });
    feeder.start();
    // Up and following the snapshots once Shanghai's own call moves to Beijing (one reservation
    // of Shanghai's CAP).
    const shanghai = await routerAs({ kind: 'site', site: 'shanghai' });
    await waitFor(
      'the router to answer with an overflow',
      async () => {
        const r = await shanghai.requestRoute(request('c-probe', 'shanghai'), opts());
        return r.verdict === routing.Verdict.VERDICT_OVERFLOW ? r : undefined;
      },
      60_000,
    );
  });

  afterAll(async () => {
    for (const c of channels.splice(0)) c.close();
    feeder?.stop();
    await producer?.disconnect();
    await router?.stop();
    await site?.stop();
  });

  const siteAddress = () => `${site.site.grpc.host}:${site.site.grpc.port}`;
  const asPrincipal = async (p: Principal) => (await site.clientsAs(p)).control;
  const agentState = async (agentId: string) =>
    (await site.control.listAgents({}, opts())).agents.find((a) => a.agentId === agentId)?.state;

  it('refuses gRPC without a client certificate (plaintext, or TLS without one): UNAVAILABLE', async () => {
    const plain = track(createChannel(siteAddress()));
    const anonymous = track(
      createChannel(
        siteAddress(),
        ChannelCredentials.createSsl((await tlsAs(OPERATOR)).ca, null, null, {
          checkServerIdentity: () => undefined,
        }),
        { 'grpc.ssl_target_name_override': 'ccfed.peer' },
      ),
    );
    for (const channel of [plain, anonymous]) {
      const control = createClient(siteApi.AgentControlDefinition, channel);
      const f = await failure(
        control.login({ agentId: 'bj-001', contactUri: 'sip:bj-001@127.0.0.1:5999' }, opts()),
      );
      expect(f.code).toBe(Status.UNAVAILABLE);
      const drain = createClient(siteApi.SiteAgentDefinition, channel);
      expect((await failure(drain.setDraining({ drained: true, reason: 'x' }, opts()))).code).toBe(
        Status.UNAVAILABLE,
      );
    }
    const routerPlain = createClient(
      routing.CentralRouterDefinition,
      track(createChannel(routerAddress)),
    );
    expect(
      (await failure(routerPlain.requestRoute(request('c-anon', 'beijing'), opts()))).code,
    ).toBe(Status.UNAVAILABLE);
    expect(await agentState('bj-001')).toBe(AgentState.AGENT_STATE_LOGGED_OUT);
    expect((await site.status.getStatus({}, opts())).drained).toBe(false);
  });

  it('refuses a certificate from another CA, even one naming an operator', async () => {
    const rogue = await openPki(mkdtempSync(join(inject('runDir'), 'rogue-pki-')));
    const forged = loadTls(await rogue.issue(OPERATOR));
    // It trusts the real CA, so the only fault is its own certificate.
    const channel = track(
      secureChannel(
        siteAddress(),
        { ...forged, ca: (await tlsAs(OPERATOR)).ca },
        () => true,
        'any',
      ),
    );
    const status = createClient(siteApi.SiteAgentDefinition, channel);
    expect((await failure(status.setDraining({ drained: true, reason: 'x' }, opts()))).code).toBe(
      Status.UNAVAILABLE,
    );
    expect((await site.status.getStatus({}, opts())).drained).toBe(false);
  });

  it('refuses a server whose certificate names another principal than the one the client wants', async () => {
    // The site agent's port, reached by a client that means to talk to the router.
    const client = createClient(
      routing.CentralRouterDefinition,
      track(await routerChannel(siteAddress(), { kind: 'site', site: 'beijing' })),
    );
    const f = await failure(client.requestRoute(request('c-mitm', 'beijing'), opts()));
    expect(f.code).toBe(Status.UNAVAILABLE);
  });

  it('refuses an agent acting on another agent: PERMISSION_DENIED, and nothing changes', async () => {
    const me = await asPrincipal({ kind: 'agent', site: 'beijing', agent: 'bj-001' });
    const f = await failure(
      me.login({ agentId: 'bj-002', contactUri: 'sip:bj-002@127.0.0.1:5999' }, opts()),
    );
    expect(f).toEqual({
      code: Status.PERMISSION_DENIED,
      details:
        'agent:beijing/bj-001 may not call Login at site beijing: an agent acts only on itself, not on "bj-002"',
    });
    expect(await agentState('bj-002')).toBe(AgentState.AGENT_STATE_LOGGED_OUT);
    // Its own log-in works, and it sees itself only.
    await me.login({ agentId: 'bj-001', contactUri: 'sip:bj-001@127.0.0.1:5999' }, opts());
    expect((await me.listAgents({}, opts())).agents.map((a) => a.agentId)).toEqual(['bj-001']);
    await me.logout({ agentId: 'bj-001' }, opts());
    expect(logged(site.agentProcess, 'grpc_permission_denied')).toContainEqual(
      expect.objectContaining({ peer: 'agent:beijing/bj-001', rpc: 'Login', agentId: 'bj-002' }),
    );
  });

  it('refuses a supervisor draining the site, while an operator can', async () => {
    const supervisor = (await site.clientsAs({ kind: 'supervisor', site: 'beijing' })).status;
    expect(
      await failure(supervisor.setDraining({ drained: true, reason: 'not mine to do' }, opts())),
    ).toEqual({
      code: Status.PERMISSION_DENIED,
      details:
        'supervisor:beijing may not call SetDraining at site beijing: only operators drain a site',
    });
    expect((await supervisor.getStatus({}, opts())).drained).toBe(false);

    expect(
      await site.status.setDraining({ drained: true, reason: 'switch maintenance' }, opts()),
    ).toEqual({ drained: true, wasDrained: false });
    expect((await supervisor.getStatus({}, opts())).drainReason).toBe('switch maintenance');
    await site.status.setDraining({ drained: false, reason: '' }, opts());
    // The process's log reaches its file through a pipe: poll for the line.
    const drained = await waitFor('the site_drained log line', async () => {
      const lines = logged(site.agentProcess, 'site_drained');
      return lines.length > 0 ? lines : undefined;
    });
    expect(drained).toContainEqual(
      expect.objectContaining({ by: 'operator:test', reason: 'switch maintenance' }),
    );
  });

  it("refuses a tenant's supervisor logging in another tenant's agent", async () => {
    const acme = await asPrincipal({ kind: 'supervisor', site: 'beijing', tenant: 'acme-bank' });
    // bj-003 is Zenith Telecom's.
    expect(
      await failure(
        acme.login({ agentId: 'bj-003', contactUri: 'sip:bj-003@127.0.0.1:5999' }, opts()),
      ),
    ).toMatchObject({
      code: Status.PERMISSION_DENIED,
      details: expect.stringContaining('acts only on acme-bank\'s agents, and "bj-003" is not one'),
    });
    expect(await agentState('bj-003')).toBe(AgentState.AGENT_STATE_LOGGED_OUT);
    expect(
      (await acme.listAgents({}, opts())).agents.every((a) => a.tenantId === 'acme-bank'),
    ).toBe(true);
  });

  it("refuses a contact URI outside the site's phone network, naming the network", async () => {
    const f = await failure(
      site.control.login({ agentId: 'bj-001', contactUri: 'sip:bj-001@198.51.100.7:5060' }, opts()),
    );
    expect(f).toEqual({
      code: Status.PERMISSION_DENIED,
      details:
        'contact_uri host "198.51.100.7" is outside site beijing\'s phone network (127.0.0.0/8; the topology\'s sites[].phoneNetwork)',
    });
    expect(await agentState('bj-001')).toBe(AgentState.AGENT_STATE_LOGGED_OUT);
    expect(logged(site.agentProcess, 'agent_contact_refused')).toContainEqual(
      expect.objectContaining({ agentId: 'bj-001', host: '198.51.100.7' }),
    );
  });

  it('refuses site A asking a route for its call as site B, naming both', async () => {
    const beijing = await routerAs({ kind: 'site', site: 'beijing' });
    expect(await failure(beijing.requestRoute(request('c-forged', 'shanghai'), opts()))).toEqual({
      code: Status.PERMISSION_DENIED,
      details:
        'site:beijing may ask routes only for its own calls, not for origin_site_id "shanghai"',
    });
    const operator = await routerAs(OPERATOR);
    expect((await failure(operator.requestRoute(request('c-op', 'shanghai'), opts()))).code).toBe(
      Status.PERMISSION_DENIED,
    );
    expect(logged(router, 'route_request_denied')).toContainEqual(
      expect.objectContaining({
        peer: 'site:beijing',
        originSiteId: 'shanghai',
        callId: 'c-forged',
      }),
    );
  });

  it('caps a reservation flood from one site; genuine calls of other sites still overflow', async () => {
    // Guangzhou's certificate is in the wrong hands: it asks for 40 calls it does not have.
    const guangzhou = await routerAs({ kind: 'site', site: 'guangzhou' });
    const flood = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        guangzhou.requestRoute(request(`fake-${i}`, 'guangzhou'), opts()),
      ),
    );
    const moved = flood.filter((r) => r.verdict === routing.Verdict.VERDICT_OVERFLOW);
    const capped = flood.filter((r) => r.reason.includes(`its cap of ${CAP}`));
    console.log(
      `reservation flood: ${flood.length} requests, ${moved.length} reserved, ${capped.length} kept home by the cap`,
    );
    expect(moved).toHaveLength(CAP);
    expect(capped).toHaveLength(flood.length - CAP);
    expect(capped[0]!.reason).toMatch(
      new RegExp(
        `^guangzhou already holds ${CAP} reservations, its cap of ${CAP} \\(best site would be beijing\\)$`,
      ),
    );

    // Shanghai's real callers still find Beijing's agents (its probe holds one of its CAP).
    const shanghai = await routerAs({ kind: 'site', site: 'shanghai' });
    const genuine = [];
    for (let i = 0; i < 2; i++)
      genuine.push(await shanghai.requestRoute(request(`real-${i}`, 'shanghai'), opts()));
    expect(genuine.map((r) => [r.verdict, r.targetSiteId])).toEqual([
      [routing.Verdict.VERDICT_OVERFLOW, 'beijing'],
      [routing.Verdict.VERDICT_OVERFLOW, 'beijing'],
    ]);
    expect(logged(router, 'route_reservations_capped')).toContainEqual(
      expect.objectContaining({ site: 'guangzhou' }),
    );
  });
});
