import { principalUri, type Principal } from '@ccfed/common';
import { describe, expect, it } from 'vitest';
import {
  actingPrincipal,
  authorise,
  inScope,
  type SiteFacts,
  type SiteRequest,
} from './authorise.js';

const BEIJING: SiteFacts = {
  siteId: 'beijing',
  agentTenants: new Map([
    ['bj-001', 'acme-bank'],
    ['bj-002', 'acme-bank'],
    ['bj-003', 'zenith-telecom'],
  ]),
};

const operator: Principal = { kind: 'operator', name: 'li' };
const router: Principal = { kind: 'service', service: 'router' };
const api: Principal = { kind: 'service', service: 'api' };
const ownSite: Principal = { kind: 'site', site: 'beijing' };
const otherSite: Principal = { kind: 'site', site: 'shanghai' };
const supervisor: Principal = { kind: 'supervisor', site: 'beijing' };
const acmeSupervisor: Principal = { kind: 'supervisor', site: 'beijing', tenant: 'acme-bank' };
const elsewhereSupervisor: Principal = { kind: 'supervisor', site: 'shanghai' };
const agent: Principal = { kind: 'agent', site: 'beijing', agent: 'bj-001' };
const elsewhereAgent: Principal = { kind: 'agent', site: 'shanghai', agent: 'bj-001' };

const verdict = (p: Principal, req: SiteRequest) => {
  const a = authorise(p, BEIJING, req);
  return a.allowed ? a.scope : 'denied';
};

const AGENT_RPCS = ['Login', 'SetReady', 'SetNotReady', 'Logout'] as const;

