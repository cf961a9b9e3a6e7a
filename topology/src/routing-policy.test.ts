import { describe, expect, it } from 'vitest';
import { loadTopology } from './load.js';
import {
  checkPolicyDocument,
  checkPolicyEdit,
  decodePolicyDocument,
  describeProblems,
  encodePolicyDocument,
  PolicyHolder,
  policyFromTopology,
  supersedes,
  type PolicyDocument,
} from './routing-policy.js';

const topology = loadTopology(new URL('../example.yaml', import.meta.url).pathname);

/** The example's policy as an edit of version 0, with `changes` applied. */
function edit(changes: (e: any) => void = () => {}): unknown {
  const { changedBy: _b, changedAt: _a, ...e } = structuredClone(policyFromTopology(topology));
  changes(e);
  return e;
}

function problemsOf(input: unknown): string[] {
  const r = checkPolicyEdit(input, topology);
  return r.ok ? [] : r.problems.map((p) => `${p.path}: ${p.message}`);
}

describe('policyFromTopology', () => {
  it('is version 0 with the topology file values', () => {
    const doc = policyFromTopology(topology);
    expect(doc.version).toBe(0);
    expect(doc.skills.complaints).toEqual({ thresholdSeconds: 45, minImprovementSeconds: 15 });
    expect(doc.skills.support).toEqual({
      thresholdSeconds: 30,
      askAfterWaitingSeconds: 15,
      minImprovementSeconds: 10,
    });
    expect(doc.sites).toEqual({
      shanghai: { handicapSeconds: 0 },
      beijing: { handicapSeconds: 5 },
      guangzhou: { handicapSeconds: 5 },
    });
    expect(doc.tenantExclusions).toEqual({ 'zenith-telecom': ['guangzhou'] });
    expect(checkPolicyDocument(doc, topology).ok).toBe(true);
  });
});

describe('checkPolicyEdit', () => {
  it('accepts the topology policy and a changed one', () => {
    expect(problemsOf(edit())).toEqual([]);
    const changed = edit((e) => {
      e.skills.sales.thresholdSeconds = 3600;
      e.skills.sales.minImprovementSeconds = 0;
      e.sites.beijing.handicapSeconds = -600;
      e.tenantExclusions = {};
    });
    const r = checkPolicyEdit(changed, topology);
    expect(r.ok && r.value.sites.beijing).toEqual({ handicapSeconds: -600 });
  });

  it('names every out-of-range and non-numeric value by its path, all at once', () => {
    expect(
      problemsOf(
        edit((e) => {
          e.skills.sales.thresholdSeconds = 0;
          e.skills.support.minImprovementSeconds = -1;
          e.skills.complaints.thresholdSeconds = 'soon';
          e.sites.beijing.handicapSeconds = 601;
          e.staleAfterSeconds = 301;
          e.reservationTimeoutSeconds = 0;
          delete e.sites.guangzhou.handicapSeconds;
        }),
      ),
    ).toEqual([
      'skills.sales.thresholdSeconds: must be between 1 and 3600',
      'skills.support.minImprovementSeconds: must be between 0 and 3600',
      'skills.complaints.thresholdSeconds: must be a number',
      'sites.beijing.handicapSeconds: must be between -600 and 600',
      'sites.guangzhou.handicapSeconds: is required',
      'staleAfterSeconds: must be between 1 and 300',
      'reservationTimeoutSeconds: must be between 1 and 600',
    ]);
  });

  it('reports unknown ids together with bad numbers', () => {
    expect(
      problemsOf(
        edit((e) => {
          e.skills.billing = { thresholdSeconds: 30, minImprovementSeconds: 5 };
          e.sites.chengdu = { handicapSeconds: 0 };
          delete e.sites.shanghai;
          e.sites.beijing.handicapSeconds = 9999;
          e.tenantExclusions = { globex: ['beijing'], 'acme-bank': ['mars', 'beijing', 'beijing'] };
        }),
      ),
    ).toEqual([
      'sites.beijing.handicapSeconds: must be between -600 and 600',
      'skills.billing: unknown skill "billing" (known: sales, support, complaints)',
      'sites.chengdu: unknown site "chengdu" (known: shanghai, beijing, guangzhou)',
      'sites.shanghai: is required: every site has a handicap',
      'tenantExclusions.globex: unknown tenant "globex" (known: acme-bank, zenith-telecom)',
      'tenantExclusions.acme-bank.0: unknown site "mars" (known: shanghai, beijing, guangzhou)',
      'tenantExclusions.acme-bank.2: site "beijing" is listed twice',
    ]);
  });

  it('refuses excluding every site for a tenant', () => {
    expect(
      problemsOf(
        edit((e) => (e.tenantExclusions['acme-bank'] = ['shanghai', 'beijing', 'guangzhou'])),
      ),
    ).toEqual([
      "tenantExclusions.acme-bank: excludes every site: the tenant's calls could not be answered anywhere",
    ]);
  });

  it('refuses unknown fields, a missing version and a body that is not an object', () => {
    expect(problemsOf(edit((e) => ((e.handicap = 3), delete e.version)))).toEqual([
      'version: is required',
      'handicap: unknown field',
    ]);
    expect(problemsOf(edit((e) => (e.skills.sales.threshold = 3)))).toEqual([
      'skills.sales.threshold: unknown field',
    ]);
    expect(problemsOf(edit((e) => (e.version = 1.5)))).toEqual(['version: must be a whole number']);
    // An emptied form field arrives as null.
    expect(problemsOf(edit((e) => (e.staleAfterSeconds = null)))).toEqual([
      'staleAfterSeconds: is required',
    ]);
    expect(problemsOf('policy')).toHaveLength(1);
    expect(problemsOf(null)).toHaveLength(1);
  });
});

