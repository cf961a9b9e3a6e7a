import { loadTopology } from '@ccfed/topology';
import { describe, expect, it } from 'vitest';
import type { Claims } from '../auth/token.js';
import { HttpError } from '../http/errors.js';
import {
  checkCode,
  deskOf,
  isOwnDesk,
  supervisedAgents,
  supervisorPrincipal,
} from './desk-access.js';

const topology = loadTopology(
  new URL('../../../../topology/example.yaml', import.meta.url).pathname,
);
const exp = 2_000_000_000;
const agent: Claims = { sub: 'wang', role: 'agent', siteId: 'beijing', agentId: 'bj-003', exp };
const bjSupervisor: Claims = { sub: 'bj', role: 'site', siteId: 'beijing', exp };
const zenith: Claims = { sub: 'z', role: 'tenant', tenantId: 'zenith-telecom', exp };
const hq: Claims = { sub: 'li', role: 'hq', exp };

/** The status a call throws with. */
function status(run: () => unknown): number {
  try {
    run();
  } catch (err) {
    if (err instanceof HttpError) return err.status;
    throw err;
  }
  return 200;
}

describe('deskOf', () => {
  it('is the agent of an agent token, with the tenant its seat serves', () => {
    expect(deskOf(agent, topology)).toEqual({
      siteId: 'beijing',
      agentId: 'bj-003',
      tenantId: 'zenith-telecom',
    });
  });

  it('refuses supervisors, HQ and an agent the topology no longer has', () => {
    for (const c of [bjSupervisor, zenith, hq]) expect(status(() => deskOf(c, topology))).toBe(403);
    expect(status(() => deskOf({ ...agent, agentId: 'bj-999' }, topology))).toBe(403);
    expect(status(() => deskOf({ ...agent, siteId: 'shanghai' }, topology))).toBe(403);
  });
});

describe('supervisedAgents', () => {
  const seats = [
    { agentId: 'bj-001', tenantId: 'acme-bank' },
    { agentId: 'bj-003', tenantId: 'zenith-telecom' },
    { agentId: 'bj-009', tenantId: null },
  ];
  const seen = (c: Claims, site = 'beijing') =>
    seats.filter(supervisedAgents(c, site, topology)).map((s) => s.agentId);

  it('shows a site its agents, a tenant supervisor only its seats, HQ all', () => {
    expect(seen(bjSupervisor)).toEqual(['bj-001', 'bj-003', 'bj-009']);
    expect(seen(zenith)).toEqual(['bj-003']);
    expect(seen(hq)).toEqual(['bj-001', 'bj-003', 'bj-009']);
  });

  it('refuses an agent, another site’s supervisor, and an unknown site', () => {
    expect(status(() => seen(agent))).toBe(403);
    expect(status(() => seen(bjSupervisor, 'shanghai'))).toBe(403);
    expect(status(() => seen(hq, 'atlantis'))).toBe(400);
  });
});

describe('supervisorPrincipal', () => {
  it('is the principal a site agent authorises the person as', () => {
    expect(supervisorPrincipal(bjSupervisor, 'beijing')).toEqual({
      kind: 'supervisor',
      site: 'beijing',
    });
    expect(supervisorPrincipal(zenith, 'shanghai')).toEqual({
      kind: 'supervisor',
      site: 'shanghai',
      tenant: 'zenith-telecom',
    });
    expect(status(() => supervisorPrincipal(agent, 'beijing'))).toBe(403);
  });
});

describe('isOwnDesk and checkCode', () => {
  it('keeps an agent’s events to itself', () => {
    const desk = deskOf(agent, topology);
    expect(isOwnDesk(desk, { siteId: 'beijing', agentId: 'bj-003' })).toBe(true);
    expect(isOwnDesk(desk, { siteId: 'beijing', agentId: 'bj-001' })).toBe(false);
    expect(isOwnDesk(desk, { siteId: 'shanghai', agentId: 'bj-003' })).toBe(false);
  });

  it('takes only the topology’s codes', () => {
    expect(checkCode('reason', 'lunch', topology.notReadyReasons)).toBe('lunch');
    expect(status(() => checkCode('reason', 'nap', topology.notReadyReasons))).toBe(400);
    expect(checkCode('disposition', 'escalated', topology.dispositions)).toBe('escalated');
  });
});
