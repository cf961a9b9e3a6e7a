// A restart of the site agent as the call flow sees it: the previous run's state (site-state.ts,
// here through JSON as on disk) taken up by a new flow, then Kamailio's resync. tests/site/
// site-agent-restart.test.ts kills the real process under load on real Kamailio.
import { describe, expect, it } from 'vitest';
import { SALES, setup, T0 } from './call-flow-test-support.js';
import { EventStamper } from './events/event-meta.js';
import { ManualClock } from '@ccfed/common';

/** A site with bj-001 talking on c1 and c2, c3 queued behind it (c2 first); bj-004 on a break. */
function busySite() {
  const before = setup();
  before.staff('bj-001', 6001);
  before.invite('c1', SALES);
  before.ev({ event: 'answered', callid: 'c1', agent: 'bj-001', toTag: 'agent-tag' });
  before.clock.advance(1_000);
  before.invite('c2', SALES);
  before.clock.advance(1_000);
  before.invite('c3', SALES);
  before.desk.login('bj-004', 'sip:bj-004@127.0.0.1:6004');
  before.desk.notReady('bj-004', 'break');
  return before;
}

const held = (callid: string, tindex: number, tsS = T0 / 1000) =>
  ({
    event: 'invite',
    resync: true,
    tindex,
    tlabel: 9000 + tindex,
    callid,
    cseq: 1,
    fromUser: `caller-${callid}`,
    fromTag: `tag-${callid}`,
    ruriUser: SALES,
    tsS,
    tsU: 0,
    trust: 'trusted',
    peer: '',
    cc: {},
  }) as const;

