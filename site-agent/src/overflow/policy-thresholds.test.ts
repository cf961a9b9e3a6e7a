import { readFileSync } from 'node:fs';
import { parseTopology, policyFromTopology } from '@ccfed/topology';
import { describe, expect, it } from 'vitest';
import { CustomerTier } from '@ccfed/proto';
import type { CallContext } from '../call-context.js';
import { replaceThresholds } from './policy-thresholds.js';
import { overflowAcceptance } from './sip-overflow.js';

const EXAMPLE = new URL('../../../topology/example.yaml', import.meta.url).pathname;
const topology = parseTopology(readFileSync(EXAMPLE, 'utf8'), EXAMPLE);

describe('overflow thresholds from the routing policy', () => {
  it('rewrites the map the trigger holds in place: new thresholds, unlisted skills gone', () => {
    const thresholdMs = new Map([['stale-skill', 1_000]]);
    const doc = structuredClone(policyFromTopology(topology));
    doc.skills.support!.thresholdSeconds = 90;
    delete doc.skills.sales;
    replaceThresholds(thresholdMs, { ...doc, version: 1 });
    expect(Object.fromEntries(thresholdMs)).toEqual({ support: 90_000, complaints: 45_000 });
  });

  it('rewrites the askAfter map too: a skill that stops setting one no longer has it', () => {
    const thresholdMs = new Map<string, number>();
    const askAfterMs = new Map([['complaints', 5_000]]);
    const doc = structuredClone(policyFromTopology(topology));
    doc.skills.support!.askAfterWaitingSeconds = 18;
    delete doc.skills.complaints!.askAfterWaitingSeconds;
    replaceThresholds(thresholdMs, { ...doc, version: 1 }, askAfterMs);
    expect(Object.fromEntries(askAfterMs)).toEqual({ support: 18_000 });
  });

  it("lets a target take an overflowed call within the threshold in force, not the file's", () => {
    const context: CallContext = {
      tenantId: 'acme-bank',
      skill: 'support',
      requestedSkill: 'support',
      tier: CustomerTier.CUSTOMER_TIER_STANDARD,
      customerId: '',
      arrivalMs: 0,
      originSite: 'shanghai',
      hops: 1,
      decisionId: 'd-1',
      traceparent: '',
      problems: [],
    };
    const at = (expectedWaitMs: number, thresholdMs?: ReadonlyMap<string, number>) =>
      overflowAcceptance({
        topology,
        context,
        expectedWaitMs,
        ...(thresholdMs && { thresholdMs }),
      });
    // The topology file says 30 s for support; HQ raised it to 90 s.
    expect(at(60_000)).toEqual({ accept: false, limitMs: 30_000 });
    expect(at(60_000, new Map([['support', 90_000]]))).toEqual({ accept: true, limitMs: 90_000 });
    expect(at(120_000, new Map([['support', 90_000]])).accept).toBe(false);
  });
});
