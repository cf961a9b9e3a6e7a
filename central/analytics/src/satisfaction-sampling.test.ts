import { describe, expect, it } from 'vitest';
import {
  surveyAfterWrapUp,
  callDraw,
  surveyProbability,
  surveySampling,
  type ComplaintSeverity,
} from './satisfaction-sampling.js';

const policy = { baseRate: 0.1 };
const calls = (n: number, prefix = 'call') => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
const share = (severity: ComplaintSeverity, p = policy, n = 20_000) =>
  calls(n).filter((callId) => surveySampling({ callId, severity }, p)).length / n;

describe('surveySampling', () => {
  it('always surveys the most severe complaints, critical and major', () => {
    expect(share('critical')).toBe(1);
    expect(share('major')).toBe(1);
    expect(share('critical', { baseRate: 0 })).toBe(1);
  });

  it('surveys calls without a complaint at about the base rate, minor ones at four times it', () => {
    // 20,000 draws: the standard error at 10 % is 0.2 %, so ±1 % is five of them.
    expect(share('none')).toBeGreaterThan(0.09);
    expect(share('none')).toBeLessThan(0.11);
    expect(share('minor')).toBeGreaterThan(0.39);
    expect(share('minor')).toBeLessThan(0.41);
    expect(share('none', { baseRate: 0 })).toBe(0);
    expect(share('minor', { baseRate: 0.5 })).toBe(1);
  });

  it('gives the same answer for the same call every time, and a different sample for another seed', () => {
    const first = calls(2000).map((callId) => surveySampling({ callId, severity: 'none' }, policy));
    expect(
      calls(2000).map((callId) => surveySampling({ callId, severity: 'none' }, policy)),
    ).toEqual(first);
    const reseeded = calls(2000).map((callId) =>
      surveySampling({ callId, severity: 'none' }, { ...policy, seed: 'q2' }),
    );
    expect(reseeded).not.toEqual(first);
    expect(callDraw('x')).toBe(callDraw('x'));
    expect(callDraw('x')).toBeGreaterThanOrEqual(0);
    expect(callDraw('x')).toBeLessThan(1);
  });

  it('ranks probabilities by severity', () => {
    const p = (s: ComplaintSeverity) => surveyProbability(s, { baseRate: 0.05, minorFactor: 3 });
    expect([p('none'), p('minor'), p('major'), p('critical')]).toEqual([
      0.05, 0.15000000000000002, 1, 1,
    ]);
  });

  it('refuses a bad policy or call, naming the field', () => {
    expect(() => surveySampling({ callId: 'c', severity: 'none' }, { baseRate: 1.2 })).toThrow(
      /^baseRate: /,
    );
    expect(() =>
      surveySampling({ callId: 'c', severity: 'none' }, { baseRate: 0.1, minorFactor: 0.5 }),
    ).toThrow(/^minorFactor: /);
    expect(() => surveySampling({ callId: '', severity: 'none' }, policy)).toThrow(/^callId: /);
    expect(() =>
      surveySampling({ callId: 'c', severity: 'awful' as ComplaintSeverity }, policy),
    ).toThrow(/^severity: /);
  });
});

describe('surveyAfterWrapUp', () => {
  it('draws with the severity the agent recorded, else as no complaint', () => {
    const policy = { baseRate: 0 };
    // A base rate of 0 surveys only major and critical complaints: the agent's word decides.
    expect(
      surveyAfterWrapUp({ callId: 'c1', recordedByAgent: true, complaintSeverity: 3 }, policy),
    ).toBe(true);
    expect(
      surveyAfterWrapUp({ callId: 'c1', recordedByAgent: true, complaintSeverity: 1 }, policy),
    ).toBe(false);
    // The time ran out: nothing recorded, whatever the field holds.
    expect(
      surveyAfterWrapUp({ callId: 'c1', recordedByAgent: false, complaintSeverity: 4 }, policy),
    ).toBe(false);
  });
});