describe('call flow: a restarted site agent takes up its calls', () => {
  it('keeps agents in their states and queued calls in their places, without asking anyone to log in again or publishing anything twice', () => {
    const before = busySite();
    const after = setup({ previous: before.state(), clock: before.clock });
    after.flow.linkUp();
    expect(after.last()).toEqual({ action: 'resync' });
    after.ev(held('c3', 3));
    after.ev(held('c2', 2));
    after.ev({ event: 'talking', callid: 'c1', agent: 'bj-001', toTag: 'agent-tag' });
    after.ev({ event: 'resync_done', held: 2, ringing: 0, talking: 1, missed: 0 });

    expect(after.callEvents).toEqual([]);
    expect(after.agentEvents).toEqual([]);
    expect(after.acd.agentState('bj-001')).toEqual({ name: 'on_call', callId: 'c1' });
    expect(after.acd.agentState('bj-004')).toEqual({ name: 'not_ready', reason: 'break' });
    expect(after.acd.queuedCalls('sales').map((c) => c.callId)).toEqual(['c2', 'c3']);

    // the first agent free takes the call that waited longest, under the transaction held now
    after.desk.ready('bj-004');
    expect(after.last()).toMatchObject({ action: 'relay', callid: 'c2', tindex: 2, tlabel: 9002 });
    after.ev({ event: 'ended', callid: 'c1', agent: 'bj-001', by: 'caller' });
    expect(after.kinds('c1')).toEqual(['ended']);
    expect(after.acd.agentState('bj-001').name).toBe('wrap_up');
  });

  it('resumes what a queued caller hears once Kamailio says it still holds the call: music now', async () => {
    const prompts = { fileOf: async (p: { kind: string }) => `/prompts/${p.kind}.wav` };
    const before = setup({ prompts });
    before.invite('c2', SALES);
    const after = setup({ previous: before.state(), clock: before.clock, prompts });
    after.flow.linkUp();
    after.ev(held('c2', 2));
    await new Promise((r) => setImmediate(r));
    expect(after.commands.filter((c) => c.action === 'play')).toEqual([
      expect.objectContaining({ callid: 'c2', file: '/prompts/music.wav' }),
    ]);
  });

  it('ends what ended while no site agent listened: a queued call cancelled is abandoned by its caller, a talking call ended, a queued call no longer held released', () => {
    const before = busySite();
    before.invite('c4', SALES);
    const after = setup({ previous: before.state(), clock: before.clock });
    after.flow.linkUp();
    after.ev(held('c2', 2));
    // kept in no particular order: the dialog's failure before the CANCEL that caused it
    after.ev({ event: 'failed', callid: 'c3', agent: '', code: 0, missed: true });
    after.ev({ event: 'cancel', callid: 'c3', missed: true });
    after.ev({ event: 'ended', callid: 'c1', agent: 'bj-001', by: 'caller', missed: true });
    after.ev({ event: 'resync_done', held: 1, ringing: 0, talking: 0, missed: 2 });

    expect(after.callEvents.find((e) => e.callId === 'c3')?.kind).toMatchObject({
      $case: 'abandoned',
      value: { byCaller: true },
    });
    expect(after.kinds('c1')).toEqual(['ended']);
    expect(after.callEvents.find((e) => e.callId === 'c4')?.kind).toMatchObject({
      $case: 'abandoned',
      value: { byCaller: false },
    });
    expect(after.acd.queuedCalls('sales').map((c) => c.callId)).toEqual(['c2']);
  });

  it('finishes what happened to a ringing call meanwhile: answered (now talking), or its agent failed and Kamailio holds it again', () => {
    const before = setup();
    before.staff('bj-001', 6001);
    before.staff('bj-004', 6004);
    before.invite('c1', SALES); // ringing bj-001
    before.invite('c2', SALES); // ringing bj-004
    const after = setup({ previous: before.state(), clock: before.clock });
    after.flow.linkUp();
    after.ev({ event: 'talking', callid: 'c1', agent: 'bj-001', toTag: 't1' });
    after.ev(held('c2', 7));
    after.ev({ event: 'resync_done', held: 1, ringing: 0, talking: 1, missed: 0 });
    expect(after.kinds('c1')).toEqual(['answered']);
    expect(after.acd.agentState('bj-001')).toEqual({ name: 'on_call', callId: 'c1' });
    expect(after.acd.agentState('bj-004').name).toBe('not_ready');
    expect(after.acd.queuedCalls('sales').map((c) => c.callId)).toEqual(['c2']);
  });

  it('finds a call the site state had queued ringing an agent (relayed after its last write): the agent is reserved for it, no one else gets it, its answer counts', () => {
    const before = setup();
    before.invite('c2', SALES);
    before.invite('c3', SALES);
    const after = setup({ previous: before.state(), clock: before.clock });
    after.desk.login('bj-004', 'sip:bj-004@127.0.0.1:6004');
    after.flow.linkUp();
    after.ev(held('c3', 3));
    after.ev({ event: 'ringing', callid: 'c2', agent: 'bj-001' });
    after.ev({ event: 'resync_done', held: 1, ringing: 1, talking: 0, missed: 0 });
    expect(after.acd.agentState('bj-001')).toEqual({ name: 'reserved', callId: 'c2' });
    expect(after.commands.filter((c) => c.action === 'relay')).toEqual([]);
    expect(after.kinds('c2')).toEqual([]);
    // the next agent ready gets the other call, not this one
    after.desk.ready('bj-004');
    expect(after.last()).toMatchObject({ action: 'relay', callid: 'c3' });
    after.ev({ event: 'answered', callid: 'c2', agent: 'bj-001', toTag: 't' });
    expect(after.kinds('c2')).toEqual(['answered']);
    expect(after.acd.agentState('bj-001')).toEqual({ name: 'on_call', callId: 'c2' });
  });

  it('takes back a call whose overflow the peer site refused while no site agent listened (Kamailio holds it again)', () => {
    const before = setup();
    before.invite('c1', SALES);
    before.flow.moveOut('c1', { siteId: 'guangzhou', decisionId: 'd-1' });
    const after = setup({ previous: before.state(), clock: before.clock });
    after.flow.linkUp();
    after.ev(held('c1', 5));
    after.ev({ event: 'resync_done', held: 1, ringing: 0, talking: 0, missed: 0 });
    expect(after.kinds('c1')).toEqual(['overflowRejected', 'queued']);
    expect(after.acd.queuedCalls('sales').map((c) => c.callId)).toEqual(['c1']);
  });

  it('takes an INVITE that arrived while no site agent listened as a new call, from when Kamailio received it', () => {
    const { flow, ev, callEvents, acd } = setup();
    flow.linkUp();
    ev(held('c9', 1, T0 / 1000 - 5));
    ev({ event: 'resync_done', held: 1, ringing: 0, talking: 0, missed: 0 });
    expect(callEvents[0]?.kind?.$case).toBe('offered');
    expect(acd.queuedCalls('sales')[0]).toMatchObject({ callId: 'c9', arrivalMs: T0 - 5_000 });
  });

  it('gives an event that happens once per call the same id in every run, and others fresh ones', () => {
    const clock = new ManualClock(T0);
    const a = new EventStamper({ clock, siteId: 'beijing' });
    const b = new EventStamper({ clock, siteId: 'beijing' });
    expect(a.stamp('t', '', 'c1/answered').eventId).toBe(b.stamp('t', '', 'c1/answered').eventId);
    expect(a.stamp('t', '', 'c1/answered').eventId).not.toBe(a.stamp('t', '', 'c1/ended').eventId);
    expect(a.stamp('t', '', 'c1/answered').eventId).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    expect(a.stamp('t').eventId).not.toBe(a.stamp('t').eventId);
  });
});
