import { readFileSync } from 'node:fs';
import { parseTopology, policyFromTopology } from '@ccfed/topology';
import { describe, expect, it } from 'vitest';
import { replaceThresholds } from './policy-thresholds.js';

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
});
