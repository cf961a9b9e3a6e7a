import { CustomerDirectoryEntry, CustomerTier } from '@ccfed/proto';
import { describe, expect, it } from 'vitest';
import { callerHash } from './caller-hash.js';
import { CustomerDirectory } from './customer-directory.js';

const HASH = callerHash('caller-hash-key-for-tests', '8613800000001');

function entry(over: Partial<CustomerDirectoryEntry> = {}, tenantId = 'acme-bank'): Buffer {
  return Buffer.from(
    CustomerDirectoryEntry.encode({
      meta: {
        eventId: 'e1',
        tenantId,
        siteId: '',
        eventTime: new Date(0),
        trace: undefined,
        producerSequence: 0,
      },
      callerHash: HASH,
      customerId: 'cust-42',
      tier: CustomerTier.CUSTOMER_TIER_VIP,
      ...over,
    }).finish(),
  );
}

describe('customer directory', () => {
  it('finds a caller by tenant and caller hash, and only there', () => {
    const d = new CustomerDirectory();
    expect(d.apply(`acme-bank:${HASH}`, entry())).toEqual({
      outcome: 'set',
      key: `acme-bank:${HASH}`,
    });
    expect(d.lookup('acme-bank', HASH)).toEqual({
      customerId: 'cust-42',
      tier: CustomerTier.CUSTOMER_TIER_VIP,
    });
    expect(d.lookup('zenith-telecom', HASH)).toBeUndefined();
  });

  it('keeps the latest entry per caller and forgets one on a tombstone', () => {
    const d = new CustomerDirectory();
    d.apply(`acme-bank:${HASH}`, entry());
    d.apply(`acme-bank:${HASH}`, entry({ tier: CustomerTier.CUSTOMER_TIER_GOLD }));
    expect(d.lookup('acme-bank', HASH)?.tier).toBe(CustomerTier.CUSTOMER_TIER_GOLD);
    expect(d.apply(Buffer.from(`acme-bank:${HASH}`), null).outcome).toBe('forgotten');
    expect(d.lookup('acme-bank', HASH)).toBeUndefined();
    expect(d.size).toBe(0);
  });

  it.each([
    ['a key that is not the entry’s', 'zenith-telecom:' + HASH, entry()],
    [
      'a caller hash that is not one',
      'acme-bank:+8613800000001',
      entry({ callerHash: '+8613800000001' }),
    ],
    [
      'a customer id that could carry anything',
      `acme-bank:${HASH}`,
      entry({ customerId: 'x; DROP' }),
    ],
    ['an unknown tier', `acme-bank:${HASH}`, entry({ tier: 9 as CustomerTier })],
    ['bytes that are no entry', `acme-bank:${HASH}`, Buffer.from([0xff, 0xff, 0xff])],
  ])('refuses %s, changing nothing', (_what, key, value) => {
    const d = new CustomerDirectory();
    expect(d.apply(key, value).outcome).toBe('rejected');
    expect(d.size).toBe(0);
  });
});
