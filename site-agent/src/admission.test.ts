import { describe, expect, it } from 'vitest';
import { admission, exclusionsOf } from './admission.js';

const base = {
  siteId: 'guangzhou',
  tenantId: 'acme-bank',
  tenantExclusions: exclusionsOf({ 'zenith-telecom': ['guangzhou'] }),
  queued: 0,
  queueLimit: { maxQueued: 3, retryAfterSeconds: 30 },
  overflowedIn: false,
};

describe('admission of a new call', () => {
  it('takes a call while its skill’s queue is under the cap', () => {
    expect(admission({ ...base, queued: 2 })).toEqual({ admit: true });
  });

  it('refuses a caller with 503 and Retry-After once the queue is at its cap', () => {
    expect(admission({ ...base, queued: 3 })).toEqual({
      admit: false,
      code: 503,
      reason: 'Queue Full',
      retryAfterSeconds: 30,
      rule: 'queue_full',
    });
  });

  it('refuses an overflowed call with 486 at the cap, so the origin keeps it', () => {
    expect(admission({ ...base, queued: 3, overflowedIn: true })).toMatchObject({
      admit: false,
      code: 486,
    });
  });

  it('refuses a tenant’s call at a site the policy excludes it from, queue or not', () => {
    expect(admission({ ...base, tenantId: 'zenith-telecom' })).toEqual({
      admit: false,
      code: 403,
      reason: 'Tenant Not Served Here',
      rule: 'tenant_excluded',
    });
    expect(admission({ ...base, siteId: 'beijing', tenantId: 'zenith-telecom' })).toEqual({
      admit: true,
    });
  });
});
