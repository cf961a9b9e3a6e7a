// Callers and agent phones of a contact center (services/sipp/caller-queue.xml, agent-phone.xml)
// through a site's real Kamailio, with the test's evapi link as a scripted site agent. What sipp
// saw of each call (its per-call log) must agree, call by call, with what Kamailio reported.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, udpPortFree, type KamailioInstance } from '@ccfed/services';
import type { EvapiLink } from '@ccfed/site-agent/kamailio/evapi-link';
import { queuedReply, type KamailioEvent } from '@ccfed/site-agent/kamailio/messages';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { uniqueName, waitFor } from '../support/engines.js';
import {
  agentPhone,
  agentPhoneCalls,
  callerCalls,
  queuedCallers,
  readSippLog,
  type LoggedSippRun,
} from '@ccfed/services';
import { openEvapiLink, startSiteKamailio } from '../support/site.js';

type Invite = Extract<KamailioEvent, { event: 'invite' }>;

interface Phone {
  readonly agent: string;
  readonly port: number;
  readonly run: LoggedSippRun;
}

const SERVICE = '400200100';

describe('callers and agent phones through a site Kamailio', () => {
  let kam: KamailioInstance;
  let link: EvapiLink;
  const events: KamailioEvent[] = [];
  let onInvite: (ev: Invite) => void = () => {};

  beforeAll(async () => {
    kam = await startSiteKamailio();
    link = await openEvapiLink(kam, (ev) => {
      events.push(ev);
      if (ev.event === 'invite') onInvite(ev);
    });
  });

  afterAll(async () => {
    await link?.stop();
    await kam?.stop();
  });

  function logFile(name: string): string {
    const dir = join(inject('runDir'), uniqueName('sipp'));
    mkdirSync(dir, { recursive: true });
    return join(dir, `${name}.log`);
  }

  /** Agent phones bj-001, bj-002, ... on free ports, listening before this returns. */
  async function phones(
    count: number,
    o: { ringMs: number; talkMeanMs: number; callsEach: number },
  ): Promise<Phone[]> {
    const started: Phone[] = [];
    for (let i = 1; i <= count; i++) {
      const agent = `bj-00${i}`;
      const port = await freePort();
      const run = agentPhone({ ...o, port, calls: o.callsEach, logFile: logFile(agent) });
      started.push({ agent, port, run });
    }
    for (const p of started)
      await waitFor(`${p.agent}'s phone listening`, async () =>
        (await udpPortFree(p.port)) ? undefined : true,
      );
    return started;
  }

  function relay(ev: Invite, phone: Phone): void {
    link.send({
      action: 'relay',
      tindex: ev.tindex,
      tlabel: ev.tlabel,
      callid: ev.callid,
      agent: phone.agent,
      uri: `sip:${phone.agent}@127.0.0.1:${phone.port}`,
    });
  }

  function queued(ev: Invite): void {
    link.send(queuedReply(ev));
  }

  async function callers(o: { calls: number; patienceMs: number }): Promise<LoggedSippRun> {
    return queuedCallers({
      proxy: kam.sip,
      service: SERVICE,
      callerPrefix: '86139000',
      rate: 10,
      port: await freePort(),
      logFile: logFile('callers'),
      ...o,
    });
  }

  async function succeeded(run: LoggedSippRun): Promise<void> {
    const r = await run.exited;
    expect(r.code, r.output.slice(-2500)).toBe(0);
  }

  /** Kamailio's events of one kind for these calls, by Call-ID. */
  function reported<E extends KamailioEvent['event']>(
    event: E,
    callIds: Iterable<string>,
  ): Map<string, Extract<KamailioEvent, { event: E }>> {
    const ids = new Set(callIds);
    const found = new Map<string, Extract<KamailioEvent, { event: E }>>();
    for (const e of events)
      if (e.event === event && 'callid' in e && e.callid && ids.has(e.callid))
        found.set(e.callid, e as Extract<KamailioEvent, { event: E }>);
    return found;
  }

  it('answers 20 callers on 2 agent phones; each agent hangs up after an exponential talk time, call by call as Kamailio saw it', async () => {
    const team = await phones(2, { ringMs: 200, talkMeanMs: 300, callsEach: 10 });
    const relayedTo = new Map<string, Phone>();
    onInvite = (ev) => {
      const phone = team[relayedTo.size % team.length]!;
      relayedTo.set(ev.callid, phone);
      relay(ev, phone);
    };
    const run = await callers({ calls: 20, patienceMs: 60_000 });
    await succeeded(run);
    for (const p of team) await succeeded(p.run);

    const calls = callerCalls(readSippLog(run));
    expect(calls).toHaveLength(20);
    for (const c of calls) {
      expect(c, c.callId).toMatchObject({
        outcome: 'answered',
        endedBy: 'agent',
        answeredLate: false,
        agentPort: relayedTo.get(c.callId)?.port,
      });
    }

    const talks: number[] = [];
    for (const p of team) {
      const taken = agentPhoneCalls(readSippLog(p.run));
      expect(taken.map((t) => t.callId).sort()).toEqual(
        calls
          .filter((c) => relayedTo.get(c.callId) === p)
          .map((c) => c.callId)
          .sort(),
      );
      for (const t of taken) expect(t.outcome, t.callId).toBe('hungup');
      talks.push(...taken.map((t) => t.talkMs!));
    }
    // drawn, not fixed: all different (and the two phones, seeded apart, do not repeat each other)
    expect(new Set(talks).size).toBe(20);
    expect(Math.min(...talks)).toBeGreaterThan(0);

    const ids = calls.map((c) => c.callId);
    const ended = await waitFor('Kamailio reporting the end of every call', async () => {
      const m = reported('ended', ids);
      return m.size === ids.length ? m : undefined;
    });
    for (const [callId, e] of ended)
      expect({ callId, by: e.by, agent: e.agent }).toEqual({
        callId,
        by: 'callee',
        agent: relayedTo.get(callId)?.agent,
      });
  });

  it('lets callers who are only ever told 182 Queued give up after their patience: CANCEL, and Kamailio reports exactly those', async () => {
    const [phone] = await phones(1, { ringMs: 100, talkMeanMs: 200, callsEach: 3 });
    const relayed = new Set<string>();
    let n = 0;
    onInvite = (ev) => {
      queued(ev);
      // every other call is taken by the agent once it has been told it is queued
      if (n++ % 2 === 0) {
        relayed.add(ev.callid);
        relay(ev, phone!);
      }
    };
    const run = await callers({ calls: 6, patienceMs: 1500 });
    await succeeded(run);
    await succeeded(phone!.run);

    const calls = callerCalls(readSippLog(run));
    expect(calls).toHaveLength(6);
    for (const c of calls) {
      expect(c.queued, c.callId).toBe(true);
      expect(c.outcome, c.callId).toBe(relayed.has(c.callId) ? 'answered' : 'abandoned');
    }
    const abandoned = calls.filter((c) => c.outcome === 'abandoned');
    for (const c of abandoned)
      expect(c.endedAt! - c.invitedAt!, c.callId).toBeGreaterThanOrEqual(1500);

    const ids = calls.map((c) => c.callId);
    const cancelled = await waitFor('Kamailio reporting the cancelled calls', async () => {
      const m = reported('cancel', ids);
      return m.size >= abandoned.length ? m : undefined;
    });
    expect([...cancelled.keys()].sort()).toEqual(abandoned.map((c) => c.callId).sort());
    expect(
      agentPhoneCalls(readSippLog(phone!.run))
        .map((t) => t.callId)
        .sort(),
    ).toEqual([...relayed].sort());
  });

  it('lets a caller give up while the agent phone rings: the phone takes the CANCEL and ends the INVITE with 487', async () => {
    const [phone] = await phones(1, { ringMs: 5000, talkMeanMs: 1000, callsEach: 2 });
    onInvite = (ev) => relay(ev, phone!);
    const run = await callers({ calls: 2, patienceMs: 800 });
    await succeeded(run);
    await succeeded(phone!.run);

    const calls = callerCalls(readSippLog(run));
    expect(calls.map((c) => c.outcome)).toEqual(['abandoned', 'abandoned']);
    const ids = calls.map((c) => c.callId);
    expect(agentPhoneCalls(readSippLog(phone!.run)).map((t) => [t.callId, t.outcome])).toEqual(
      ids.map((id) => [id, 'cancelled']),
    );

    const failed = await waitFor('Kamailio reporting the cancelled calls', async () => {
      const m = reported('failed', ids);
      return m.size === ids.length ? m : undefined;
    });
    expect([...reported('cancel', ids).keys()].sort()).toEqual([...ids].sort());
    for (const e of failed.values()) expect(e).toMatchObject({ agent: phone!.agent, code: 487 });
  });

  it('ends every call cleanly when patience runs out just as the agent answers, and sipp, the phone and Kamailio agree on each', async () => {
    // ring 100 ms, patience 104 ms: the CANCEL and the 200 cross for part of the calls, which way
    // each call goes depends on timing; what must hold is that all end and all views agree
    const [phone] = await phones(1, { ringMs: 100, talkMeanMs: 50, callsEach: 40 });
    onInvite = (ev) => relay(ev, phone!);
    const run = await callers({ calls: 40, patienceMs: 104 });
    await succeeded(run);
    await succeeded(phone!.run);

    const calls = callerCalls(readSippLog(run));
    const taken = new Map(agentPhoneCalls(readSippLog(phone!.run)).map((t) => [t.callId, t]));
    const ids = calls.map((c) => c.callId);
    const answered = calls.filter((c) => c.outcome === 'answered').map((c) => c.callId);
    const ended = await waitFor('Kamailio reporting the end of every answered call', async () => {
      const m = reported('ended', ids);
      return m.size >= answered.length ? m : undefined;
    });
    const seenAnswered = reported('answered', ids);
    const cancelled = reported('cancel', ids);
    for (const c of calls) {
      const phoneSaw = taken.get(c.callId)?.outcome;
      if (c.outcome === 'answered') {
        expect(seenAnswered.has(c.callId) && ended.has(c.callId), c.callId).toBe(true);
        expect(['hungup', 'caller-hungup'], c.callId).toContain(phoneSaw);
        if (c.answeredLate) expect(c.endedBy, c.callId).toBe('caller');
      } else {
        expect(c.outcome, c.callId).toBe('abandoned');
        expect(seenAnswered.has(c.callId), c.callId).toBe(false);
        expect(cancelled.has(c.callId), c.callId).toBe(true);
        expect(phoneSaw, c.callId).toBe('cancelled');
      }
    }
  });
});