describe('authorise', () => {
  it('lets an agent act on itself at its own site, and on nobody else', () => {
    for (const rpc of AGENT_RPCS) {
      expect(verdict(agent, { rpc, agentId: 'bj-001' }), rpc).toEqual({
        kind: 'agent',
        agentId: 'bj-001',
      });
      expect(verdict(agent, { rpc, agentId: 'bj-002' }), rpc).toBe('denied');
      expect(verdict(elsewhereAgent, { rpc, agentId: 'bj-001' }), rpc).toBe('denied');
    }
    expect(authorise(agent, BEIJING, { rpc: 'Logout', agentId: 'bj-002' })).toEqual({
      allowed: false,
      reason:
        'agent:beijing/bj-001 may not call Logout at site beijing: an agent acts only on itself, not on "bj-002"',
    });
  });

  it("lets a site's supervisor act on every agent there, a tenant's supervisor on that tenant's only", () => {
    for (const rpc of AGENT_RPCS) {
      for (const agentId of ['bj-001', 'bj-003', 'bj-999'])
        expect(verdict(supervisor, { rpc, agentId }), `${rpc} ${agentId}`).toEqual({
          kind: 'site',
        });
      expect(verdict(acmeSupervisor, { rpc, agentId: 'bj-002' }), rpc).toEqual({ kind: 'site' });
      expect(verdict(acmeSupervisor, { rpc, agentId: 'bj-003' }), rpc).toBe('denied');
      // An agent the site does not have is nobody's tenant's.
      expect(verdict(acmeSupervisor, { rpc, agentId: 'bj-999' }), rpc).toBe('denied');
      expect(verdict(elsewhereSupervisor, { rpc, agentId: 'bj-001' }), rpc).toBe('denied');
    }
    expect(authorise(acmeSupervisor, BEIJING, { rpc: 'Login', agentId: 'bj-003' })).toEqual({
      allowed: false,
      reason:
        'supervisor:beijing/acme-bank may not call Login at site beijing: a supervisor of acme-bank acts only on acme-bank\'s agents, and "bj-003" is not one',
    });
  });

  it('lets an operator act on every agent, and refuses everyone else', () => {
    for (const rpc of AGENT_RPCS) {
      expect(verdict(operator, { rpc, agentId: 'bj-003' }), rpc).toEqual({ kind: 'site' });
      for (const p of [router, api, ownSite, otherSite])
        expect(verdict(p, { rpc, agentId: 'bj-001' }), `${rpc} ${p.kind}`).toBe('denied');
    }
  });

  it('scopes lists: an agent sees itself and its tenant’s queue, a tenant supervisor that tenant', () => {
    expect(verdict(agent, { rpc: 'ListAgents' })).toEqual({ kind: 'agent', agentId: 'bj-001' });
    expect(verdict(agent, { rpc: 'ListQueues' })).toEqual({ kind: 'tenant', tenant: 'acme-bank' });
    const stranger: Principal = { kind: 'agent', site: 'beijing', agent: 'bj-404' };
    expect(verdict(stranger, { rpc: 'ListQueues' })).toBe('denied');
    for (const rpc of ['ListAgents', 'ListQueues'] as const) {
      expect(verdict(acmeSupervisor, { rpc })).toEqual({ kind: 'tenant', tenant: 'acme-bank' });
      expect(verdict(supervisor, { rpc })).toEqual({ kind: 'site' });
      expect(verdict(operator, { rpc })).toEqual({ kind: 'site' });
      for (const p of [elsewhereSupervisor, elsewhereAgent, router, api, ownSite, otherSite])
        expect(verdict(p, { rpc }), `${rpc} ${JSON.stringify(p)}`).toBe('denied');
    }
  });

  it('drains for operators only', () => {
    expect(verdict(operator, { rpc: 'SetDraining' })).toEqual({ kind: 'site' });
    for (const p of [supervisor, acmeSupervisor, agent, router, api, ownSite, otherSite])
      expect(verdict(p, { rpc: 'SetDraining' }), JSON.stringify(p)).toBe('denied');
    expect(authorise(supervisor, BEIJING, { rpc: 'SetDraining' })).toEqual({
      allowed: false,
      reason:
        'supervisor:beijing may not call SetDraining at site beijing: only operators drain a site',
    });
  });

  it("tells the status to operators, the site's supervisors, the router and sites", () => {
    for (const p of [operator, supervisor, router, ownSite, otherSite])
      expect(verdict(p, { rpc: 'GetStatus' }), JSON.stringify(p)).toEqual({ kind: 'site' });
    for (const p of [acmeSupervisor, elsewhereSupervisor, agent, api])
      expect(verdict(p, { rpc: 'GetStatus' }), JSON.stringify(p)).toBe('denied');
  });

  it('takes overflow offers from other sites only', () => {
    expect(verdict(otherSite, { rpc: 'OfferOverflow' })).toEqual({ kind: 'site' });
    for (const p of [ownSite, operator, supervisor, agent, router])
      expect(verdict(p, { rpc: 'OfferOverflow' }), JSON.stringify(p)).toBe('denied');
  });

  it('takes handed-over callbacks from the federation’s other sites only', () => {
    const facts = { ...BEIJING, peerSites: new Set(['shanghai', 'guangzhou']) };
    const handover = (p: Principal, site: SiteFacts = facts) =>
      authorise(p, site, { rpc: 'HandOverCallback' });
    expect(handover(otherSite)).toEqual({ allowed: true, scope: { kind: 'site' } });
    expect(handover({ kind: 'site', site: 'atlantis' })).toEqual({
      allowed: false,
      reason:
        'site:atlantis may not call HandOverCallback at site beijing: atlantis is not a site of this federation',
    });
    expect(handover(ownSite)).toMatchObject({
      allowed: false,
      reason: expect.stringContaining('a site does not hand callbacks to itself'),
    });
    // A site without its peers named takes none.
    expect(handover(otherSite, BEIJING)).toMatchObject({ allowed: false });
    for (const p of [operator, supervisor, acmeSupervisor, agent, router, api])
      expect(handover(p), JSON.stringify(p)).toMatchObject({
        allowed: false,
        reason: expect.stringContaining('only another site of the federation hands over callbacks'),
      });
  });
});

