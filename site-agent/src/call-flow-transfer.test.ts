// Blind transfer through the call flow (docs/transfer.md): TransferCall's checks, the command to
// Kamailio, and the caller's new INVITE with the token, queued here with the call's context or
// relayed to the target site; a token used twice, or forged, is a plain new call.
import { CustomerTier } from '@ccfed/proto';
import { describe, expect, it } from 'vitest';
import { SALES, setup } from './call-flow-test-support.js';
import { TransferError } from './transfer/transfer.js';

const SUPPORT = '400200200'; // Beijing, acme-bank

/** A VIP's call to Beijing's support answered by bj-002 (support only), the caller taking REFER. */
function talking(opts: { refer?: boolean } = {}) {
  const t = setup();
  t.staff('bj-002', 6002);
  t.invite('c1', SUPPORT, { Tier: 'vip', Customer: 'cust-9' }, 'trusted', false, {
    refer: opts.refer ?? true,
  });
  t.clock.advance(2_000);
  t.ev({ event: 'answered', callid: 'c1', agent: 'bj-002', toTag: 'agent-tag' });
  t.clock.advance(30_000);
  return t;
}

const transferOf = (t: ReturnType<typeof setup>) => {
  const cmd = t.commands.find((c) => c.action === 'transfer');
  if (!cmd || cmd.action !== 'transfer') throw new Error('no transfer command');
  return cmd;
};

describe('call flow: blind transfer', () => {
  it('refers the caller to this site with a token that brings the call back to sales, here', () => {
    const t = talking();
    const reply = t.flow.transfer({
      agentId: 'bj-002',
      callId: 'c1',
      skill: 'sales',
      siteId: '',
      by: 'agent:beijing/bj-002',
    });
    expect(reply).toEqual({ callId: 'c1', targetSiteId: 'beijing', skill: 'sales' });
    const cmd = transferOf(t);
    expect(cmd).toMatchObject({ callid: 'c1', fromTag: 'tag-c1', toTag: 'agent-tag' });
    expect(cmd.uri).toMatch(
      /^sip:400200200@127\.0\.0\.1:\d+;ccxfer=[A-Za-z0-9_-]{22}\.\d+\.[A-Za-z0-9_-]{43}$/,
    );
    expect(t.kinds('c1')).toEqual(['offered', 'answered', 'transferred', 'ended']);
    expect(t.acd.agentState('bj-002').name).toBe('wrap_up');

    // The caller's new INVITE, 1.5 s later, with the token; bj-001 has sales.
    t.staff('bj-001', 6001);
    t.clock.advance(1_500);
    const xfer = cmd.uri.split(';ccxfer=')[1]!;
    t.invite('c2', SUPPORT, {}, 'untrusted', false, { refer: true, xfer });
    expect(t.kinds('c2')).toEqual(['offered', 'transferredIn']);
    const offered = t.callEvents.find((e) => e.callId === 'c2')!;
    expect(offered).toMatchObject({
      skill: 'sales',
      tier: CustomerTier.CUSTOMER_TIER_VIP,
      customerId: 'cust-9',
      arrivalTime: t.callEvents[0]!.arrivalTime,
    });
    expect(t.last()).toMatchObject({ action: 'relay', agent: 'bj-001' });
    t.clock.advance(4_000);
    t.ev({ event: 'answered', callid: 'c2', agent: 'bj-001', toTag: 'b' });
    const answered = t.callEvents.find((e) => e.callId === 'c2' && e.kind?.$case === 'answered')!;
    // 4 s in the sales queue since the transfer, though the caller first came 33.5 s before.
    expect(answered.kind).toMatchObject({ value: { waitMs: 5_500 } });

    // The same token again is only a new call to the number dialed (support, standard tier).
    t.invite('c3', SUPPORT, {}, 'untrusted', false, { xfer });
    expect(t.callEvents.find((e) => e.callId === 'c3')).toMatchObject({
      skill: 'support',
      tier: CustomerTier.CUSTOMER_TIER_STANDARD,
      customerId: '',
    });
    expect(t.kinds('c3')).not.toContain('transferredIn');
  });

  it('relays the new INVITE to another site with the context signed', () => {
    const t = talking();
    t.flow.transfer({
      agentId: 'bj-002',
      callId: 'c1',
      skill: 'sales',
      siteId: 'shanghai',
      by: 'x',
    });
    const xfer = transferOf(t).uri.split(';ccxfer=')[1]!;
    t.invite('c2', SUPPORT, {}, 'untrusted', false, { xfer });
    expect(t.kinds('c2')).toEqual([]);
    const relay = t.last();
    if (relay.action !== 'relay') throw new Error('not relayed');
    expect(relay).toMatchObject({ peer: 'shanghai', agent: 'overflow:shanghai' });
    expect(relay.hdrs).toContain('X-CC-Skill: sales\r\n');
    expect(relay.hdrs).toContain('X-CC-Customer: cust-9\r\n');
    expect(relay.hdrs).toContain('X-CC-Transferred-From: c1\r\n');
  });

  it('refuses a bad target, another agent’s call, a call not talking, a caller without REFER', () => {
    const req = { agentId: 'bj-002', callId: 'c1', skill: 'sales', siteId: '', by: 'x' };
    const refusal = (t: ReturnType<typeof setup>, r: Partial<typeof req>) => {
      try {
        t.flow.transfer({ ...req, ...r });
      } catch (err) {
        if (err instanceof TransferError) return err.kind;
        throw err;
      }
      return 'transferred';
    };
    const t = talking();
    expect(refusal(t, { skill: 'fraud' })).toBe('invalid_target');
    expect(refusal(t, { siteId: 'atlantis' })).toBe('invalid_target');
    expect(refusal(t, { agentId: 'bj-001' })).toBe('not_transferable');
    expect(refusal(t, { callId: 'c9' })).toBe('not_transferable');
    expect(t.commands.some((c) => c.action === 'transfer')).toBe(false);
    const noRefer = talking({ refer: false });
    expect(refusal(noRefer, {})).toBe('not_transferable');
    expect(noRefer.kinds('c1')).toEqual(['offered', 'answered']);
    // Queued, not talking.
    const q = setup();
    q.invite('c1', SALES, {}, 'trusted', false, { refer: true });
    expect(refusal(q, { agentId: 'bj-001' })).toBe('not_transferable');
  });
});
