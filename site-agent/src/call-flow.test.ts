import { createHmac } from 'node:crypto';
// The call flow as Kamailio drives it: evapi events in, SIP commands and Kafka events out. The
// Kamailio and Kafka sides are recorded here; tests/site/ runs the same flow on real Kamailio,
// sipp and Kafka.
import { AgentState, ComplaintSeverity } from '@ccfed/proto';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { UnknownAgentError } from './acd/acd.js';
import { IllegalTransitionError } from './acd/agent-state.js';
import { SALES, setup, SHANGHAI, T0 } from './call-flow-test-support.js';
import { InvalidRequestError } from './desk.js';
import { CallTracing } from './telemetry.js';
import { WrapUpError } from './wrap-up-desk.js';

describe('call flow: offering calls', () => {
  it('relays a call straight to the best idle agent of its skill, at the phone the agent logged in from', () => {
    const { invite, staff, last, kinds, acd } = setup();
    staff('bj-004', 6004); // sales 6
    staff('bj-001', 6001); // sales 8
    invite('c1', SALES);
    expect(last()).toMatchObject({
      action: 'relay',
      tindex: 1,
      tlabel: 1001,
      callid: 'c1',
      agent: 'bj-001',
      uri: 'sip:bj-001@127.0.0.1:6001',
    });
    expect(kinds('c1')).toEqual(['offered']);
    expect(acd.agentState('bj-001')).toEqual({ name: 'reserved', callId: 'c1' });
  });

  it('queues a call with 182 Queued and its EWT, then relays it when an agent becomes ready', () => {
    const { invite, staff, commands, kinds, callEvents } = setup();
    invite('c1', SALES, { Tier: 'gold' });
    expect(commands).toEqual([
      expect.objectContaining({
        action: 'provisional',
        mode: 'callid',
        callid: 'c1',
        cseq: 1,
        code: 182,
      }),
    ]);
    const queued = callEvents.find((e) => e.kind?.$case === 'queued')!;
    expect(queued.kind).toMatchObject({ value: { skill: 'sales', position: 1 } });
    staff('bj-001', 6001);
    expect(commands.at(-1)).toMatchObject({
      action: 'relay',
      callid: 'c1',
      tindex: 1,
      agent: 'bj-001',
    });
    expect(kinds('c1')).toEqual(['offered', 'queued']);
  });

  it('answers a number the federation does not serve with 404 and records nothing', () => {
    const { invite, last, callEvents } = setup();
    invite('c1', '999');
    expect(last()).toMatchObject({ action: 'reply', code: 404, tindex: 1, tlabel: 1001 });
    expect(callEvents).toEqual([]);
  });

  it('sends a call asking for an unknown skill to the default skill and keeps what was asked', () => {
    const { invite, callEvents } = setup();
    invite('c1', SALES, { Skill: 'fraud' });
    expect(callEvents[0]!.kind).toMatchObject({
      $case: 'offered',
      value: { skill: 'support', requestedSkill: 'fraud' },
    });
  });

  it('refuses a second INVITE with a Call-ID already in progress (482), keeping the first', () => {
    const { invite, last, kinds } = setup();
    invite('c1', SALES);
    invite('c1', SALES);
    expect(last()).toMatchObject({ action: 'reply', code: 482, tindex: 2 });
    expect(kinds('c1')).toEqual(['offered', 'queued']);
  });
});

