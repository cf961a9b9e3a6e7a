// The call flow at the SIP trust boundary: what an INVITE's source may claim, signed overflow
// context, the customer directory, the queue cap and tenant exclusions, and an INVITE whose event
// cannot be read. tests/security/sip-boundary.test.ts tries the same on real Kamailio and sipp.
import { CustomerDirectoryEntry, CustomerTier } from '@ccfed/proto';
import { describe, expect, it } from 'vitest';
import { callerHash } from './caller-hash.js';
import { KEYS, SALES, setup, SHANGHAI, T0 } from './call-flow-test-support.js';
import { CustomerDirectory } from './customer-directory.js';
import { signContext } from './sip-context-signature.js';

const OVERFLOW = {
  'Origin-Site': 'shanghai',
  Arrival: String(T0 - 40_000),
  Hops: '1',
  Tier: 'gold',
  Decision: 'd-1',
};
const FORGED = {
  Tier: 'vip',
  Customer: 'cust-forged',
  Arrival: String(T0 - 3_600_000),
  'Origin-Site': 'shanghai',
  Hops: '1',
};

describe('call flow: who may say what about a call', () => {
  it('serves a call from an untrusted source as a standard call arriving now, whatever it claims', () => {
    const { invite, callEvents, kinds } = setup();
    invite('c1', SALES, FORGED, 'untrusted');
    expect(kinds('c1')).toEqual(['offered', 'queued']);
    expect(callEvents[0]).toMatchObject({
      tier: CustomerTier.CUSTOMER_TIER_STANDARD,
      customerId: '',
      arrivalTime: new Date(T0),
    });
  });

  it('takes an IVR’s word on tier and customer, but not that a call was overflowed or arrived earlier', () => {
    const { invite, callEvents, kinds } = setup();
    invite('c1', SALES, FORGED, 'trusted');
    expect(kinds('c1')).toEqual(['offered', 'queued']);
    expect(callEvents[0]).toMatchObject({
      tier: CustomerTier.CUSTOMER_TIER_VIP,
      customerId: 'cust-forged',
      arrivalTime: new Date(T0),
    });
  });

  it.each([
    ['unsigned context', OVERFLOW],
    ['bad signature', { ...OVERFLOW, Signature: `v1;t=${T0};s=${'A'.repeat(43)}` }],
  ])('refuses (403) a peer’s call with %s, queues nothing and records why', (reason, cc) => {
    const { invite, last, callEvents, acd } = setup();
    invite('c1', SALES, cc, SHANGHAI, true);
    expect(last()).toMatchObject({ action: 'reply', code: 403 });
    expect(acd.queuedCalls('sales')).toEqual([]);
    expect(callEvents).toHaveLength(1);
    expect(callEvents[0]).toMatchObject({
      callId: 'c1',
      meta: { siteId: 'beijing', tenantId: 'acme-bank' },
      kind: { $case: 'contextRejected', value: { peerSiteId: 'shanghai', sipCode: 403, reason } },
    });
  });

  it('refuses a replayed signature, even while the first call is still here, and a stale one', () => {
    const { invite, staff, last, callEvents } = setup();
    staff('bj-001', 6001);
    const signed = {
      ...OVERFLOW,
      Signature: signContext(
        KEYS[0]!,
        { callId: 'c1', dialedNumber: SALES, headers: OVERFLOW },
        T0 - 1_000,
      ),
    };
    invite('c1', SALES, signed, SHANGHAI, true);
    expect(last()).toMatchObject({ action: 'relay', agent: 'bj-001' });
    const sent = callEvents.length;
    invite('c1', SALES, signed, SHANGHAI, true); // the same INVITE again
    expect(last()).toMatchObject({ action: 'reply', code: 403 });
    expect(callEvents.slice(sent).map((e) => e.kind)).toEqual([
      {
        $case: 'contextRejected',
        value: { peerSiteId: 'shanghai', sipCode: 403, reason: 'replayed signature' },
      },
    ]);
    const old = {
      ...OVERFLOW,
      Signature: signContext(
        KEYS[0]!,
        { callId: 'c2', dialedNumber: SALES, headers: OVERFLOW },
        T0 - 31_000,
      ),
    };
    invite('c2', SALES, old, SHANGHAI, true);
    expect(last()).toMatchObject({ action: 'reply', code: 403 });
    expect(callEvents.at(-1)!.kind).toMatchObject({ value: { reason: 'stale signature' } });
  });

  it('refuses a signed context that names another origin than the peer that sent it', () => {
    const { invite, last, callEvents } = setup();
    invite('c1', SALES, { ...OVERFLOW, 'Origin-Site': 'guangzhou' }, SHANGHAI);
    expect(last()).toMatchObject({ action: 'reply', code: 403 });
    expect(callEvents[0]!.kind).toMatchObject({
      value: { reason: 'origin is not the sending site' },
    });
  });

  it('identifies a caller no header names by their number in the customer directory', () => {
    const key = 'caller-hash-key-for-call-flow-tests';
    const directory = new CustomerDirectory();
    const hash = callerHash(key, 'caller-c1'); // the test helper's From user
    directory.apply(
      `acme-bank:${hash}`,
      Buffer.from(
        CustomerDirectoryEntry.encode({
          meta: {
            eventId: 'e',
            tenantId: 'acme-bank',
            siteId: '',
            eventTime: new Date(T0),
            trace: undefined,
            producerSequence: 0,
          },
          callerHash: hash,
          customerId: 'cust-77',
          tier: CustomerTier.CUSTOMER_TIER_GOLD,
        }).finish(),
      ),
    );
    const { invite, callEvents } = setup({ callerHashKey: key, directory });
    invite('c1', SALES, FORGED, 'untrusted');
    expect(callEvents[0]).toMatchObject({
      tier: CustomerTier.CUSTOMER_TIER_GOLD,
      customerId: 'cust-77',
      callerHash: hash,
    });
    invite('c2', SALES, {}, 'untrusted');
    expect(callEvents.find((e) => e.callId === 'c2')).toMatchObject({
      tier: CustomerTier.CUSTOMER_TIER_STANDARD,
      customerId: '',
    });
  });
});

