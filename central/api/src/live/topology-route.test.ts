import { loadTopology, policyFromTopology } from '@ccfed/topology';
import { describe, expect, it } from 'vitest';
import { topologyFor } from './topology-route.js';

const topology = loadTopology(
  new URL('../../../../topology/example.yaml', import.meta.url).pathname,
);

describe('topologyFor', () => {
  it('shows the routing policy in force, not the file, once HQ has saved a version', () => {
    const policy = structuredClone(policyFromTopology(topology));
    policy.version = 3;
    policy.sites.beijing!.handicapSeconds = 40;
    policy.skills.support = { thresholdSeconds: 90, minImprovementSeconds: 20 };
    delete policy.skills.sales;
    policy.staleAfterSeconds = 7;
    policy.tenantExclusions = { 'acme-bank': ['beijing'] };
    const view = topologyFor(topology, { role: 'hq' }, policy);
    expect(view.policyVersion).toBe(3);
    expect(view.sites.find((s) => s.id === 'beijing')!.handicapSeconds).toBe(40);
    expect(view.skills.find((s) => s.id === 'support')!.overflow).toEqual({
      expectedWaitThresholdSeconds: 90,
      minImprovementSeconds: 20,
    });
    expect(view.skills.find((s) => s.id === 'sales')!.overflow).toBeUndefined();
    expect(view.routing).toMatchObject({
      staleAfterSeconds: 7,
      tenantRestrictions: [{ tenant: 'acme-bank', excludedSites: ['beijing'] }],
    });
  });

  it('is the file as is without a saved version, and a tenant sees only its own restrictions', () => {
    const hq = topologyFor(topology, { role: 'hq' });
    expect(hq.policyVersion).toBe(0);
    expect(hq.skills.find((s) => s.id === 'support')!.overflow).toEqual(
      topology.skills.find((s) => s.id === 'support')!.overflow,
    );
    expect(hq.routing.tenantRestrictions).toEqual(topology.routing.tenantRestrictions);
    const tenant = topologyFor(topology, { role: 'tenant', tenantId: 'acme-bank' });
    expect(tenant.routing.tenantRestrictions).toEqual([]);
  });
});