describe('call flow: the life of a call', () => {
  it('answered, ended by the caller: the agent goes to wrap-up and the events tell the story', () => {
    const { invite, staff, ev, kinds, clock, acd, callEvents, agentEvents } = setup();
    staff('bj-001', 6001);
    clock.advance(1000);
    invite('c1', SALES);
    clock.advance(3000);
    ev({ event: 'answered', callid: 'c1', agent: 'bj-001' });
    clock.advance(60_000);
    ev({ event: 'ended', callid: 'c1', agent: 'bj-001', by: 'caller' });
    expect(kinds('c1')).toEqual(['offered', 'answered', 'ended']);
    expect(callEvents[1]!.kind).toMatchObject({
      value: { agentId: 'bj-001', waitMs: 3000, serviceLevelThresholdMs: 20_000 },
    });
    expect(callEvents[2]!.kind).toMatchObject({ value: { talkMs: 60_000, endedBy: 1 } });
    expect(acd.agentState('bj-001').name).toBe('wrap_up');
    expect(agentEvents.map((e) => e.toState)).toEqual([
      AgentState.AGENT_STATE_NOT_READY,
      AgentState.AGENT_STATE_READY,
      AgentState.AGENT_STATE_RESERVED,
      AgentState.AGENT_STATE_ON_CALL,
      AgentState.AGENT_STATE_WRAP_UP,
    ]);
    expect(agentEvents.slice(2).every((e) => e.callId === 'c1')).toBe(true);
    // Each event closes one interval in the state it leaves: on call from the answer to the BYE.
    const leftCall = agentEvents.find((e) => e.fromState === AgentState.AGENT_STATE_ON_CALL)!;
    expect(leftCall.meta!.eventTime!.getTime() - leftCall.fromStateSince!.getTime()).toBe(60_000);
  });

  it('the agent submits its wrap-up: it ends at once, the event carries what it recorded, the agent is ready', () => {
    const { invite, staff, ev, kinds, clock, acd, flow, callEvents } = setup();
    staff('bj-001', 6001);
    invite('c1', SALES);
    ev({ event: 'answered', callid: 'c1', agent: 'bj-001' });
    clock.advance(30_000);
    ev({ event: 'ended', callid: 'c1', agent: 'bj-001', by: 'caller' });
    const record = {
      disposition: 'resolved',
      resolvedFirstContact: true,
      complaintSeverity: ComplaintSeverity.COMPLAINT_SEVERITY_MINOR,
      note: 'fee explained',
    };
    // Another agent, or another call, is not this agent's wrap-up.
    expect(() => flow.completeWrapUp('bj-002', 'c1', record)).toThrow(WrapUpError);
    expect(() => flow.completeWrapUp('bj-001', 'c2', record)).toThrow(WrapUpError);
    clock.advance(2_000);
    flow.completeWrapUp('bj-001', 'c1', record);
    expect(kinds('c1')).toEqual(['offered', 'answered', 'ended', 'wrapUpDone']);
    expect(callEvents.at(-1)!.kind).toEqual({
      $case: 'wrapUpDone',
      value: { agentId: 'bj-001', wrapUpMs: 2_000, recordedByAgent: true, ...record },
    });
    expect(acd.agentState('bj-001').name).toBe('ready');
    // Once over, it cannot be submitted again.
    expect(() => flow.completeWrapUp('bj-001', 'c1', record)).toThrow(WrapUpError);
  });

  it('a caller who hangs up while queued is an abandon, by the caller, with the time waited', () => {
    const { invite, ev, kinds, clock, callEvents, desk } = setup();
    invite('c1', SALES);
    clock.advance(7000);
    ev({ event: 'cancel', callid: 'c1' });
    expect(kinds('c1')).toEqual(['offered', 'queued', 'abandoned']);
    expect(callEvents.at(-1)!.kind).toMatchObject({
      value: {
        waitMs: 7000,
        byCaller: true,
        serviceLevelThresholdMs: 20_000,
        shortAbandonMs: 5000,
      },
    });
    expect(desk.queues().find((q) => q.skill === 'sales')!.calls).toEqual([]);
  });

  it('a CANCEL crossing the agent’s 200 OK: the call goes on as answered', () => {
    const { invite, staff, ev, kinds, acd } = setup();
    staff('bj-001', 6001);
    invite('c1', SALES);
    ev({ event: 'cancel', callid: 'c1' });
    ev({ event: 'answered', callid: 'c1', agent: 'bj-001' });
    expect(kinds('c1')).toEqual(['offered', 'answered']);
    expect(acd.agentState('bj-001').name).toBe('on_call');
  });

  it('a CANCEL while ringing that wins: abandoned by the caller, the agent ready again', () => {
    const { invite, staff, ev, kinds, acd, callEvents } = setup();
    staff('bj-001', 6001);
    invite('c1', SALES);
    ev({ event: 'cancel', callid: 'c1' });
    ev({ event: 'failed', callid: 'c1', agent: 'bj-001', code: 487 });
    expect(kinds('c1')).toEqual(['offered', 'abandoned']);
    expect(callEvents.at(-1)!.kind).toMatchObject({ value: { byCaller: true } });
    expect(acd.agentState('bj-001').name).toBe('ready');
  });

  it('an agent who does not answer goes not-ready (rona) and the call rings the next agent', () => {
    const { invite, staff, ev, commands, acd } = setup();
    staff('bj-001', 6001);
    staff('bj-004', 6004);
    invite('c1', SALES);
    ev({
      event: 'agent_failed',
      callid: 'c1',
      agent: 'bj-001',
      code: 408,
      tindex: 9,
      tlabel: 99,
      requeued: true,
    });
    expect(acd.agentState('bj-001')).toEqual({ name: 'not_ready', reason: 'rona' });
    expect(commands.at(-1)).toMatchObject({
      action: 'relay',
      agent: 'bj-004',
      tindex: 9,
      tlabel: 99,
    });
  });

  it('Kamailio queue timeout: the call leaves unanswered, not by the caller', () => {
    const { invite, ev, callEvents } = setup();
    invite('c1', SALES);
    ev({ event: 'queue_timeout', callid: 'c1', tindex: 1, tlabel: 1001 });
    expect(callEvents.at(-1)!.kind).toMatchObject({
      $case: 'abandoned',
      value: { byCaller: false },
    });
  });

  it('when the evapi link drops, calls wait for the resync: a queued call Kamailio no longer holds is released then (it got the fallback), calls with agents stay', () => {
    const { invite, staff, flow, kinds, acd, ev, last } = setup();
    staff('bj-001', 6001);
    invite('c1', SALES); // ringing bj-001
    invite('c2', SALES); // queued
    flow.linkLost();
    expect(kinds('c2')).toEqual(['offered', 'queued']);
    flow.linkUp();
    expect(last()).toEqual({ action: 'resync' });
    ev({ event: 'resync_done', held: 0, ringing: 0, talking: 0, missed: 0 });
    expect(kinds('c2')).toEqual(['offered', 'queued', 'abandoned']);
    expect(kinds('c1')).toEqual(['offered']);
    expect(acd.agentState('bj-001').name).toBe('reserved');
    expect(flow.activeCalls).toBe(1);
  });

  it('ignores events for calls it does not know (late duplicates) without changing anything', () => {
    const { ev, callEvents, agentEvents } = setup();
    ev({ event: 'answered', callid: 'nope', agent: 'bj-001' });
    ev({ event: 'ended', callid: 'nope', agent: 'bj-001', by: 'caller' });
    ev({ event: 'cancel', callid: 'nope' });
    expect(callEvents).toEqual([]);
    expect(agentEvents).toEqual([]);
  });
});