describe('call flow: which calls a site takes', () => {
  it('answers 503 with Retry-After once a skill’s queue is at its cap, and 486 to an overflow', () => {
    const { invite, last, kinds } = setup({
      mutate: (doc) =>
        doc.replace(
          'wrapUpSeconds: 5\n',
          'wrapUpSeconds: 5\n    queueLimit: { maxQueued: 2, retryAfterSeconds: 45 }\n',
        ),
    });
    invite('c1', SALES);
    invite('c2', SALES);
    invite('c3', SALES);
    expect(last()).toEqual({
      action: 'reply',
      tindex: 3,
      tlabel: 1003,
      code: 503,
      reason: 'Queue Full',
      retryAfter: 45,
    });
    expect(kinds('c3')).toEqual([]);
    invite('c4', SALES, OVERFLOW, SHANGHAI);
    expect(last()).toMatchObject({ action: 'reply', code: 486 });
  });

  it('refuses (403) a tenant’s number at a site the routing policy excludes it from', () => {
    const { invite, last, callEvents } = setup({
      tenantExclusions: { 'acme-bank': ['beijing'] },
    });
    invite('c1', SALES);
    expect(last()).toMatchObject({ action: 'reply', code: 403, reason: 'Tenant Not Served Here' });
    expect(callEvents).toEqual([]);
  });

  it('answers at once (400) an INVITE whose event it cannot read, instead of leaving it queued', () => {
    const { ev, last } = setup();
    ev({ event: 'invite_unusable', tindex: 7, tlabel: 70, reason: 'fromUser: too long' });
    expect(last()).toEqual({
      action: 'reply',
      tindex: 7,
      tlabel: 70,
      code: 400,
      reason: 'Bad Request',
    });
  });
});
