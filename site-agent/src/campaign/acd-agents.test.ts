import { ManualClock } from '@ccfed/common';
import { describe, expect, it } from 'vitest';
import { Acd, type Effects } from '../acd/acd.js';
import { AcdCampaignAgents } from './acd-agents.js';

const T0 = Date.parse('2026-12-07T13:00:00Z');

function setup() {
  const clock = new ManualClock(T0);
  const acd = new Acd({
    clock,
    skills: [
      {
        id: 'retention',
        serviceLevelThresholdMs: 20_000,
        wrapUpMs: 5_000,
        averageHandleMs: 240_000,
      },
    ],
    agents: [
      { id: 'a1', tenantId: 'acme', skills: { retention: 5 } },
      { id: 'b1', tenantId: 'globex', skills: { retention: 5 } },
    ],
  });
  for (const id of ['a1', 'b1']) {
    acd.login(id);
    acd.ready(id);
  }
  const changes: Effects[] = [];
  let sl = { offered: 0, answeredWithinTarget: 0 };
  const agents = new AcdCampaignAgents({
    acd,
    now: () => clock.now(),
    effects: (fx) => changes.push(fx),
    serviceLevel: () => ({ ...sl, target: 0.8 }),
    minOffered: 20,
  });
  return { acd, agents, changes, clock, setSl: (v: typeof sl) => (sl = v) };
}

describe('campaign agents from the site’s ACD', () => {
  it('reserves only an idle agent of the campaign’s own tenant, and frees them without blame', () => {
    const { acd, agents, changes } = setup();
    expect(agents.staffing('retention', 'acme')).toEqual({
      loggedIn: 1,
      free: 1,
      busy: 0,
      averageHandleMs: 240_000,
    });
    expect(agents.reserve('retention', 'acme', 'out-1')).toBe('a1');
    expect(acd.agentState('a1')).toEqual({ name: 'reserved', callId: 'out-1' });
    expect(changes.at(-1)!.agentChanges.map((c) => c.to.name)).toEqual(['reserved']);
    // globex's idle agent is not acme's to take
    expect(agents.reserve('retention', 'acme', 'out-2')).toBeUndefined();
    expect(acd.queuedCalls('retention')).toHaveLength(0);
    agents.release('out-1');
    expect(acd.agentState('a1')).toEqual({ name: 'ready' });
    agents.reserve('retention', 'acme', 'out-3');
    agents.connected('out-3');
    expect(acd.agentState('a1')).toEqual({ name: 'on_call', callId: 'out-3' });
  });

  it('an agent freed by a failed line goes to the inbound caller who waits, and the campaign sees the caller', () => {
    const { acd, agents } = setup();
    agents.reserve('retention', 'acme', 'out-1');
    acd.offer({ callId: 'in-1', tenantId: 'acme', skill: 'retention', tier: 1, arrivalMs: T0 });
    expect(agents.inboundLoad('retention', 'acme')).toMatchObject({ queued: 1 });
    agents.release('out-1');
    expect(acd.agentState('a1')).toEqual({ name: 'reserved', callId: 'in-1' });
  });

  it('an agent freed while an inbound caller waits goes to the caller, not to a predictive line answered then', () => {
    const { acd, agents, clock } = setup();
    agents.reserve('retention', 'acme', 'out-1');
    agents.connected('out-1');
    acd.offer({ callId: 'in-1', tenantId: 'acme', skill: 'retention', tier: 1, arrivalMs: T0 });
    acd.hangUp('out-1');
    expect(agents.reserve('retention', 'acme', 'out-2')).toBeUndefined();
    // the wrap-up ends while the caller still waits: the agent is the caller's at once
    clock.advance(5_000);
    acd.tick();
    expect(acd.agentState('a1')).toEqual({ name: 'reserved', callId: 'in-1' });
    expect(agents.reserve('retention', 'acme', 'out-2')).toBeUndefined();
    expect(acd.queuedCalls('retention')).toHaveLength(0);
  });

  it('an agent whose preview lapsed is freed not ready (rona), and published so', () => {
    const { acd, agents, changes } = setup();
    agents.reserve('retention', 'acme', 'preview-1');
    agents.releaseAbsent('preview-1');
    expect(acd.agentState('a1')).toEqual({ name: 'not_ready', reason: 'rona' });
    expect(changes.flatMap((fx) => fx.agentChanges.map((c) => c.to.name))).toEqual([
      'reserved',
      'ready',
      'not_ready',
    ]);
    // not offered the next contact until the agent says it is back
    expect(agents.reserve('retention', 'acme', 'preview-2')).toBeUndefined();
  });

  it('passes the skill’s inbound service level to the inbound-first gate', () => {
    const { agents, setSl } = setup();
    setSl({ offered: 40, answeredWithinTarget: 30 });
    expect(agents.inboundLoad('retention', 'acme')).toEqual({
      queued: 0,
      offered: 40,
      answeredWithinTarget: 30,
      target: 0.8,
      minOffered: 20,
    });
  });
});
