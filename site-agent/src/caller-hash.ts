// The caller's pseudonymous id: what every call event and the customer directory name a caller
// by, never the number itself. Pure.
import { createHmac } from 'node:crypto';

/**
 * HMAC-SHA256 of the caller's number (the From user, as the caller presents it) under the
 * federation's caller-hash key (CCFED_CALLER_HASH_KEY), hex, first 32 characters: equal across
 * sites, and not reversible without the key (an unkeyed hash of a phone number is, by trying
 * every number).
 */
export function callerHash(key: string, callerNumber: string): string {
  return createHmac('sha256', key).update(callerNumber).digest('hex').slice(0, 32);
}
