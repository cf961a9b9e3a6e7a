// The site agent is killed (SIGKILL) under load and started again, as its supervisor would
// (systemd's Restart=always, Kubernetes' container restart): Kamailio keeps the suspended INVITEs
// for its restart grace, the new process takes up its agents and calls from its site state and
// Kamailio's resync, and no call is lost or answered twice; a caller who gives up meanwhile is
// abandoned once (docs/operations.md, "Site agent restart"). Everything real: Kamailio, rtpengine, the site agent process, Kafka, sipp phones and
// callers. Budget: 75 s.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AgentEvent, AgentState, CallEvent } from '@ccfed/proto';
import { DEFAULT_TUNING, freePort, queuedCallers, sipp, type SippRun } from '@ccfed/services';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { groupBy, readTopics, uniqueName, waitFor } from '../support/engines.js';
import { startSite, type RunningSite } from '../support/running-site.js';

const SALES = '400200100';
const AGENTS = ['bj-001', 'bj-004'] as const;

describe('a site agent killed under load and restarted', () => {
  let site: RunningSite;
  const runs: SippRun[] = [];

  beforeAll(async () => {
    site = await startSite({
      // The production default is 10 s; a restart under tsx on this shared 2-core machine has
      // taken up to 7 s, so the test gives it room: what it proves is the take-up, not the length.
      tuning: { ...DEFAULT_TUNING, restartGraceMs: 20_000 },
      // a short wrap-up keeps the queued calls' turns within the test's budget
      mutate: (doc) => {
        for (const skill of doc.skills) if (skill.id === 'sales') skill.wrapUpSeconds = 1;
      },
    });
  });

  afterAll(async () => {
    for (const run of runs) await run.stop();
    await site?.stop();
  });

  const caller = async (prefix: string, talkMs: number, calls = 1, rate = 1) => {
    const run = sipp('caller.xml', [
      `${site.kamailio.sip.host}:${site.kamailio.sip.port}`,
      ...['-p', String(await freePort()), '-s', SALES, '-key', 'caller', prefix],
      ...['-r', String(rate), '-m', String(calls), '-d', String(talkMs), '-timeout', '60s'],
    ]);
    runs.push(run);
    return run;
  };
  const agentsOnCall = async () =>
    (await site.control.listAgents({ skill: 'sales' })).agents.filter((a) => a.callId !== '');
  const salesQueue = async () =>
    (await site.control.listQueues({})).queues.find((q) => q.skill === 'sales')?.calls ?? [];

  it('keeps talking calls talking, queued calls in their places and agents in their states; every call answered once and ended once', async () => {
    const phonePort = await freePort();
    for (const agentId of AGENTS) {
      await site.control.login({ agentId, contactUri: `sip:${agentId}@127.0.0.1:${phonePort}` });
      await site.control.setReady({ agentId });
    }
    // the agents' phones answer the 2 talking and the 3 queued calls, and wait for the caller's BYE
    const phones = sipp('agent.xml', ['-p', String(phonePort), '-m', '5', '-timeout', '70s']);
    runs.push(phones);
    // two calls talking: one ends about when the site agent is away, the other well after
    const shortTalk = await caller('8613701', 6_000);
    await waitFor('one agent on a call', async () =>
      (await agentsOnCall()).length === 1 ? true : undefined,
    );
    const longTalk = await caller('8613702', 16_000);
    await waitFor('both agents on a call', async () =>
      (await agentsOnCall()).length === 2 ? true : undefined,
    );
    // three callers queued behind them, a second apart
    const waiting = await caller('8613703', 2_000, 3, 1);
    await waitFor('three calls queued', async () =>
      (await salesQueue()).length === 3 ? true : undefined,
    );
    // and one who gives up 2.5 s after calling: most likely while the site agent is away, when
    // Kamailio keeps the CANCEL for it (either way the call is abandoned by its caller, once)
    const impatient = queuedCallers({
      proxy: site.kamailio.sip,
      service: SALES,
      callerPrefix: '8613704',
      patienceMs: 2_500,
      calls: 1,
      port: await freePort(),
      logFile: join(inject('runDir'), uniqueName('impatient-caller')),
      timeout: '60s',
    });
    runs.push(impatient);
    const queuedBefore = await waitFor('four calls queued', async () => {
      const q = await salesQueue();
      return q.length === 4 ? q : undefined;
    });
    const agentsBefore = await agentsOnCall();

    await site.agentProcess.kill();
    const killedAt = Date.now();
    await site.restartAgent();
    const resynced = await waitFor('the restarted site agent resynced with Kamailio', async () => {
      const line = readFileSync(site.agentProcess.logFile, 'utf8')
        .split('\n')
        .find((l) => l.includes('"event":"resync_done"'));
      return line
        ? (JSON.parse(line) as { time: number; held: number; talking: number; missed: number })
        : undefined;
    });
    // Logged, not asserted: how long the site was without its agent, and what Kamailio held.
    console.log(
      `site agent restart: ${resynced.time - killedAt} ms from SIGKILL to resynced; ` +
        `Kamailio held ${resynced.held} queued and ${resynced.talking} talking calls and kept ` +
        `${resynced.missed} event(s) of calls that ended meanwhile`,
    );

    // The agents did not log in again: the long call's agent (the later one on a call) is still
    // on it, in the state it entered before the kill.
    const longBefore = agentsBefore.reduce((a, b) =>
      a.stateSince!.getTime() > b.stateSince!.getTime() ? a : b,
    );
    const longAfter = (await site.control.listAgents({ skill: 'sales' })).agents.find(
      (a) => a.agentId === longBefore.agentId,
    );
    expect(longAfter).toMatchObject({
      state: AgentState.AGENT_STATE_ON_CALL,
      callId: longBefore.callId,
      stateSince: longBefore.stateSince,
    });
    // The queued calls kept their places and arrival times: the queue is as it was, less calls an
    // agent took since (from its head) and the caller who gave up (the last to come).
    const abandonedId = queuedBefore.at(-1)!.callId;
    const queuedIds = queuedBefore.slice(0, -1).map((c) => c.callId);
    const place = (c: { callId: string; arrivalTime?: Date }) => [
      c.callId,
      c.arrivalTime?.getTime(),
    ];
    const queuedAfter = (await salesQueue()).filter((c) => c.callId !== abandonedId);
    expect(queuedAfter.map(place)).toEqual(
      queuedBefore.slice(3 - queuedAfter.length, 3).map(place),
    );

    // Every caller's call ended normally by its own BYE: sipp exits 0 only then.
    for (const [name, run] of Object.entries({ shortTalk, longTalk, waiting, impatient, phones })) {
      const { code, output } = await run.exited;
      expect(code, `${name}: ${output.slice(-1500)}`).toBe(0);
    }

    // What the site published: each call answered once and ended once (by event id: the outbox
    // delivers at least once), by one agent; the queued ones answered in their arrival order.
    type Read = { readonly call: CallEvent } | { readonly agent: AgentEvent };
    const settled = (seen: readonly Read[]) => {
      const calls = groupBy(
        seen.flatMap((r) => ('call' in r ? [r.call] : [])),
        (e) => e.callId,
      );
      return (
        calls.size === 6 &&
        [...calls.values()].every((evs) =>
          evs.some((e) => e.kind?.$case === 'wrapUpDone' || e.kind?.$case === 'abandoned'),
        )
      );
    };
    const read = await readTopics<Read>({
      topics: [site.topics.callEvents, site.topics.agentEvents],
      decode: (b, topic) =>
        topic === site.topics.agentEvents
          ? { agent: AgentEvent.decode(b) }
          : { call: CallEvent.decode(b) },
      until: settled,
      timeoutMs: 30_000,
    });
    const byCall = groupBy(
      read.flatMap((r) => ('call' in r ? [r.call] : [])),
      (e) => e.callId,
    );
    const once = (evs: readonly CallEvent[], kind: string) =>
      new Set(evs.filter((e) => e.kind?.$case === kind).map((e) => e.meta!.eventId));
    let duplicates = 0;
    for (const [callId, evs] of byCall) {
      const gaveUp = callId === abandonedId;
      expect(once(evs, 'answered').size, `${callId} answered`).toBe(gaveUp ? 0 : 1);
      expect(once(evs, 'ended').size, `${callId} ended`).toBe(gaveUp ? 0 : 1);
      expect(once(evs, 'abandoned').size, `${callId} abandoned`).toBe(gaveUp ? 1 : 0);
      duplicates += evs.length - new Set(evs.map((e) => e.meta!.eventId)).size;
    }
    expect(byCall.get(abandonedId)!.find((e) => e.kind?.$case === 'abandoned')!.kind).toMatchObject(
      { value: { byCaller: true } },
    );
    const answerOf = (evs: readonly CallEvent[]) => evs.find((e) => e.kind?.$case === 'answered')!;
    const answeredOrder = [...queuedIds].sort(
      (a, b) =>
        answerOf(byCall.get(a)!).meta!.eventTime!.getTime() -
        answerOf(byCall.get(b)!).meta!.eventTime!.getTime(),
    );
    expect(answeredOrder).toEqual(queuedIds);
    // Nobody was asked to log in again: one login per agent, from before the restart.
    const logins = read.filter(
      (r) => 'agent' in r && r.agent.fromState === AgentState.AGENT_STATE_LOGGED_OUT,
    );
    expect(logins.length).toBe(AGENTS.length);

    // Kamailio relayed each call to an agent once: no call was offered to a second agent.
    const relays = readFileSync(site.kamailio.handle.logFile, 'utf8')
      .split('\n')
      .filter((l) => l.includes('action=relay'));
    for (const callId of byCall.keys())
      expect(relays.filter((l) => l.includes(callId)).length, `${callId} relays`).toBe(
        callId === abandonedId ? 0 : 1,
      );
    const count = (kind: string) =>
      [...byCall.values()].filter((evs) => once(evs, kind).size === 1).length;
    console.log(
      `calls through the restart: ${byCall.size}; ${count('answered')} answered once, ` +
        `${count('abandoned')} abandoned by its caller, 0 answered twice; ` +
        `${duplicates} event(s) delivered twice under one id`,
    );
  }, 75_000);
});
