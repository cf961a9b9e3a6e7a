import { AgentEvent, AgentState, SiteSnapshot } from '@ccfed/proto';
import { describe, expect, it } from 'vitest';
import {
  LiveState,
  UNREACHABLE_AFTER_MS,
  type AgentDirectoryEntry,
  type TodayCounts,
} from './live-state.js';
import { latestAgentStatesQuery, parseLatestAgentStates } from './agent-seed.js';
import { todayCountsQuery, parseTodayCounts, startOfUtcDay } from './today-counts.js';

const T0 = Date.UTC(2026, 10, 22, 9, 0, 0);

function snapshot(siteId: string, at: number, sequence: number, queued: number) {
  return SiteSnapshot.fromPartial({
    meta: { siteId, eventTime: new Date(at) },
    sequence,
    acceptingOverflow: true,
    skills: [
      {
        skill: 'support',
        queued,
        oldestWaitMs: 30_000,
        agentsStaffed: 5,
        agentsIdle: 1,
        expectedWaitMs: 60_000,
        answeredToday: 40,
        answeredWithinThresholdToday: 30,
        abandonedToday: 10,
        tenants: [
          { tenantId: 'acme', queued: queued - 1, agentsStaffed: 3, agentsIdle: 1 },
          { tenantId: 'zenith', queued: 1, agentsStaffed: 2, agentsIdle: 0, expectedWaitMs: 9 },
        ],
      },
    ],
  });
}

function agent(siteId: string, agentId: string, to: AgentState, at: number, tenantId = '') {
  return AgentEvent.fromPartial({
    meta: { siteId, tenantId, eventTime: new Date(at) },
    agentId,
    toState: to,
  });
}

const directory = new Map<string, AgentDirectoryEntry>([
  ['a1', { siteId: 'sh', tenantId: 'acme', skills: ['support'] }],
  ['z1', { siteId: 'sh', tenantId: 'zenith', skills: ['support'] }],
  ['b1', { siteId: 'bj', tenantId: 'acme', skills: ['support'] }],
]);

function filled(): LiveState {
  const state = new LiveState(directory);
  state.applySnapshot(snapshot('sh', T0, 1, 5));
  state.applySnapshot(snapshot('bj', T0, 1, 2));
  state.applyAgentEvent(agent('sh', 'a1', AgentState.AGENT_STATE_ON_CALL, T0));
  state.applyAgentEvent(agent('sh', 'z1', AgentState.AGENT_STATE_READY, T0));
  state.applyAgentEvent(agent('bj', 'b1', AgentState.AGENT_STATE_WRAP_UP, T0));
  // Not in the topology: its tenant is only known from the event, if at all.
  state.applyAgentEvent(agent('sh', 'x9', AgentState.AGENT_STATE_READY, T0));
  return state;
}

const counts = (siteId: string, tenantId: string, over: Partial<TodayCounts>): TodayCounts => ({
  siteId,
  skill: 'support',
  tenantId,
  offered: 0,
  answered: 0,
  answeredInSl: 0,
  abandoned: 0,
  overflowIn: 0,
  overflowOut: 0,
  ...over,
});

