// WAN partitions, for real: HQ (Shanghai) and a branch (Beijing) each in its own network namespace
// with its Kamailio, rtpengine, site agent, agent phones and callers; the central services behind
// a 'central' namespace (tests/support/netns.ts: wireFederation). Under sipp load at Shanghai
// (twice what its agents answer, so its waiting calls overflow to Beijing, to its two agents on
// the usual phones; its third is D's):
//   C. first, the central services are cut off from every site: each keeps answering its own
//      callers (the router unreachable, it routes locally), none is lost, and both outboxes drain
//      after; then HQ overflows to Beijing again (the test after C);
//   A. Beijing is cut off (a drop) while Shanghai keeps overflowing to it: every INVITE sent into
//      the cut gets no provisional reply, and its call is back in Shanghai's queue within
//      OVERFLOW_BOUND_MS (the overflow branch's fr_timer, 5 s in ccfed.cfg, not Timer B's 32 s),
//      and answered there; no caller is lost;
//   B. the cut branch keeps answering its own callers, its events wait in its outbox, the
//      router stops choosing it within its staleness limit, and the live wall (the central API's
//      /api/v1/live, as the console reads it) shows it unreachable within 3 s;
//   heal: Beijing's outbox drains, every event is in ClickHouse exactly once, overflow resumes;
//   D. a call talking across the WAN (HQ's caller, the branch's third agent, kept for it) survives
//      a round of keepalives, then A's cut cuts it too: each side's Kamailio hangs up its own leg
//      within TALKING_BOUND_S (routing.talkingPeerSilenceSeconds, its shortest), the agent is free
//      again while the cut lasts, and the branch's `ended` event, delivered after the heal, says
//      the other site was lost. Its call starts before C, so that its keepalive clock
//      runs while C, the overflow test and A do: cut anywhere between its first and second
//      keepalive (30 and 60 s in), it ends about 77 s in, before its caller and phone would time
//      out. Its outcome is checked between A and the heal, while the branch is still cut off.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AgentState, CallEvent, CallParty } from '@ccfed/proto';
import {
  agentPhone,
  agentPhoneCalls,
  boundInNetns,
  callerCalls,
  freePort,
  queuedCallers,
  readSippLog,
  type CallerCall,
  type LoggedSippRun,
} from '@ccfed/services';
import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  freshDatabase,
  groupBy,
  readTopics,
  rows,
  uniqueName,
  waitFor,
} from '../support/engines.js';
import { startApiProcess, type ApiProcess } from '../support/api-process.js';
import { startIngester, waitIngesterCaughtUp } from '../support/ingester.js';
import { kafkaBrokers, kafkaEnv } from '../support/kafka.js';
import { canMakeNamespaces, startWan, type Wan } from '../support/netns.js';
import { type ServiceProcess } from '../support/processes.js';
import {
  readyAgentsOnPhones,
  type RunningFederation,
  startFederation,
  startRouter,
} from '../support/running-site.js';

const SUPPORT: Record<string, string> = { shanghai: '400100200', beijing: '400200200' };
/** The router's staleness limit in this test (routing.staleAfterSeconds). */
const STALE_AFTER_S = 6;
/** Snapshots go at least every second: the router may have heard from a site up to 1 s late. */
const SNAPSHOT_INTERVAL_MS = 1_000;
/**
 * How long an overflowed call whose target went silent may be away from its origin's queue: the
 * overflow branch's fr_timer (5 s without a provisional reply, ccfed.cfg), plus Kamailio's timer
 * tick and the site agent taking the call back (up to 2 s on this shared 2-core machine).
 */
const OVERFLOW_BOUND_MS = 7_000;
/** The live wall shows a cut site unreachable within this (the figure). */
const WALL_BOUND_MS = 3_000;
/**
 * routing.talkingPeerSilenceSeconds in this test, its shortest: a keepalive every 30 s over the
 * inter-site leg of a talking call, and 17 s for an unanswered one to end it (ccfed.cfg).
 */