describe('call flow: the agents’ desk', () => {
  it('refuses a login without a usable SIP contact, or for an agent of another site, changing nothing', () => {
    const { desk, agentEvents } = setup();
    expect(() => desk.login('bj-001', 'http://example.com')).toThrow(InvalidRequestError);
    expect(() => desk.login('bj-001', '')).toThrow(/not a sip: URI/);
    expect(() => desk.login('bj-001', `sip:${'a'.repeat(300)}@h`)).toThrow(InvalidRequestError);
    expect(() => desk.login('sh-001', 'sip:sh-001@127.0.0.1:5000')).toThrow(UnknownAgentError);
    expect(agentEvents).toEqual([]);
    expect(desk.agents().find((a) => a.agentId === 'bj-001')!.state.name).toBe('logged_out');
  });

  it('rejects an illegal transition with the state machine’s reason', () => {
    const { desk, staff, invite } = setup();
    expect(() => desk.ready('bj-001')).toThrow(IllegalTransitionError);
    staff('bj-001', 6001);
    invite('c1', SALES);
    expect(() => desk.logout('bj-001')).toThrow(/cannot logout while reserved/);
  });

  it('lists agents by skill with state, contact and since, and queues in service order', () => {
    const { desk, staff, invite, clock } = setup();
    staff('bj-002', 6002);
    clock.advance(500);
    const support = desk.agents('support').map((a) => a.agentId);
    expect(support).toEqual(['bj-001', 'bj-002', 'bj-003', 'bj-005', 'bj-006']);
    const bj2 = desk.agents().find((a) => a.agentId === 'bj-002')!;
    expect(bj2).toMatchObject({ contactUri: 'sip:bj-002@127.0.0.1:6002', sinceMs: T0 });
    invite('c1', SALES);
    invite('c2', SALES, { Tier: 'vip' });
    expect(
      desk
        .queues()
        .find((q) => q.skill === 'sales')!
        .calls.map((c) => c.callId),
    ).toEqual(['c2', 'c1']);
    expect(() => desk.agents('fraud')).toThrow(/unknown skill "fraud"/);
  });
});

