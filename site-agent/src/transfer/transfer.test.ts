// The transfer token and target, pure: a token is claimed once, within its time, and only with
// the key and the call it was made for; a target is a known site with an agent of the skill.
import { CustomerTier } from '@ccfed/proto';
import { parseTopology } from '@ccfed/topology';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  PendingTransfers,
  referTo,
  TRANSFER_TOKEN_TTL_MS,
  TransferError,
  transferTarget,
  type TransferGrant,
} from './transfer.js';

const EXAMPLE = new URL('../../../topology/example.yaml', import.meta.url).pathname;
const TOPOLOGY = parseTopology(readFileSync(EXAMPLE, 'utf8'), EXAMPLE);
const T0 = Date.parse('2026-11-22T02:00:00Z');
const KEY = Buffer.alloc(32, 1);
const OLD_KEY = Buffer.alloc(32, 2);
const NONCE = 'AAAAAAAAAAAAAAAAAAAAAA';

const GRANT: TransferGrant = {
  callId: 'c1@host',
  arrivalMs: T0,
  transferredAtMs: T0 + 60_000,
  targetSiteId: 'beijing',
  skill: 'sales',
  fromAgentId: 'sh-002',
  callerHash: 'h',
  context: {
    tenantId: 'acme-bank',
    skill: 'support',
    requestedSkill: '',
    tier: CustomerTier.CUSTOMER_TIER_GOLD,
    customerId: 'cust-1',
    arrivalMs: T0,
    originSite: '',
    hops: 0,
    decisionId: '',
    traceparent: '',
    problems: [],
  },
};

describe('transfer tokens', () => {
  it('are claimed once, with the key, before they expire', () => {
    const pending = new PendingTransfers();
    const token = pending.add(KEY, GRANT, NONCE);
    // Nothing about the customer travels in it.
    expect(token).not.toContain('cust');
    expect(token).toMatch(/^[A-Za-z0-9_-]{22}\.\d+\.[A-Za-z0-9_-]{43}$/);
    expect(pending.claim([KEY], token, T0 + 61_000)).toEqual({ ok: true, grant: GRANT });
    expect(pending.claim([KEY], token, T0 + 61_000)).toMatchObject({ ok: false });
  });

  it('verify with the previous key during a rotation', () => {
    const pending = new PendingTransfers();
    const token = pending.add(OLD_KEY, GRANT, NONCE);
    expect(pending.claim([KEY, OLD_KEY], token, T0 + 61_000).ok).toBe(true);
  });

  it('are refused when expired, forged, altered or unknown', () => {
    const pending = new PendingTransfers();
    const token = pending.add(KEY, GRANT, NONCE);
    expect(pending.claim([OLD_KEY], token, T0 + 61_000)).toEqual({
      ok: false,
      reason: 'transfer token does not verify',
    });
    const [nonce, expires, sig] = token.split('.');
    const later = `${nonce}.${Number(expires) + 60_000}.${sig}`;
    expect(pending.claim([KEY], later, T0 + 61_000).ok).toBe(false);
    expect(pending.claim([KEY], 'not a token', T0 + 61_000)).toEqual({
      ok: false,
      reason: 'malformed transfer token',
    });
    expect(pending.claim([KEY], `B${token.slice(1)}`, T0 + 61_000).ok).toBe(false);
    expect(pending.claim([KEY], token, T0 + 60_000 + TRANSFER_TOKEN_TTL_MS + 1)).toMatchObject({
      ok: false,
      reason: 'no pending transfer for this token (used or expired)',
    });
    expect(pending.size).toBe(0);
  });

  it('ride in the Refer-To of the site that transferred the call, on the number dialed', () => {
    const shanghai = TOPOLOGY.sites.find((s) => s.id === 'shanghai')!;
    expect(referTo(shanghai, '400100200', 'tok')).toBe(
      `sip:400100200@${shanghai.sip.host}:${shanghai.sip.port};ccxfer=tok`,
    );
  });
});

describe('transfer targets', () => {
  const target = (skill: string, siteId: string) =>
    transferTarget(TOPOLOGY, { skill, siteId, fromSiteId: 'shanghai' });

  it('are a site with an agent of the skill; no site means this one', () => {
    expect(target('sales', 'beijing').id).toBe('beijing');
    expect(target('sales', '').id).toBe('shanghai');
  });

  it('refuse unknown skills and sites, and sites without the skill', () => {
    expect(() => target('nope', 'beijing')).toThrow(TransferError);
    expect(() => target('nope', 'beijing')).toThrow('unknown skill "nope"');
    expect(() => target('sales', 'atlantis')).toThrow('unknown site "atlantis"');
    // Beijing without its agents of complaints.
    const topology = {
      ...TOPOLOGY,
      sites: TOPOLOGY.sites.map((s) =>
        s.id === 'beijing'
          ? { ...s, agents: s.agents.filter((a) => !('complaints' in a.skills)) }
          : s,
      ),
    };
    expect(() =>
      transferTarget(topology, { skill: 'complaints', siteId: 'beijing', fromSiteId: 'shanghai' }),
    ).toThrow('site beijing does not serve skill complaints');
    expect(target('complaints', 'beijing').id).toBe('beijing');
  });
});