describe('live state', () => {
  it('gives HQ every site with site totals, agents by state and the polled overflow', () => {
    const state = filled();
    state.setToday({ role: 'hq' }, [
      counts('sh', 'acme', { overflowOut: 2 }),
      counts('sh', 'zenith', { overflowOut: 1, overflowIn: 4 }),
    ]);
    const view = state.view({ role: 'hq' }, T0 + 1000);
    expect(view.sites.map((s) => s.siteId)).toEqual(['bj', 'sh']);
    const sh = view.sites[1]!;
    expect(sh.skills[0]).toMatchObject({
      queued: 5,
      oldestWaitMs: 30_000,
      staffed: 5,
      callsInProgress: 1,
      serviceLevelToday: 0.75,
      abandonRateToday: 0.2,
      overflowOutToday: 3,
      overflowInToday: 4,
    });
    expect(sh.agents.map((a) => a.agentId)).toEqual(['a1', 'x9', 'z1']);
    expect(sh.agentsByState).toMatchObject({ on_call: 1, ready: 2 });
  });

  it('shows a site unreachable once its newest snapshot is older than two snapshot intervals', () => {
    const state = new LiveState();
    state.applySnapshot(snapshot('bj', T0, 1, 2));
    state.applySnapshot(snapshot('sh', T0 + 1500, 1, 2));
    const at = (now: number) =>
      state.view({ role: 'hq' }, now).sites.map((s) => [s.siteId, s.reachable]);
    expect(at(T0 + UNREACHABLE_AFTER_MS)).toEqual([
      ['bj', true],
      ['sh', true],
    ]);
    expect(at(T0 + UNREACHABLE_AFTER_MS + 1)).toEqual([
      ['bj', false],
      ['sh', true],
    ]);
    state.applySnapshot(snapshot('bj', T0 + 3000, 2, 0));
    expect(at(T0 + 3000)).toEqual([
      ['bj', true],
      ['sh', true],
    ]);
  });

  it('gives a site supervisor only its own site', () => {
    const view = filled().view({ role: 'site', siteId: 'bj' }, T0);
    expect(view.sites.map((s) => s.siteId)).toEqual(['bj']);
    expect(view.sites[0]!.agents.map((a) => a.agentId)).toEqual(['b1']);
  });

  it('gives a tenant client its own figures and agents only, never the site totals', () => {
    const state = filled();
    state.setToday({ role: 'tenant', tenantId: 'zenith' }, [
      counts('sh', 'zenith', { answered: 4, answeredInSl: 3, abandoned: 1, overflowOut: 1 }),
    ]);
    const view = state.view({ role: 'tenant', tenantId: 'zenith' }, T0);
    const text = JSON.stringify(view);
    expect(text).not.toContain('acme');
    expect(text).not.toContain('"a1"');
    expect(text).not.toContain('"x9"');
    const sh = view.sites.find((s) => s.siteId === 'sh')!;
    expect(sh.skills[0]).toMatchObject({
      queued: 1,
      oldestWaitMs: null,
      staffed: 2,
      idle: 0,
      expectedWaitMs: 9,
      answeredToday: 4,
      serviceLevelToday: 0.75,
      abandonRateToday: 0.2,
      overflowOutToday: 1,
    });
    expect(sh.agents.map((a) => a.agentId)).toEqual(['z1']);
    // Counts polled for HQ never leak into a tenant's view.
    state.setToday({ role: 'hq' }, [counts('sh', 'acme', { overflowOut: 50 })]);
    expect(
      state.view({ role: 'tenant', tenantId: 'zenith' }, T0).sites[1]!.skills[0]!.overflowOutToday,
    ).toBe(1);
  });

  it('keeps the newest snapshot and agent state whatever order they arrive in', () => {
    const state = filled();
    expect(state.applySnapshot(snapshot('sh', T0 - 1000, 9, 99))).toBe(false);
    expect(state.applySnapshot(snapshot('sh', T0, 1, 98))).toBe(false);
    expect(state.applySnapshot(snapshot('sh', T0, 2, 7))).toBe(true);
    // A restarted site agent counts its sequence from 1 again: the later event time still wins.
    expect(state.applySnapshot(snapshot('sh', T0 + 1000, 1, 8))).toBe(true);
    expect(state.applyAgentEvent(agent('sh', 'a1', AgentState.AGENT_STATE_READY, T0 - 1))).toBe(
      false,
    );
    const sh = state.view({ role: 'hq' }, T0).sites[1]!;
    expect(sh.skills[0]!.queued).toBe(8);
    expect(sh.agents.find((a) => a.agentId === 'a1')!.state).toBe('on_call');
  });

  it('ignores a snapshot or agent event without site, time or a known state', () => {
    const state = new LiveState();
    expect(state.applySnapshot(SiteSnapshot.fromPartial({ sequence: 1 }))).toBe(false);
    expect(state.applyAgentEvent(agent('sh', 'a1', AgentState.AGENT_STATE_UNSPECIFIED, T0))).toBe(
      false,
    );
    expect(state.applyAgentEvent(AgentEvent.fromPartial({ agentId: 'a1' }))).toBe(false);
    expect(state.view({ role: 'hq' }, T0).sites).toEqual([]);
  });

  it("without a topology an agent's tenant comes from its event, or it is nobody's", () => {
    const state = new LiveState();
    state.applySnapshot(snapshot('sh', T0, 1, 5));
    state.applyAgentEvent(agent('sh', 'a1', AgentState.AGENT_STATE_READY, T0, 'acme'));
    state.applyAgentEvent(agent('sh', 'n1', AgentState.AGENT_STATE_READY, T0));
    const acme = state.view({ role: 'tenant', tenantId: 'acme' }, T0);
    expect(acme.sites[0]!.agents.map((a) => a.agentId)).toEqual(['a1']);
  });
});

