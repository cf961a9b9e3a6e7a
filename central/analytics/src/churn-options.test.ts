import { describe, expect, it } from 'vitest';
import {
  checkDate,
  checkFraction,
  checkId,
  checkLimit,
  checkOneOf,
  InvalidOptionError,
  MAX_CAMPAIGN_LIST,
} from './churn-options.js';

describe('option checks', () => {
  it('accepts ids, limits, fractions, dates and words in range', () => {
    expect(checkId('customerId', 'c-000017')).toBe('c-000017');
    expect(checkId('productId', 'acme.card:gold_1')).toBe('acme.card:gold_1');
    expect(checkLimit('limit', 1)).toBe(1);
    expect(checkLimit('limit', 1000)).toBe(1000);
    expect(checkLimit('limit', MAX_CAMPAIGN_LIST, MAX_CAMPAIGN_LIST)).toBe(100_000);
    expect(checkFraction('minSupport', 1)).toBe(1);
    expect(checkFraction('minSupport', 0.001)).toBe(0.001);
    expect(checkOneOf('by', 'site', ['site', 'skill'])).toBe('site');
  });

  it.each([
    ['customerId', () => checkId('customerId', 'C-1')],
    ['customerId', () => checkId('customerId', "x' OR 1=1")],
    ['customerId', () => checkId('customerId', '')],
    ['customerId', () => checkId('customerId', '-leading-dash')],
    ['customerId', () => checkId('customerId', 'a'.repeat(65))],
    ['limit', () => checkLimit('limit', 0)],
    ['limit', () => checkLimit('limit', 1001)],
    ['limit', () => checkLimit('limit', MAX_CAMPAIGN_LIST + 1, MAX_CAMPAIGN_LIST)],
    ['limit', () => checkLimit('limit', 2.5)],
    ['minSupport', () => checkFraction('minSupport', 0)],
    ['minSupport', () => checkFraction('minSupport', 1.01)],
    ['minConfidence', () => checkFraction('minConfidence', Number.NaN)],
    ['asOf', () => checkDate('asOf', new Date('nope'))],
    ['by', () => checkOneOf('by', 'tenant', ['site', 'skill'])],
  ])('refuses a bad %s with an error naming it', (field, run) => {
    let thrown: unknown;
    try {
      run();
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(InvalidOptionError);
    expect((thrown as InvalidOptionError).field).toBe(field);
    expect((thrown as Error).message).toMatch(new RegExp(`^${field}: `));
  });
});