describe('the document on the topic', () => {
  const doc: PolicyDocument = {
    ...policyFromTopology(topology),
    version: 3,
    changedBy: 'li.wei',
    changedAt: '2026-11-22T10:00:00.000Z',
  };

  it('round-trips through its bytes', () => {
    expect(decodePolicyDocument(encodePolicyDocument(doc), topology)).toEqual({
      ok: true,
      value: doc,
    });
  });

  it('refuses bytes that are not a valid document, saying why', () => {
    const bad = (value: Buffer | null) => {
      const r = decodePolicyDocument(value, topology);
      return r.ok ? 'ok' : describeProblems(r.problems);
    };
    expect(bad(null)).toBe('empty message');
    expect(bad(Buffer.from('{"version":'))).toBe('not JSON');
    expect(bad(encodePolicyDocument({ ...doc, changedAt: 'yesterday' }))).toBe(
      'changedAt: must be an ISO 8601 UTC time',
    );
    expect(
      bad(
        encodePolicyDocument({ ...doc, sites: { ...doc.sites, chengdu: { handicapSeconds: 1 } } }),
      ),
    ).toMatch(/^sites\.chengdu: unknown site/);
  });

  it('a later or equal version supersedes, an older one does not', () => {
    expect(supersedes(doc, { ...doc, version: 4 })).toBe(true);
    expect(supersedes(doc, { ...doc, version: 3 })).toBe(true);
    expect(supersedes(doc, { ...doc, version: 2 })).toBe(false);
  });
});

describe('PolicyHolder', () => {
  const at = (version: number, handicap: number): Buffer =>
    encodePolicyDocument({
      ...policyFromTopology(topology),
      sites: {
        shanghai: { handicapSeconds: 0 },
        beijing: { handicapSeconds: handicap },
        guangzhou: { handicapSeconds: 5 },
      },
      version,
      changedBy: 'li.wei',
      changedAt: '2026-11-22T10:00:00.000Z',
    });

  it('holds the topology policy until a valid later version arrives, and keeps it over bad or older ones', () => {
    const holder = new PolicyHolder(topology);
    expect(holder.current.version).toBe(0);
    expect(holder.offer(at(2, 30)).outcome).toBe('applied');
    expect(holder.offer(at(1, 60))).toMatchObject({ outcome: 'older' });
    expect(holder.offer(Buffer.from('garbage'))).toEqual({
      outcome: 'rejected',
      reason: 'not JSON',
    });
    expect(holder.offer(at(3, 9999))).toEqual({
      outcome: 'rejected',
      reason: 'sites.beijing.handicapSeconds: must be between -600 and 600',
    });
    expect(holder.current.version).toBe(2);
    expect(holder.current.sites.beijing).toEqual({ handicapSeconds: 30 });
  });
});

describe('askAfterWaitingSeconds', () => {
  it('is optional, and bounded like the threshold when set', () => {
    expect(problemsOf(edit((e) => delete e.skills.support.askAfterWaitingSeconds))).toEqual([]);
    expect(problemsOf(edit((e) => (e.skills.support.askAfterWaitingSeconds = 0)))).toEqual([
      'skills.support.askAfterWaitingSeconds: must be between 1 and 3600',
    ]);
    expect(problemsOf(edit((e) => (e.skills.support.askAfterWaitingSeconds = '15')))).toEqual([
      'skills.support.askAfterWaitingSeconds: must be a number',
    ]);
  });
});