describe('stored agent states', () => {
  const stored = {
    agent_id: 'a1',
    last_site_id: 'sh',
    last_tenant_id: 'acme',
    state: 'not_ready',
    last_call_id: '',
    since_ms: String(T0 - 5000),
  };

  it('start agents from their stored state, and a newer Kafka state wins either way round', () => {
    const [seed] = parseLatestAgentStates([stored, { ...stored, agent_id: 'q', state: 'odd' }]);
    expect(seed).toEqual({
      agentId: 'a1',
      siteId: 'sh',
      tenantId: 'acme',
      state: 'not_ready',
      since: T0 - 5000,
      callId: null,
    });
    const state = new LiveState(directory);
    state.applySnapshot(snapshot('sh', T0, 1, 5));
    expect(state.seedAgent(seed!)).toBe(true);
    expect(state.view({ role: 'hq' }, T0).sites[0]!.agents[0]!.state).toBe('not_ready');
    state.applyAgentEvent(agent('sh', 'a1', AgentState.AGENT_STATE_ON_CALL, T0));
    expect(state.seedAgent(seed!)).toBe(false);
    expect(state.view({ role: 'hq' }, T0).sites[0]!.agents[0]!.state).toBe('on_call');
  });

  it('reads the newest row per agent since the given time, under the scope', () => {
    const text = latestAgentStatesQuery({ role: 'site', siteId: 'sh' }, new Date(T0)).text;
    expect(text).toContain('argMax(to_state, (event_time, event_ms)) AS state');
    expect(text).toContain(`event_time >= toDateTime('2026-11-22 09:00:00', 'UTC')`);
    expect(text).toContain("`site_id` = 'sh'");
  });
});

describe("today's counts query", () => {
  it('reads the rollup since midnight UTC under the scope condition', () => {
    const day = startOfUtcDay(Date.UTC(2026, 10, 22, 23, 59, 59));
    expect(day.toISOString()).toBe('2026-11-22T00:00:00.000Z');
    const text = todayCountsQuery({ role: 'tenant', tenantId: "z' OR 1=1" }, day).text;
    expect(text).toContain(`bucket >= toDateTime('2026-11-22 00:00:00', 'UTC')`);
    expect(text).toContain("`tenant_id` = 'z\\' OR 1=1'");
    expect(todayCountsQuery({ role: 'site', siteId: 'sh' }, day).text).toContain(
      "`site_id` = 'sh'",
    );
  });

  it('turns 18.16 UInt64 strings into numbers and refuses a malformed row', () => {
    const row = {
      site_id: 'sh',
      skill: 'support',
      tenant_id: 'acme',
      offered: '5',
      answered: '4',
      answered_in_sl: '3',
      abandoned: '1',
      overflow_in: '0',
      overflow_out: '2',
    };
    expect(parseTodayCounts([row])[0]).toMatchObject({ offered: 5, overflowOut: 2 });
    expect(() => parseTodayCounts([{ ...row, site_id: undefined }])).toThrow();
  });
});
