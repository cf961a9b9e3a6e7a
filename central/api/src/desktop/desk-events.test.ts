import { AgentEvent, AgentState, CallEvent, CustomerTier, routing } from '@ccfed/proto';
import { describe, expect, it } from 'vitest';
import { DeskEvents } from './desk-events.js';

const T0 = Date.parse('2026-12-01T10:00:00Z');
const meta = (siteId: string, at: number) => ({
  eventId: `e-${at}`,
  tenantId: 'acme-bank',
  siteId,
  eventTime: new Date(T0 + at),
  trace: undefined,
  producerSequence: 0,
});
const agentEvent = (agentId: string, to: AgentState, at: number, callId = '') =>
  AgentEvent.fromPartial({ meta: meta('beijing', at), agentId, toState: to, callId });
const offered = (siteId: string, at: number, over: Record<string, string> = {}) =>
  CallEvent.fromPartial({
    meta: meta(siteId, at),
    callId: 'c1',
    skill: 'support',
    tier: CustomerTier.CUSTOMER_TIER_GOLD,
    customerId: 'cust-7',
    arrivalTime: new Date(T0 - 30_000),
    kind: { $case: 'offered', value: { skill: 'support', ...over } },
  });

describe('DeskEvents', () => {
  it('pops the offer when the agent is reserved, with the call’s context', () => {
    const desk = new DeskEvents();
    expect(desk.applyCallEvent(offered('beijing', 0))).toEqual([]);
    const pushes = desk.applyAgentEvent(
      agentEvent('bj-001', AgentState.AGENT_STATE_RESERVED, 50, 'c1'),
    );
    expect(pushes.map((p) => p.kind)).toEqual(['state', 'offer']);
    expect(pushes[1]).toMatchObject({
      kind: 'offer',
      offer: {
        agentId: 'bj-001',
        reservedAtMs: T0 + 50,
        call: { callId: 'c1', customerId: 'cust-7', tier: 'gold', arrivalMs: T0 - 30_000 },
      },
    });
  });

  it('waits for the call’s events when the reservation is read first', () => {
    const desk = new DeskEvents();
    const first = desk.applyAgentEvent(
      agentEvent('bj-001', AgentState.AGENT_STATE_RESERVED, 50, 'c1'),
    );
    expect(first.map((p) => p.kind)).toEqual(['state']);
    const then = desk.applyCallEvent(
      offered('beijing', 0, { overflowOriginSiteId: 'shanghai', overflowDecisionId: 'd-1' }),
    );
    expect(then).toMatchObject([
      {
        kind: 'offer',
        offer: {
          agentId: 'bj-001',
          call: { overflow: { originSiteId: 'shanghai', decisionId: 'd-1' } },
        },
      },
    ]);
  });

  it('keeps the offer for a desktop opened later, until the agent is free again', () => {
    const desk = new DeskEvents();
    desk.applyCallEvent(offered('beijing', 0));
    desk.applyAgentEvent(agentEvent('bj-001', AgentState.AGENT_STATE_RESERVED, 50, 'c1'));
    desk.applyAgentEvent(agentEvent('bj-001', AgentState.AGENT_STATE_ON_CALL, 900, 'c1'));
    expect(desk.offerOf('beijing', 'bj-001')?.call.callId).toBe('c1');
    expect(desk.offerOf('beijing', 'bj-002')).toBeUndefined();
    desk.applyAgentEvent(agentEvent('bj-001', AgentState.AGENT_STATE_READY, 9_000));
    expect(desk.offerOf('beijing', 'bj-001')).toBeUndefined();
  });

  it('waits for the reserving site’s own offer of an overflowed call, not the origin’s', () => {
    const desk = new DeskEvents();
    desk.applyCallEvent(offered('shanghai', 0));
    const reserved = desk.applyAgentEvent(
      agentEvent('bj-001', AgentState.AGENT_STATE_RESERVED, 2_000, 'c1'),
    );
    expect(reserved.map((p) => p.kind)).toEqual(['state']);
    const then = desk.applyCallEvent(
      offered('beijing', 1_900, { overflowOriginSiteId: 'shanghai', overflowDecisionId: 'd-1' }),
    );
    expect(then).toMatchObject([
      {
        kind: 'offer',
        offer: { call: { siteId: 'beijing', overflow: { originSiteId: 'shanghai' } } },
      },
    ]);
  });

  it('keeps the router’s reason for the decision that moved a call', () => {
    const desk = new DeskEvents();
    desk.applyDecision(
      routing.RouteDecision.fromPartial({
        response: {
          decisionId: 'd-1',
          reason: 'beijing expected 12 s sooner',
          targetSiteId: 'beijing',
        },
      }),
    );
    expect(desk.decisionOf('d-1')?.reason).toBe('beijing expected 12 s sooner');
  });

  it('tells the agent of its calls’ answer, end and wrap-up, and remembers its state', () => {
    const desk = new DeskEvents();
    desk.applyCallEvent(offered('beijing', 0));
    const answered = desk.applyCallEvent(
      CallEvent.fromPartial({
        meta: meta('beijing', 100),
        callId: 'c1',
        kind: { $case: 'answered', value: { agentId: 'bj-001', waitMs: 30_100 } },
      }),
    );
    expect(answered).toEqual([
      {
        kind: 'call',
        siteId: 'beijing',
        agentId: 'bj-001',
        data: {
          callId: 'c1',
          event: 'answered',
          at: new Date(T0 + 100).toISOString(),
          waitMs: 30_100,
        },
      },
    ]);
    desk.applyAgentEvent(agentEvent('bj-001', AgentState.AGENT_STATE_ON_CALL, 100, 'c1'));
    expect(desk.stateOf('beijing', 'bj-001')?.data.state).toBe('on_call');
    expect(desk.stateOf('beijing', 'bj-002')).toBeUndefined();
  });
});