describe('authorise: recordings', () => {
  const RECORDING_RPCS = ['PauseRecording', 'ResumeRecording'] as const;

  it('lets an agent pause its own call’s recording, the site’s supervisors their agents’', () => {
    for (const rpc of RECORDING_RPCS) {
      expect(verdict(agent, { rpc, agentId: 'bj-001' }), rpc).toEqual({
        kind: 'agent',
        agentId: 'bj-001',
      });
      expect(verdict(agent, { rpc, agentId: 'bj-002' }), rpc).toBe('denied');
      expect(verdict(supervisor, { rpc, agentId: 'bj-003' }), rpc).toEqual({ kind: 'site' });
      expect(verdict(acmeSupervisor, { rpc, agentId: 'bj-002' }), rpc).toEqual({ kind: 'site' });
      expect(verdict(acmeSupervisor, { rpc, agentId: 'bj-003' }), rpc).toBe('denied');
      for (const p of [elsewhereSupervisor, elsewhereAgent, operator, router, api, ownSite])
        expect(verdict(p, { rpc, agentId: 'bj-001' }), `${rpc} ${JSON.stringify(p)}`).toBe(
          'denied',
        );
    }
    expect(authorise(operator, BEIJING, { rpc: 'PauseRecording', agentId: 'bj-001' })).toEqual({
      allowed: false,
      reason:
        "operator:li may not call PauseRecording at site beijing: a call's recording is paused by its agent or the site's supervisor",
    });
  });

  it('lets only the API fetch a recording', () => {
    expect(verdict(api, { rpc: 'FetchRecording' })).toEqual({ kind: 'site' });
    for (const p of [operator, supervisor, acmeSupervisor, agent, router, ownSite, otherSite])
      expect(verdict(p, { rpc: 'FetchRecording' }), JSON.stringify(p)).toBe('denied');
    expect(authorise(supervisor, BEIJING, { rpc: 'FetchRecording' })).toEqual({
      allowed: false,
      reason:
        'supervisor:beijing may not call FetchRecording at site beijing: only the API fetches recordings, for the people its scoping allows',
    });
  });
});

describe('CompleteWrapUp', () => {
  it('is the agent’s own, on itself, at its own site; no supervisor or operator records it', () => {
    expect(verdict(agent, { rpc: 'CompleteWrapUp', agentId: 'bj-001' })).toEqual({
      kind: 'agent',
      agentId: 'bj-001',
    });
    expect(verdict(agent, { rpc: 'CompleteWrapUp', agentId: 'bj-002' })).toBe('denied');
    expect(verdict(elsewhereAgent, { rpc: 'CompleteWrapUp', agentId: 'bj-001' })).toBe('denied');
    for (const p of [operator, supervisor, acmeSupervisor, api, router, ownSite, otherSite])
      expect(verdict(p, { rpc: 'CompleteWrapUp', agentId: 'bj-001' }), JSON.stringify(p)).toBe(
        'denied',
      );
  });
});

describe('actingPrincipal', () => {
  const uri = (p: Principal) => principalUri(p);

  it('is the peer when no one is named', () => {
    for (const p of [api, agent, supervisor, operator])
      expect(actingPrincipal(p, undefined)).toEqual({ ok: true, principal: p });
  });

  it('is the person the API names, an agent or a supervisor, and then authorise decides for them', () => {
    const asAgent = actingPrincipal(api, uri(agent));
    expect(asAgent).toEqual({ ok: true, principal: agent, via: api });
    const asAcme = actingPrincipal(api, uri(acmeSupervisor));
    expect(asAcme).toEqual({ ok: true, principal: acmeSupervisor, via: api });
    // The person's own rights, no more: the API acting for bj-001 may not move bj-002, and the
    // acme supervisor it acts for may not move zenith's agent.
    const as = (a: typeof asAgent) => (a.ok ? a.principal : operator);
    expect(verdict(as(asAgent), { rpc: 'SetReady', agentId: 'bj-001' })).not.toBe('denied');
    expect(verdict(as(asAgent), { rpc: 'SetReady', agentId: 'bj-002' })).toBe('denied');
    expect(verdict(as(asAcme), { rpc: 'SetReady', agentId: 'bj-003' })).toBe('denied');
    expect(verdict(as(asAgent), { rpc: 'CompleteWrapUp', agentId: 'bj-001' })).not.toBe('denied');
  });

  it('refuses the header from anyone but the API', () => {
    for (const p of [agent, supervisor, acmeSupervisor, operator, router, ownSite, otherSite]) {
      const a = actingPrincipal(p, uri(agent));
      expect(a.ok, JSON.stringify(p)).toBe(false);
      expect(a.ok ? '' : a.reason).toMatch(/only the API service may send x-ccfed-on-behalf-of/);
    }
  });

  it('refuses a malformed person, or one that is not a person', () => {
    for (const named of [
      'bj-001',
      'spiffe://other/agent/beijing/bj-001',
      '',
      uri(operator),
      uri(router),
      uri(ownSite),
      uri(api),
    ])
      expect(actingPrincipal(api, named).ok, named).toBe(false);
  });
});