describe('call flow: overflow between sites', () => {
  const fromShanghai = (over: Record<string, string> = {}) => ({
    'Origin-Site': 'shanghai',
    Arrival: String(T0 - 40_000),
    Hops: '1',
    Tier: 'gold',
    Decision: 'd-1',
    ...over,
  });

  it('takes a call another site sent at its original arrival time, when it can serve it in time', () => {
    const { invite, staff, kinds, callEvents, last } = setup();
    staff('bj-001', 6001);
    invite('c1', SALES, fromShanghai(), SHANGHAI);
    expect(last()).toMatchObject({ action: 'relay', agent: 'bj-001' });
    expect(kinds('c1')).toEqual(['offered', 'overflowedIn']);
    expect(callEvents[1]!.kind).toMatchObject({
      value: { originSiteId: 'shanghai', hopCount: 1, decisionId: 'd-1' },
    });
    // The offer itself names the origin and the decision: the screen pop reads it alone.
    expect(callEvents[0]!.kind).toMatchObject({
      value: {
        arrivalTime: new Date(T0 - 40_000),
        overflowOriginSiteId: 'shanghai',
        overflowDecisionId: 'd-1',
      },
    });
  });

  it('records a keyed caller hash, never the number, and none at all without a key', () => {
    const keyed = setup({ callerHashKey: 'federation-secret-key' });
    keyed.invite('c1', SALES);
    const hash = (keyed.callEvents[0]!.kind as { value: { callerHash: string } }).value.callerHash;
    expect(hash).toBe(
      createHmac('sha256', 'federation-secret-key').update('caller-c1').digest('hex').slice(0, 32),
    );
    const unkeyed = setup();
    unkeyed.invite('c1', SALES);
    expect(unkeyed.callEvents[0]!.kind).toMatchObject({ value: { callerHash: '' } });
  });

  it('names the caller on every event of the call, so an outcome alone says whose contact it was', () => {
    const { invite, staff, ev, callEvents, clock } = setup({
      callerHashKey: 'federation-secret-key',
    });
    staff('bj-001', 6001);
    invite('c1', SALES, { Customer: 'cust-42' });
    clock.advance(5_000);
    ev({ event: 'answered', callid: 'c1', agent: 'bj-001' });
    ev({ event: 'ended', callid: 'c1', agent: 'bj-001', by: 'caller' });
    const hash = createHmac('sha256', 'federation-secret-key')
      .update('caller-c1')
      .digest('hex')
      .slice(0, 32);
    expect(callEvents.map((e) => e.kind?.$case)).toEqual(['offered', 'answered', 'ended']);
    for (const e of callEvents)
      expect(e).toMatchObject({
        customerId: 'cust-42',
        callerHash: hash,
        arrivalTime: new Date(T0),
      });
  });

  it('refuses (503) every call another site sends while drained, and still serves its own callers', () => {
    const { invite, staff, last, callEvents, kinds } = setup({ drained: true });
    staff('bj-001', 6001);
    invite('c1', SALES, fromShanghai(), SHANGHAI);
    expect(last()).toMatchObject({ action: 'reply', code: 503, reason: 'Site Drained' });
    expect(callEvents).toEqual([]);
    invite('c2', SALES);
    expect(last()).toMatchObject({ action: 'relay', agent: 'bj-001' });
    expect(kinds('c2')).toEqual(['offered']);
  });

  it('refuses (486) a call another site sent when no agent of its tenant is staffed here', () => {
    const { invite, last, callEvents } = setup();
    invite('c1', SALES, fromShanghai(), SHANGHAI);
    expect(last()).toMatchObject({ action: 'reply', code: 486 });
    expect(callEvents).toEqual([]);
  });

  it('moves a waiting call out with its context in X-CC-* headers, and forgets it once answered there', () => {
    const { invite, flow, last, kinds, ev, acd } = setup();
    invite('c1', SALES, { Tier: 'vip', Customer: 'cust-9' });
    expect(flow.waitingCalls().map((c) => c.callId)).toEqual(['c1']);
    expect(flow.moveOut('c1', { siteId: 'guangzhou', decisionId: 'd-7' })).toBe(true);
    const relay = last();
    expect(relay).toMatchObject({
      action: 'relay',
      callid: 'c1',
      agent: 'overflow:guangzhou',
      // Beijing and Guangzhou have a TLS peer link in the example topology.
      uri: 'sip:400200100@127.0.0.1:5081;transport=tls',
      peer: 'guangzhou',
    });
    // Only what Kamailio reads goes over evapi.
    expect(Object.keys(relay).sort()).toEqual([
      'action',
      'agent',
      'callid',
      'hdrs',
      'peer',
      'ringMs',
      'tindex',
      'tlabel',
      'tsS',
      'tsU',
      'uri',
    ]);
    const hdrs = relay.action === 'relay' ? relay.hdrs : '';
    expect(hdrs).toContain('X-CC-Origin-Site: beijing\r\n');
    expect(hdrs).toContain('X-CC-Tier: vip\r\n');
    expect(hdrs).toContain('X-CC-Customer: cust-9\r\n');
    expect(hdrs).toContain(`X-CC-Arrival: ${T0}\r\n`);
    expect(hdrs).toContain('X-CC-Hops: 1\r\n');
    expect(hdrs).toContain('X-CC-Decision: d-7\r\n');
    expect(hdrs).toMatch(new RegExp(`X-CC-Signature: v1;t=${T0};s=[A-Za-z0-9_-]{43}\r\n`));
    expect(kinds('c1')).toEqual(['offered', 'queued', 'overflowedOut']);
    expect(acd.queuedCalls('sales')).toEqual([]);
    expect(flow.waitingCalls()).toEqual([]);
    // A second move of the same call is refused.
    expect(flow.moveOut('c1', { siteId: 'shanghai', decisionId: 'd-8' })).toBe(false);
    ev({ event: 'answered', callid: 'c1', agent: 'overflow:guangzhou' });
    expect(flow.activeCalls).toBe(0);
  });

  it('puts a call the target refused back at its original place, and never asks to move it again', () => {
    const { invite, flow, desk, ev, kinds, clock, callEvents, staff, commands } = setup();
    invite('c1', SALES);
    clock.advance(1000);
    invite('c2', SALES);
    flow.moveOut('c1', { siteId: 'guangzhou', decisionId: 'd-7' });
    ev({
      event: 'agent_failed',
      callid: 'c1',
      agent: 'overflow:guangzhou',
      code: 486,
      tindex: 50,
      tlabel: 500,
      requeued: true,
    });
    expect(kinds('c1')).toEqual([
      'offered',
      'queued',
      'overflowedOut',
      'overflowRejected',
      'queued',
    ]);
    expect(callEvents.find((e) => e.kind?.$case === 'overflowRejected')!.kind).toMatchObject({
      value: { targetSiteId: 'guangzhou', sipCode: 486 },
    });
    expect(
      desk
        .queues()
        .find((q) => q.skill === 'sales')!
        .calls.map((c) => c.callId),
    ).toEqual(['c1', 'c2']);
    expect(flow.waitingCalls().find((c) => c.callId === 'c1')?.hops).toBe(1);
    staff('bj-001', 6001);
    expect(commands.at(-1)).toMatchObject({
      action: 'relay',
      callid: 'c1',
      tindex: 50,
      tlabel: 500,
    });
  });

  it('leaves a moved call alone when the evapi link drops or the caller hangs up (the target records it)', () => {
    const { invite, flow, ev, kinds } = setup();
    invite('c1', SALES);
    invite('c2', SALES);
    flow.moveOut('c1', { siteId: 'guangzhou', decisionId: 'd-7' });
    flow.linkLost();
    flow.linkUp();
    ev({ event: 'resync_done', held: 0, ringing: 0, talking: 0, missed: 0 });
    expect(kinds('c1')).toEqual(['offered', 'queued', 'overflowedOut']);
    ev({ event: 'cancel', callid: 'c1' });
    expect(kinds('c1')).toEqual(['offered', 'queued', 'overflowedOut']);
    expect(flow.activeCalls).toBe(0);
  });
});