const TALKING_BOUND_S = 47;
const KEEPALIVE_INTERVAL_S = 30;
/** Beijing's third agent, kept for D's call: the other tests' calls go to its first two. */
const TALKER = 'be-003';

interface LiveSiteSeen {
  readonly siteId: string;
  readonly reachable: boolean;
}

/** Every view /api/v1/live pushes to `token`, with when it came, until stop(). */
function watchLiveWall(base: string, token: string) {
  const views: { at: number; sites: LiveSiteSeen[] }[] = [];
  const abort = new AbortController();
  const done = (async () => {
    const res = await fetch(`${base}/api/v1/live`, {
      headers: { authorization: `Bearer ${token}` },
      signal: abort.signal,
    });
    if (res.status !== 200) throw new Error(`live wall refused: ${res.status}`);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      text += value;
      for (let m; (m = /event: view\ndata: (.*)\n\n/.exec(text));) {
        views.push({
          at: Date.now(),
          sites: (JSON.parse(m[1]!) as { sites: LiveSiteSeen[] }).sites,
        });
        text = text.slice(m.index + m[0].length);
      }
    }
  })().catch((err: Error) => {
    if (err.name !== 'AbortError') throw err;
  });
  return {
    /** When the wall first showed `siteId` reachable (or not) at or after `since`. */
    firstShown: (siteId: string, reachable: boolean, since: number) =>
      views.find(
        (v) =>
          v.at >= since && v.sites.some((x) => x.siteId === siteId && x.reachable === reachable),
      )?.at,
    stop: async () => {
      abort.abort();
      await done;
    },
  };
}

type Ev = CallEvent;
const at = (e: Ev) => e.meta!.eventTime!.getTime();
const kind = (e: Ev) => e.kind?.$case;