describe('authorise: transfer', () => {
  it('lets an agent transfer its own call, the site’s supervisors their agents’', () => {
    const rpc = 'TransferCall';
    expect(verdict(agent, { rpc, agentId: 'bj-001' })).toEqual({
      kind: 'agent',
      agentId: 'bj-001',
    });
    expect(verdict(agent, { rpc, agentId: 'bj-002' })).toBe('denied');
    expect(verdict(supervisor, { rpc, agentId: 'bj-003' })).toEqual({ kind: 'site' });
    expect(verdict(acmeSupervisor, { rpc, agentId: 'bj-002' })).toEqual({ kind: 'site' });
    expect(verdict(acmeSupervisor, { rpc, agentId: 'bj-003' })).toBe('denied');
    for (const p of [
      elsewhereSupervisor,
      elsewhereAgent,
      operator,
      router,
      api,
      ownSite,
      otherSite,
    ])
      expect(verdict(p, { rpc, agentId: 'bj-001' }), JSON.stringify(p)).toBe('denied');
    expect(authorise(operator, BEIJING, { rpc, agentId: 'bj-001' })).toEqual({
      allowed: false,
      reason:
        "operator:li may not call TransferCall at site beijing: a call is transferred by its agent or the site's supervisor",
    });
  });
});

describe('inScope', () => {
  it('keeps everything for the site, one tenant’s items, or one agent', () => {
    const item = { agentId: 'bj-003', tenantId: 'zenith-telecom' };
    expect(inScope({ kind: 'site' }, item)).toBe(true);
    expect(inScope({ kind: 'tenant', tenant: 'zenith-telecom' }, item)).toBe(true);
    expect(inScope({ kind: 'tenant', tenant: 'acme-bank' }, item)).toBe(false);
    expect(inScope({ kind: 'agent', agentId: 'bj-003' }, item)).toBe(true);
    expect(inScope({ kind: 'agent', agentId: 'bj-001' }, item)).toBe(false);
  });

  it("lets only supervisors listen to calls: the site's any call, a tenant's its own agents' calls", () => {
    for (const rpc of ['StartMonitor', 'AnswerMonitor', 'StopMonitor'] as const) {
      expect(verdict(supervisor, { rpc }), rpc).toEqual({ kind: 'site' });
      expect(verdict(supervisor, { rpc, agentId: 'bj-003' }), rpc).toEqual({ kind: 'site' });
      // Before the call is looked up: a tenant's supervisor here may go on asking.
      expect(verdict(acmeSupervisor, { rpc }), rpc).toEqual({ kind: 'site' });
      expect(verdict(acmeSupervisor, { rpc, agentId: 'bj-001' }), rpc).toEqual({
        kind: 'tenant',
        tenant: 'acme-bank',
      });
      expect(verdict(acmeSupervisor, { rpc, agentId: 'bj-003' }), rpc).toBe('denied');
      expect(verdict(acmeSupervisor, { rpc, agentId: 'bj-999' }), rpc).toBe('denied');
      expect(verdict(elsewhereSupervisor, { rpc }), rpc).toBe('denied');
      // Not even an agent on its own call; no operator, site or service.
      for (const p of [agent, operator, ownSite, otherSite, router, api])
        expect(verdict(p, { rpc, agentId: 'bj-001' }), `${rpc} ${JSON.stringify(p)}`).toBe(
          'denied',
        );
    }
    expect(authorise(acmeSupervisor, BEIJING, { rpc: 'StartMonitor', agentId: 'bj-003' })).toEqual({
      allowed: false,
      reason:
        'supervisor:beijing/acme-bank may not call StartMonitor at site beijing: a supervisor of acme-bank listens only to acme-bank\'s agents\' calls, and "bj-003" is not one',
    });
  });
});

describe('authorise: callbacks', () => {
  it("lets the site's supervisors ask for, list and cancel callbacks (a tenant's: its own), nobody else", () => {
    for (const rpc of ['RequestCallback', 'ListCallbacks', 'CancelCallback'] as const) {
      expect(verdict(supervisor, { rpc })).toEqual({ kind: 'site' });
      expect(verdict(acmeSupervisor, { rpc })).toEqual({ kind: 'tenant', tenant: 'acme-bank' });
      for (const p of [elsewhereSupervisor, operator, agent, router, api, ownSite, otherSite])
        expect(verdict(p, { rpc }), `${rpc} ${JSON.stringify(p)}`).toBe('denied');
    }
  });
});