describe('call flow: one span per call, whose trace the call carries', () => {
  const PARENT_TRACE = '0af7651916cd43dd8448eb211c80319c';
  const PARENT = `00-${PARENT_TRACE}-b7ad6b7169203331-01`;
  const fromShanghai = {
    'Origin-Site': 'shanghai',
    Arrival: String(T0 - 1_000),
    Hops: '1',
    Decision: 'd-1',
    Traceparent: PARENT,
  };
  const traced = () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    const t = setup({ tracing: new CallTracing('beijing', provider.getTracer('test')) });
    return { ...t, ended: () => exporter.getFinishedSpans() };
  };
  const traceparentOf = (span: ReadableSpan) =>
    `00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`;

  it('joins the trace of a call another site sent, and ends when the call ends here', () => {
    const { invite, staff, ev, ended, callEvents } = traced();
    staff('bj-001', 6001);
    invite('c1', SALES, fromShanghai, SHANGHAI);
    ev({ event: 'answered', callid: 'c1', agent: 'bj-001' });
    expect(ended()).toEqual([]);
    ev({ event: 'ended', callid: 'c1', agent: 'bj-001', by: 'caller' });
    const [span, ...others] = ended();
    expect(others).toEqual([]);
    expect(span!.name).toBe('call');
    expect(span!.spanContext().traceId).toBe(PARENT_TRACE);
    expect(span!.parentSpanContext?.spanId).toBe('b7ad6b7169203331');
    expect(span!.attributes).toMatchObject({
      'ccfed.call.id': 'c1',
      'ccfed.site': 'beijing',
      'ccfed.origin_site': 'shanghai',
      'ccfed.call.outcome': 'answered',
    });
    // Every event of the call names this site's span, not the origin's.
    const calls = callEvents.filter((e) => e.callId === 'c1');
    expect(calls.length).toBeGreaterThan(2);
    for (const e of calls) expect(e.meta?.trace?.traceparent).toBe(traceparentOf(span!));
  });

  it('starts a trace for a call from a phone and hands it to the router and the target site', () => {
    const { invite, flow, ev, ended, last } = traced();
    invite('c1', SALES);
    const [waiting] = flow.waitingCalls();
    expect(waiting!.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    flow.moveOut('c1', { siteId: 'guangzhou', decisionId: 'd-7' });
    const relay = last();
    expect(relay.action === 'relay' && relay.hdrs).toContain(
      `X-CC-Traceparent: ${waiting!.traceparent}\r\n`,
    );
    ev({ event: 'answered', callid: 'c1', agent: 'overflow:guangzhou' });
    const [span] = ended();
    expect(span!.parentSpanContext).toBeUndefined();
    expect(traceparentOf(span!)).toBe(waiting!.traceparent);
    expect(span!.attributes['ccfed.call.outcome']).toBe('overflowed');
  });

  it('ends the span of a call it refuses at once, and of an abandoned call when the caller hangs up', () => {
    const { invite, ev, ended } = traced();
    invite('c1', SALES, fromShanghai, SHANGHAI); // nobody staffed here: 486
    invite('c2', SALES);
    ev({ event: 'cancel', callid: 'c2' });
    expect(ended().map((s) => s.attributes['ccfed.call.outcome'])).toEqual([
      'refused',
      'abandoned',
    ]);
  });

  it('passes an incoming trace on unchanged while telemetry is off', () => {
    const { invite, staff, callEvents } = setup();
    staff('bj-001', 6001);
    invite('c1', SALES, fromShanghai, SHANGHAI);
    expect(callEvents.map((e) => e.meta?.trace?.traceparent)).toEqual([PARENT, PARENT]);
  });
});
