// Three real sites and the central router. Shanghai is overloaded (2 agents, calls at twice
// what they can answer); Beijing and Guangzhou have agents to spare. In three phases of the same
// load at Shanghai:
//   1. router up: Shanghai's waiting calls overflow over SIP to the other sites;
//   2. router killed: every site keeps answering its own calls, none is lost, and Shanghai's
//      service level is worse than in phase 1 (this is the same run with routing switched off);
//   3. router back: overflow resumes.
// The sites are joined by TLS peer links (the example topology) and every overflow INVITE's
// X-CC-* context is signed: a target books a call as overflowed in only when the signature holds.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { CallEvent } from '@ccfed/proto';
import {
  callerCalls,
  freePort,
  queuedCallers,
  readSippLog,
  type CallerCall,
  type LoggedSippRun,
} from '@ccfed/services';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { groupBy, readTopics, uniqueName } from '../support/engines.js';
import { waitForLogEvent, type ServiceProcess } from '../support/processes.js';
import {
  readyAgentsOnPhones,
  type RunningFederation,
  startFederation,
  startRouter,
} from '../support/running-site.js';

const SUPPORT: Record<string, string> = {
  shanghai: '400100200',
  beijing: '400200200',
  guangzhou: '400300200',
};
const CALLS_PER_PHASE = 20;
/** Service level threshold for this test's short calls. */
const SL_THRESHOLD_MS = 4_000;

describe('overflow between three sites through the central router', () => {
  let fed: RunningFederation;
  let router: ServiceProcess | undefined;
  let routerPort: number;
  const phones: LoggedSippRun[] = [];
  /** phone port → site */
  const phoneSite = new Map<number, string>();
  const logDir = join(inject('runDir'), uniqueName('federation'));

  const routerUp = async () => {
    router = await startRouter(fed, routerPort);
    // A phase starts once the router answers, not while it is still starting.
    await waitForLogEvent(router, 'router_started');
  };

  /** One phase: CALLS_PER_PHASE calls at Shanghai at 2/s (twice what its agents answer), until all end. */
  async function phase(name: string): Promise<CallerCall[]> {
    const shanghai = fed.sites.get('shanghai')!;
    const run = queuedCallers({
      proxy: shanghai.kamailio.sip,
      service: SUPPORT.shanghai!,
      callerPrefix: '86139000',
      patienceMs: 300_000,
      calls: CALLS_PER_PHASE,
      rate: 2,
      port: await freePort(),
      logFile: join(logDir, `callers-${name}.log`),
      timeout: '300s',
    });
    const { code, output } = await run.exited;
    expect(code, `${name}: ${output.slice(-1500)}`).toBe(0);
    return callerCalls(readSippLog(run));
  }

  const serviceLevel = (calls: readonly CallerCall[]) =>
    calls.filter((c) => c.outcome === 'answered' && c.answeredAt! - c.invitedAt! <= SL_THRESHOLD_MS)
      .length / calls.length;
  const answeredElsewhere = (calls: readonly CallerCall[]) =>
    calls.filter((c) => c.outcome === 'answered' && phoneSite.get(c.agentPort!) !== 'shanghai');

  beforeAll(async () => {
    mkdirSync(logDir, { recursive: true });
    routerPort = await freePort();
    fed = await startFederation({
      siteIds: ['shanghai', 'beijing', 'guangzhou'],
      env: { CCFED_ROUTER: `127.0.0.1:${routerPort}` },
      mutate: (doc) => {
        const support = doc.skills.find((s: { id: string }) => s.id === 'support');
        support.wrapUpSeconds = 0;
        support.averageHandleSeconds = 2;
        support.overflow = { expectedWaitThresholdSeconds: 3, minImprovementSeconds: 1 };
        doc.routing.staleAfterSeconds = 3;
        doc.routing.reservationTimeoutSeconds = 10;
        doc.routing.reRequestIntervalSeconds = 1;
        doc.routing.tenantRestrictions = [];
        for (const site of doc.sites) {
          site.handicapSeconds = 0;
          site.agents = [1, 2].map((n) => ({
            id: `${site.id.slice(0, 2)}-00${n}`,
            name: `Agent ${n}`,
            tenant: 'acme-bank',
            skills: { support: 5 },
          }));
        }
      },
    });
    await readyAgentsOnPhones(fed, { logDir, phones, phoneSite });
    await routerUp();
  }, 120_000);

  afterAll(async () => {
    for (const p of phones) await p.stop();
    await router?.stop();
    await fed?.stop();
  });

  let routed: CallerCall[] = [];
  let local: CallerCall[] = [];

  it('overflows Shanghai’s waiting calls to the other sites over SIP while the router is up', async () => {
    routed = await phase('routed');
    expect(routed.every((c) => c.outcome === 'answered')).toBe(true);
    expect(answeredElsewhere(routed).length).toBeGreaterThan(0);
  }, 180_000);

  it('keeps every site answering its own calls with the router killed: none lost, Shanghai’s service level worse', async () => {
    await router!.kill();
    local = await phase('local');
    expect(local.every((c) => c.outcome === 'answered')).toBe(true);
    expect(answeredElsewhere(local)).toEqual([]);
    expect(serviceLevel(routed)).toBeGreaterThan(serviceLevel(local));
  }, 180_000);

  it('resumes overflow once the router is back', async () => {
    await routerUp();
    const again = await phase('again');
    expect(again.every((c) => c.outcome === 'answered')).toBe(true);
    expect(answeredElsewhere(again).length).toBeGreaterThan(0);
  }, 180_000);

  it('records each overflow at both ends: overflowed out at Shanghai, overflowed in at the target', async () => {
    const moved = answeredElsewhere(routed);
    const complete = (byCall: Map<string, CallEvent[]>, id: string) =>
      ['overflowedOut', 'overflowedIn', 'answered'].every((k) =>
        byCall.get(id)?.some((e) => e.kind?.$case === k),
      );
    const events = await readTopics({
      topics: [fed.topics.callEvents],
      decode: (b) => CallEvent.decode(b),
      until: (seen) => {
        const byCall = groupBy(seen, (e) => e.callId);
        return moved.every((c) => complete(byCall, c.callId));
      },
    });
    const byCall = groupBy(events, (e) => e.callId);
    for (const c of moved) {
      const evs = byCall.get(c.callId)!;
      const out = evs.find((e) => e.kind?.$case === 'overflowedOut')!;
      const inn = evs.find((e) => e.kind?.$case === 'overflowedIn')!;
      const target = phoneSite.get(c.agentPort!);
      expect(out.meta!.siteId).toBe('shanghai');
      expect(out.kind).toMatchObject({ value: { targetSiteId: target } });
      expect(inn.meta!.siteId).toBe(target);
      expect(inn.kind).toMatchObject({ value: { originSiteId: 'shanghai', hopCount: 1 } });
      expect(evs.find((e) => e.kind?.$case === 'answered')!.meta!.siteId).toBe(target);
    }
  });
});
