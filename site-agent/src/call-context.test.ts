import { CustomerTier } from '@ccfed/proto';
import { loadTopology } from '@ccfed/topology';
import { describe, expect, it } from 'vitest';
import { callContext } from './call-context.js';

const topology = loadTopology(new URL('../../topology/example.yaml', import.meta.url).pathname);
const NOW = Date.parse('2026-11-22T03:00:00Z');
const ctx = (headers: Record<string, string>, dialedNumber = '400200200') =>
  callContext({ topology, siteId: 'beijing', dialedNumber, headers, nowMs: NOW });
const ok = (headers: Record<string, string>, dialedNumber?: string) => {
  const r = ctx(headers, dialedNumber);
  if (!r.ok) throw new Error(r.reason);
  return r.context;
};

describe('callContext', () => {
  it('takes skill and tenant from the dialed number, and the rest from X-CC-* headers', () => {
    expect(
      ok({
        Tier: 'VIP',
        Customer: 'cust-42',
        Traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      }),
    ).toEqual({
      tenantId: 'acme-bank',
      skill: 'support',
      requestedSkill: '',
      tier: CustomerTier.CUSTOMER_TIER_VIP,
      customerId: 'cust-42',
      arrivalMs: NOW,
      originSite: '',
      hops: 0,
      decisionId: '',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      problems: [],
    });
  });

  it('keeps the original arrival time and origin of a call overflowed from another site', () => {
    const c = ok({
      'Origin-Site': 'shanghai',
      Arrival: String(NOW - 42_000),
      Hops: '1',
      Skill: 'sales',
      Decision: '6f1c2a9e-8d3b-4c5e-9f10-2b3c4d5e6f70',
    });
    expect(c).toMatchObject({
      originSite: 'shanghai',
      arrivalMs: NOW - 42_000,
      hops: 1,
      skill: 'sales',
      decisionId: '6f1c2a9e-8d3b-4c5e-9f10-2b3c4d5e6f70',
      problems: [],
    });
    expect(ok({ Decision: 'x y' }).decisionId).toBe('');
  });

  it('keeps the transfer of a call another site transferred here, only from that site', () => {
    const transferred = {
      'Origin-Site': 'shanghai',
      Arrival: String(NOW - 90_000),
      Skill: 'sales',
      'Transferred-At': String(NOW - 2_000),
      'Transferred-From': 'abc@10.0.0.1',
    };
    expect(ok(transferred)).toMatchObject({
      arrivalMs: NOW - 90_000,
      transfer: { fromCallId: 'abc@10.0.0.1', fromSiteId: 'shanghai', atMs: NOW - 2_000 },
      problems: [],
    });
    // Without the site that transferred it, or before the call arrived, it is dropped.
    const { 'Origin-Site': _, ...noOrigin } = transferred;
    expect(ok(noOrigin).transfer).toBeUndefined();
    expect(ok(noOrigin).problems).toHaveLength(1);
    const early = ok({ ...transferred, 'Transferred-At': String(NOW - 95_000) });
    expect(early.transfer).toBeUndefined();
    expect(ok({ ...transferred, 'Transferred-From': 'a b' }).transfer).toBeUndefined();
  });

  it('sends an unknown skill to the default skill and says so', () => {
    const c = ok({ skill: 'fraud' });
    expect(c.skill).toBe('support');
    expect(c.requestedSkill).toBe('fraud');
    expect(c.problems).toEqual(['unknown skill "fraud": using the default skill support']);
  });

  it('drops oversized header values instead of trusting or truncating them', () => {
    const c = ok({ Customer: 'x'.repeat(129), Tier: 'gold' });
    expect(c.customerId).toBe('');
    expect(c.tier).toBe(CustomerTier.CUSTOMER_TIER_GOLD);
    expect(c.problems).toEqual(['X-CC-Customer dropped: 129 characters, over the 128 limit']);
  });

  it('replaces malformed values with safe defaults, reporting each', () => {
    const c = ok({
      Tier: 'platinum',
      Customer: "1' OR '1'='1",
      'Origin-Site': 'beijing',
      Arrival: 'yesterday',
      Hops: '-1',
      Traceparent: 'abc',
    });
    expect(c).toMatchObject({
      tier: CustomerTier.CUSTOMER_TIER_STANDARD,
      customerId: '',
      originSite: '',
      arrivalMs: NOW,
      hops: 5,
      traceparent: '',
    });
    expect(c.problems).toHaveLength(6);
  });

  it('does not let a header claim an arrival far in the past or in the future', () => {
    expect(ok({ Arrival: String(NOW - 2 * 3600_000) }).arrivalMs).toBe(NOW);
    expect(ok({ Arrival: String(NOW + 60_000) }).arrivalMs).toBe(NOW);
    expect(ok({ Arrival: String(NOW + 2_000) }).arrivalMs).toBe(NOW);
  });

  it('refuses a number the federation does not serve', () => {
    expect(ctx({}, '110')).toEqual({
      ok: false,
      sipCode: 404,
      reason: 'Not a contact-center number',
    });
  });
});