describe.skipIf(!canMakeNamespaces)('a site cut off the WAN, and healed', () => {
  if (!canMakeNamespaces) console.warn('tests/netns need root (ip netns, tc): skipped');
  let wan: Wan;
  let fed: RunningFederation;
  let router: ServiceProcess | undefined;
  let ingester: ServiceProcess | undefined;
  let ch: ClickHouseClient;
  let group: string;
  let api: ApiProcess | undefined;
  let wall: ReturnType<typeof watchLiveWall> | undefined;
  const phones: LoggedSippRun[] = [];
  const runs: LoggedSippRun[] = [];
  /** phone port → site */
  const phoneSite = new Map<number, string>();
  const logDir = join(inject('runDir'), uniqueName('wan-partition'));

  const callers = async (siteId: string, name: string, calls: number, rate: number) => {
    const run = queuedCallers({
      proxy: fed.sites.get(siteId)!.kamailio.sip,
      service: SUPPORT[siteId]!,
      callerPrefix: siteId === 'shanghai' ? '86139100' : '86139200',
      patienceMs: 300_000,
      calls,
      rate,
      port: await freePort(),
      logFile: join(logDir, `callers-${name}.log`),
      timeout: '200s',
      netns: wan.netns(siteId),
    });
    runs.push(run);
    return run;
  };
  const finished = async (run: LoggedSippRun, name: string): Promise<CallerCall[]> => {
    const { code, output } = await run.exited;
    expect(code, `${name}: ${output.slice(-1500)}`).toBe(0);
    return callerCalls(readSippLog(run));
  };
  const callEvents = (until: (byCall: Map<string, Ev[]>) => boolean, timeoutMs = 60_000) =>
    readTopics({
      topics: [fed.topics.callEvents],
      decode: (b) => CallEvent.decode(b),
      until: (seen) => until(groupBy(seen, (e) => e.callId)),
      timeoutMs,
    });

  /** D's call: HQ's caller, talking to TALKER's phone across the WAN from before the first test. */
  let talking:
    | {
        readonly caller: LoggedSippRun;
        readonly phone: LoggedSippRun;
        readonly port: number;
        readonly callId: string;
        readonly answeredAt: number;
      }
    | undefined;
  const logOf = (siteId: string) =>
    readFileSync(fed.sites.get(siteId)!.kamailio.handle.logFile, 'utf8');
  const agentStatus = async (siteId: string, agentId: string) =>
    (await fed.sites.get(siteId)!.control.listAgents({})).agents.find((a) => a.agentId === agentId);

  /**
   * D's call, set up as D always was: HQ's caller overflows to the branch's TALKER, who answers
   * and talks on; then every other agent is ready again for the other scenarios.
   */
  const startTalkingCall = async (): Promise<NonNullable<typeof talking>> => {
    const shanghai = fed.sites.get('shanghai')!;
    const beijing = fed.sites.get('beijing')!;
    // HQ's agents and Beijing's usual two take no call for now, and TALKER takes one, on a phone
    // that talks for as long as the test needs (an exponential draw of mean 10^9 s): HQ's caller
    // overflows to it.
    const others = [shanghai, beijing].flatMap((site) =>
      site.site.agents.filter((a) => a.id !== TALKER).map((a) => ({ site, agentId: a.id })),
    );
    for (const { site, agentId } of others)
      await site.control.setNotReady({ agentId, reasonCode: 'break' });
    const port = await freePort();
    const phone = agentPhone({
      port,
      ringMs: 100,
      talkMeanMs: 1e12,
      calls: 1,
      logFile: join(logDir, 'phone-talking.log'),
      timeout: '300s',
      netns: wan.netns('beijing'),
    });
    phones.push(phone);
    phoneSite.set(port, 'beijing');
    await waitFor('the talking phone listening', async () =>
      (await boundInNetns(wan.netns('beijing'), port, 'udp')) ? true : undefined,
    );
    await beijing.control.login({ agentId: TALKER, contactUri: `sip:${TALKER}@127.0.0.1:${port}` });
    await beijing.control.setReady({ agentId: TALKER });
    await waitFor('the talking agent ready on its phone', async () => {
      const { snapshot } = await beijing.status.getStatus({});
      return snapshot?.skills.find((k) => k.skill === 'support')?.agentsIdle === 1
        ? true
        : undefined;
    });
    const caller = await callers('shanghai', 'talking-cut', 1, 1);
    const callId = await waitFor(
      'the talking agent on the call',
      async () => {
        const agent = await agentStatus('beijing', TALKER);
        return agent?.state === AgentState.AGENT_STATE_ON_CALL ? agent.callId : undefined;
      },
      60_000,
    );
    const answeredAt = Date.now();
    for (const { site, agentId } of others) await site.control.setReady({ agentId });
    return { caller, phone, port, callId, answeredAt };
  };

  beforeAll(async () => {
    mkdirSync(logDir, { recursive: true });
    wan = await startWan({ sites: ['shanghai', 'beijing'] });
    const routerPort = await freePort();
    const kafkaPort = Number(kafkaBrokers()[0]!.split(':').pop());
    fed = await startFederation({
      siteIds: ['shanghai', 'beijing'],
      env: { CCFED_ROUTER: `127.0.0.1:${routerPort}` },
      wan: {
        wan,
        centralPorts: [
          { name: 'kafka', port: kafkaPort },
          { name: 'router', port: routerPort },
        ],
      },
      mutate: (doc) => {
        const support = doc.skills.find((s: { id: string }) => s.id === 'support');
        support.wrapUpSeconds = 0;
        support.averageHandleSeconds = 2;
        support.overflow = { expectedWaitThresholdSeconds: 3, minImprovementSeconds: 1 };
        doc.routing.staleAfterSeconds = STALE_AFTER_S;
        doc.routing.reservationTimeoutSeconds = 10;
        doc.routing.reRequestIntervalSeconds = 1;
        doc.routing.tenantRestrictions = [];
        doc.routing.talkingPeerSilenceSeconds = TALKING_BOUND_S;
        doc.sites = doc.sites.filter((s: { id: string }) => s.id in SUPPORT);
        for (const site of doc.sites) {
          site.handicapSeconds = 0;
          site.agents = (site.id === 'beijing' ? [1, 2, 3] : [1, 2]).map((n) => ({
            id: `${site.id.slice(0, 2)}-00${n}`,
            name: `Agent ${n}`,
            tenant: 'acme-bank',
            skills: { support: 5 },
          }));
        }
      },
    });
    await readyAgentsOnPhones(fed, {
      logDir,
      netnsOf: (id) => wan.netns(id),
      phones,
      phoneSite,
      except: new Set([TALKER]),
    });
    // The central services run behind the central region (wireFederation): the router here.
    router = await startRouter(fed, routerPort);
    // D's call starts as soon as the router can overflow it, while the rest starts: its keepalive
    // clock, which sets when D ends, runs from here (the ingester reads its topics from the start).
    const [talkingCall, theRest] = await Promise.allSettled([
      startTalkingCall(),
      (async () => {
        const db = await freshDatabase();
        ch = db.client;
        group = uniqueName('ccfed-ingester-wan');
        ingester = await startIngester({ prefix: fed.prefix, database: db.database, group });
        // The central API, whose live wall (the console's) HQ watches throughout.
        api = await startApiProcess({
          dir: logDir,
          database: db.database,
          topologyFile: fed.topologyFile,
          users: [{ username: 'hq', role: 'hq' }],
          password: 'wan-partition-password-1',
          env: {
            ...(await kafkaEnv({ role: 'api' }, fed.prefix)),
            CCFED_TOPIC_PREFIX: fed.prefix,
          },
        });
        wall = watchLiveWall(api.base, api.tokens.get('hq')!);
      })(),
    ]);
    // both settled first: afterAll stops whatever either started
    if (theRest.status === 'rejected') throw theRest.reason;
    if (talkingCall.status === 'rejected') throw talkingCall.reason;
    talking = talkingCall.value;
  }, 150_000);

  afterAll(async () => {
    await wall?.stop();
    await api?.stop();
    for (const r of runs) await r.stop();
    for (const p of phones) await p.stop();
    await ingester?.stop();
    await router?.stop();
    await fed?.stop();
    await wan?.teardown();
  });

  // C comes first: D's call cannot end sooner than about 77 s after its answer whenever A cuts it
  // (two keepalive intervals and the 17 s), so A waits for its first keepalive round anyway; C
  // fills that wait instead of running after the heal. The central cut leaves D's call alone (its
  // keepalives go site to site, never through the central region), and the next test, overflow
  // to the branch, shows the router answering HQ again before A relies on it.
  it('C: central cut off from every site: each site serves its own callers, none lost, and catches up after', async () => {
    await wan.cut('central');
    const hq = await callers('shanghai', 'central-cut', 8, 2);
    const branch = await callers('beijing', 'central-cut-branch', 4, 1);
    const atHq = await finished(hq, 'central-cut');
    const atBranch = await finished(branch, 'central-cut-branch');
    for (const [siteId, calls] of [
      ['shanghai', atHq],
      ['beijing', atBranch],
    ] as const) {
      expect(
        calls.every((c) => c.outcome === 'answered'),
        siteId,
      ).toBe(true);
      expect(
        calls.every((c) => phoneSite.get(c.agentPort!) === siteId),
        siteId,
      ).toBe(true);
      const { bufferedEvents } = await fed.sites.get(siteId)!.status.getStatus({});
      expect(Number(bufferedEvents), siteId).toBeGreaterThan(0);
    }
    await wan.heal('central');
    for (const site of fed.sites.values()) {
      await waitFor(
        `${site.siteId}’s outbox drained`,
        async () =>
          Number((await site.status.getStatus({})).bufferedEvents) === 0 ? true : undefined,
        60_000,
      );
    }
  }, 120_000);

  let cutAt = 0;
  let beforeCut: CallerCall[] = [];
  let duringCut: CallerCall[] = [];
  /** The calls whose overflow INVITE went into the cut. */
  const sentIntoTheCut = new Set<string>();
  it('overflows HQ’s waiting calls to the branch across the WAN', async () => {
    beforeCut = await finished(await callers('shanghai', 'before', 16, 3), 'before');
    expect(beforeCut.every((c) => c.outcome === 'answered')).toBe(true);
    expect(
      beforeCut.filter((c) => phoneSite.get(c.agentPort!) === 'beijing').length,
    ).toBeGreaterThan(0);
  }, 120_000);

  it('A: a call overflowed into the cut is back in HQ’s queue within the bound and answered there; none lost', async () => {
    // D's call, healthy, outlives a keepalive each way, each answered by the other site's
    // Kamailio (its first came about 30 s after it was answered, while C and the overflow test
    // ran): the cut below then cuts a call that has shown it survives keepalives.
    const { phone, callId } = talking!;
    const keptAlive = (siteId: string) =>
      logOf(siteId).includes(`keepalive of call ${callId} from the other site answered`);
    await waitFor(
      'a keepalive of D’s call each way',
      async () => (keptAlive('shanghai') && keptAlive('beijing') ? true : undefined),
      (KEEPALIVE_INTERVAL_S + 10) * 1000,
    );
    expect(
      agentPhoneCalls(readSippLog(phone)).find((c) => c.callId === callId)?.endedAt,
    ).toBeUndefined();
    expect(await agentStatus('beijing', TALKER)).toMatchObject({
      state: AgentState.AGENT_STATE_ON_CALL,
      callId,
    });
    // Beijing idle (no call of its own spans the cut: its usual two agents idle, the third still
    // on D's call), as its last snapshot before the cut tells the router: until that is stale,
    // the router keeps choosing it for HQ's waiting calls.
    const beijing = fed.sites.get('beijing')!;
    await waitFor('Beijing idle', async () => {
      const { snapshot } = await beijing.status.getStatus({});
      const support = snapshot?.skills.find((k) => k.skill === 'support');
      return support?.agentsIdle === 2 && support.agentsStaffed === 3 && support.queued === 0
        ? true
        : undefined;
    });
    await new Promise((r) => setTimeout(r, SNAPSHOT_INTERVAL_MS + 200)); // that snapshot was sent
    await wan.cut('beijing');
    cutAt = Date.now();
    const shownUnreachable = waitFor('the live wall showing Beijing unreachable', async () =>
      wall!.firstShown('beijing', false, cutAt),
    );
    // A burst at HQ: its queue's expected wait passes the threshold within about two seconds.
    const hq = await callers('shanghai', 'cut', 16, 4);
    const branch = await callers('beijing', 'branch-cut', 6, 0.5);
    duringCut = await finished(hq, 'cut');
    const branchCalls = await finished(branch, 'branch-cut');

    // No caller lost at HQ, and none answered across the cut.
    expect(duringCut.every((c) => c.outcome === 'answered')).toBe(true);
    const ids = new Set(duringCut.map((c) => c.callId));
    const events = await callEvents((byCall) =>
      [...ids].every((id) => byCall.get(id)?.some((e) => kind(e) === 'answered')),
    );
    const byCall = groupBy(events, (e) => e.callId);
    const intoTheCut = [...ids]
      .map((id) => byCall.get(id)!)
      .filter((evs) =>
        evs.some(
          (e) =>
            kind(e) === 'overflowedOut' &&
            at(e) >= cutAt &&
            (e.kind as { value: { targetSiteId: string } }).value.targetSiteId === 'beijing',
        ),
      );
    expect(intoTheCut.length, 'an overflow INVITE was sent into the cut').toBeGreaterThan(0);
    const backMs: number[] = [];
    for (const evs of intoTheCut) sentIntoTheCut.add(evs[0]!.callId);
    for (const evs of intoTheCut) {
      const out = evs.find((e) => kind(e) === 'overflowedOut' && at(e) >= cutAt)!;
      const back = evs.find((e) => kind(e) === 'overflowRejected');
      expect(back, `call ${out.callId} came back`).toBeDefined();
      expect(back!.kind).toMatchObject({ value: { targetSiteId: 'beijing', sipCode: 408 } });
      backMs.push(at(back!) - at(out));
      expect(at(back!) - at(out)).toBeLessThanOrEqual(OVERFLOW_BOUND_MS);
      const answered = evs.find((e) => kind(e) === 'answered')!;
      expect(answered.meta!.siteId).toBe('shanghai');
    }

    // B: the live wall showed the cut site unreachable within WALL_BOUND_MS.
    const wallMs = (await shownUnreachable) - cutAt;
    expect(wallMs).toBeLessThanOrEqual(WALL_BOUND_MS);
    // ... the branch answered its own callers, with its events held in its outbox.
    expect(branchCalls.every((c) => c.outcome === 'answered')).toBe(true);
    const status = await fed.sites.get('beijing')!.status.getStatus({});
    expect(Number(status.bufferedEvents)).toBeGreaterThan(0);
    // ... and the router stopped choosing it within its staleness limit.
    const lastChoice = Math.max(
      ...events
        .filter(
          (e) =>
            kind(e) === 'overflowedOut' &&
            (e.kind as { value: { targetSiteId: string } }).value.targetSiteId === 'beijing',
        )
        .map(at),
    );
    expect(lastChoice - cutAt).toBeLessThanOrEqual(STALE_AFTER_S * 1000 + SNAPSHOT_INTERVAL_MS);
    console.info(
      `wan-partition: ${intoTheCut.length} overflow(s) into the cut, back after ${backMs.join(', ')} ms; ` +
        `last choice of the cut site ${lastChoice - cutAt} ms after the cut; ` +
        `${Number(status.bufferedEvents)} events held in its outbox; wall showed it unreachable after ${wallMs} ms`,
    );
  }, 150_000);

  it('D: the call talking across the cut ends on both sides within the bound; the agent is free again while cut', async () => {
    const { caller, phone, port, callId, answeredAt } = talking!;
    const [theCall] = await finished(caller, 'talking-cut');
    expect(theCall!.callId).toBe(callId);
    expect(theCall!.agentPort).toBe(port);
    expect(theCall!.outcome).toBe('answered');
    const { code } = await phone.exited;
    // 0: every message it got was one its scenario expects (a keepalive reaching it would not be)
    expect(code, 'the agent phone saw its one call end as a call may').toBe(0);
    const atPhone = agentPhoneCalls(readSippLog(phone)).find((c) => c.callId === callId)!;
    // the agent's phone heard BYE from its Kamailio, as from the caller
    expect(atPhone.outcome).toBe('caller-hungup');
    const callerByeMs = theCall!.endedAt! - cutAt;
    const agentByeMs = atPhone.endedAt! - cutAt;
    expect(callerByeMs).toBeLessThanOrEqual(TALKING_BOUND_S * 1000);
    expect(agentByeMs).toBeLessThanOrEqual(TALKING_BOUND_S * 1000);
    // The agent is free again, while its site is still cut off (the heal comes next).
    await waitFor('the talking agent free again', async () =>
      (await agentStatus('beijing', TALKER))?.state === AgentState.AGENT_STATE_READY
        ? true
        : undefined,
    );
    const freeMs = Date.now() - cutAt;
    // Its phone has hung up for good: no later call may be offered to it.
    await fed.sites.get('beijing')!.control.logout({ agentId: TALKER });
    console.info(
      `wan-partition: a call talking across the WAN outlived ${Math.round((cutAt - answeredAt) / 1000)} s of keepalives; ` +
        `after the cut its caller heard BYE in ${callerByeMs} ms, its agent in ${agentByeMs} ms ` +
        `(bound ${TALKING_BOUND_S} s), the agent free again after ${freeMs} ms`,
    );
    // Each side's Kamailio says why it hung up (checked last: a failure here leaves TALKER
    // logged out): the branch's, and HQ's, whose line is written before it sends its BYEs
    // (route[DIALOG_EXPIRED]), so its caller having heard one means it is there.
    expect(logOf('beijing')).toMatch(
      new RegExp(`call ${callId} ended: the other site \\(caller side\\)`),
    );
    expect(logOf('shanghai')).toMatch(
      new RegExp(`call ${callId} ended: the other site \\(callee side\\)`),
    );
  }, 120_000);

  it('heal: the branch’s outbox drains, every event is in ClickHouse once, overflow resumes', async () => {
    await wan.heal('beijing');
    const healedAt = Date.now();
    const beijing = fed.sites.get('beijing')!;
    await waitFor('the live wall showing Beijing reachable again', async () =>
      wall!.firstShown('beijing', true, healedAt),
    );
    await waitFor(
      'Beijing’s outbox drained',
      async () =>
        Number((await beijing.status.getStatus({})).bufferedEvents) === 0 ? true : undefined,
      60_000,
    );
    // D: the branch's events, held in its outbox during the cut: its call ended because the
    // other site was lost.
    const { callId } = talking!;
    const ended = (
      await callEvents((byCall) => (byCall.get(callId) ?? []).some((e) => kind(e) === 'ended'))
    ).find((e) => e.callId === callId && kind(e) === 'ended')!;
    expect(ended.meta!.siteId).toBe('beijing');
    expect(ended.kind).toMatchObject({
      value: { agentId: TALKER, endedBy: CallParty.CALL_PARTY_PEER_SITE_LOST },
    });
    const after = await finished(await callers('shanghai', 'healed', 16, 3), 'healed');
    expect(after.every((c) => c.outcome === 'answered')).toBe(true);
    expect(after.filter((c) => phoneSite.get(c.agentPort!) === 'beijing').length).toBeGreaterThan(
      0,
    );

    // Every call event produced is in ClickHouse once: the branch's held ones (its callers' calls
    // ended) have reached Kafka, the ingester has consumed everything there.
    const branchIds = new Set(
      callerCalls(readSippLog(runs.find((r) => r.logFile.endsWith('callers-branch-cut.log'))!)).map(
        (c) => c.callId,
      ),
    );
    await callEvents((byCall) =>
      [...branchIds].every((id) => byCall.get(id)?.some((e) => kind(e) === 'ended')),
    );
    await waitIngesterCaughtUp(fed.topics, group, 60_000);
    const [r] = await rows<{ n: string; uniq: string }>(
      ch,
      'SELECT count() AS n, uniqExact(event_id) AS uniq FROM call_events',
    );
    const produced = await callEvents(
      (byCall) => [...byCall.values()].reduce((n, evs) => n + evs.length, 0) >= Number(r!.n),
    );
    const eventIds = new Set(produced.map((e) => e.meta!.eventId));
    expect(Number(r!.n)).toBe(eventIds.size);
    expect(Number(r!.uniq)).toBe(eventIds.size);

    // The INVITEs sent into the cut, delivered when it healed, were refused there (too late: HQ
    // had taken their calls back), never queued: the branch has nothing else of those calls.
    const atBranch = produced.filter(
      (e) => sentIntoTheCut.has(e.callId) && e.meta!.siteId === 'beijing',
    );
    expect(atBranch.filter((e) => kind(e) !== 'contextRejected')).toEqual([]);
    console.info(
      `wan-partition: ${atBranch.length} of ${sentIntoTheCut.size} INVITEs sent into the cut reached the branch after heal, refused`,
    );
  }, 150_000);
});
