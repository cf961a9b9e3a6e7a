import { describe, expect, it } from 'vitest';
import {
  CHURN_MODEL,
  churnContributions,
  rocAuc,
  scoreChurn,
  type ChurnFeatures,
} from './churn-model.js';

const quiet: ChurnFeatures = {
  repeat_contacts: 0,
  complaint: 0,
  abandons: 0,
  long_waits: 0,
  low_csat: 0,
  cancellation_intent: 0,
};

describe('scoreChurn', () => {
  it('gives a customer with no signal the intercept risk and no reasons', () => {
    const { risk, reasons } = scoreChurn(quiet);
    expect(risk).toBeCloseTo(1 / (1 + Math.exp(-CHURN_MODEL.intercept)), 12);
    expect(reasons).toEqual([]);
  });

  it('names the features that raised the risk, largest contribution first', () => {
    // intent 1.6, low CSAT 2 × 0.6 = 1.2, abandons 1 × 0.35, one long wait 0.25 (< threshold).
    const { risk, reasons } = scoreChurn({
      ...quiet,
      cancellation_intent: 1,
      low_csat: 2,
      abandons: 1,
      long_waits: 1,
    });
    expect(reasons).toEqual(['cancellation_intent', 'low_csat', 'abandons']);
    const z = CHURN_MODEL.intercept + 1.6 + 1.2 + 0.35 + 0.25;
    expect(risk).toBeCloseTo(1 / (1 + Math.exp(-z)), 12);
  });

  it('stops counting a feature at its cap, so one noisy customer cannot dominate a list', () => {
    const capped = churnContributions({ ...quiet, repeat_contacts: 50 });
    expect(capped.repeat_contacts).toBeCloseTo(CHURN_MODEL.weights.repeat_contacts.perUnit * 5, 12);
    expect(scoreChurn({ ...quiet, repeat_contacts: 50 }).risk).toBe(
      scoreChurn({ ...quiet, repeat_contacts: 5 }).risk,
    );
  });

  it('rises with every feature', () => {
    for (const name of Object.keys(quiet) as (keyof ChurnFeatures)[])
      expect(scoreChurn({ ...quiet, [name]: 1 }).risk).toBeGreaterThan(scoreChurn(quiet).risk);
  });
});

describe('rocAuc', () => {
  it('is 1 for a perfect ranking, 0 for a reversed one and 0.5 for all ties', () => {
    expect(rocAuc([0.1, 0.2, 0.8, 0.9], [false, false, true, true])).toBe(1);
    expect(rocAuc([0.9, 0.8, 0.2, 0.1], [false, false, true, true])).toBe(0);
    expect(rocAuc([0.5, 0.5, 0.5, 0.5], [false, true, false, true])).toBe(0.5);
  });

  it('counts pairs: 3 of 4 churner/stayer pairs ordered right is 0.75', () => {
    expect(rocAuc([0.1, 0.4, 0.35, 0.8], [false, false, true, true])).toBe(0.75);
  });

  it('refuses a sample without both classes', () => {
    expect(() => rocAuc([0.1, 0.2], [true, true])).toThrow(/both churners and stayers/);
  });
});
