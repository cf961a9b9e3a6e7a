// Checks for the options every analytics query takes from a request (used by churn, cross-sell
// and satisfaction alike). A bad option throws InvalidOptionError naming the field, so the HTTP
// layer can answer 400 with that message instead of sending anything odd to ClickHouse.

/** An option that a query builder refused; `field` names it, the message says what was wrong. */
export class InvalidOptionError extends Error {
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`${field}: ${problem}`);
    this.name = 'InvalidOptionError';
  }
}

const ID = /^[a-z0-9][a-z0-9._:-]{0,63}$/;

/** A customer, product, site or agent id: lower-case letters, digits and . _ : -, at most 64. */
export function checkId(field: string, value: unknown): string {
  if (typeof value !== 'string' || !ID.test(value)) {
    throw new InvalidOptionError(
      field,
      `${JSON.stringify(value)} is not an id (lower-case letters, digits, . _ : -; 1 to 64 characters, starting with a letter or digit)`,
    );
  }
  return value;
}

/**
 * The most customers a campaign's list may hold (the churn call-back list, the survey sample):
 * the site's own limit per list (site-agent/src/grpc/campaign-rpcs.ts MAX_CAMPAIGN_CONTACTS).
 */
export const MAX_CAMPAIGN_LIST = 100_000;

/** A row limit: a whole number from 1 to `max` (1000 unless the rows are a campaign's list). */
export function checkLimit(field: string, value: unknown, max = 1000): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw new InvalidOptionError(field, `${String(value)} is not a whole number from 1 to ${max}`);
  }
  return value;
}

/** A share such as a support or a confidence: a number in (0, 1]. */
export function checkFraction(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > 1) {
    throw new InvalidOptionError(field, `${String(value)} is not a number in (0, 1]`);
  }
  return value;
}

/** A valid Date. */
export function checkDate(field: string, value: unknown): Date {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) {
    throw new InvalidOptionError(field, `${String(value)} is not a valid Date`);
  }
  return value;
}

/** One of the allowed words. */
export function checkOneOf<T extends string>(
  field: string,
  value: unknown,
  allowed: readonly T[],
): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new InvalidOptionError(
      field,
      `${JSON.stringify(value)} is not one of ${allowed.map((a) => `'${a}'`).join(', ')}`,
    );
  }
  return value as T;
}
