// Which answered calls get a post-call survey. Complaints are what the survey is most needed
// for, so the sampling probability rises with the complaint's severity: major and critical
// complaints are always surveyed, minor ones at several times the base rate, the rest at the
// base rate. The draw is a hash of the call id (and a seed), so it is deterministic: a replayed
// or re-decided call gets the same answer, and no RNG state has to be shared between sites.
import { createHash } from 'node:crypto';
import { InvalidOptionError } from './churn-options.js';

export type ComplaintSeverity = 'none' | 'minor' | 'major' | 'critical';

export interface SurveySamplingPolicy {
  /** Probability of surveying a call with no complaint, in [0, 1]. */
  readonly baseRate: number;
  /** Multiplier on baseRate for a minor complaint (capped at 1); default 4. */
  readonly minorFactor?: number;
  /** Mixed into the hash, to draw a different (still deterministic) sample. */
  readonly seed?: string;
}

/** The probability that a call with this complaint severity is surveyed. */
export function surveyProbability(
  severity: ComplaintSeverity,
  policy: SurveySamplingPolicy,
): number {
  checkPolicy(policy);
  switch (severity) {
    case 'critical':
    case 'major':
      return 1;
    case 'minor':
      return Math.min(1, policy.baseRate * (policy.minorFactor ?? 4));
    case 'none':
      return policy.baseRate;
  }
}

/** A uniform number in [0, 1) from the call id and the seed. */
export function callDraw(callId: string, seed = ''): number {
  const digest = createHash('sha256').update(`${seed}\u0000${callId}`).digest();
  return digest.readUInt32BE(0) / 2 ** 32;
}

/** Whether this answered call gets a post-call survey; the same inputs always give the same answer. */
export function surveySampling(
  call: { readonly callId: string; readonly severity: ComplaintSeverity },
  policy: SurveySamplingPolicy,
): boolean {
  if (typeof call.callId !== 'string' || call.callId === '')
    throw new InvalidOptionError('callId', 'must be a non-empty string');
  if (!['none', 'minor', 'major', 'critical'].includes(call.severity))
    throw new InvalidOptionError(
      'severity',
      `${JSON.stringify(call.severity)} is not none, minor, major or critical`,
    );
  return callDraw(call.callId, policy.seed) < surveyProbability(call.severity, policy);
}

function checkPolicy(policy: SurveySamplingPolicy): void {
  const { baseRate, minorFactor } = policy;
  if (typeof baseRate !== 'number' || !(baseRate >= 0 && baseRate <= 1))
    throw new InvalidOptionError('baseRate', `${String(baseRate)} is not a probability in [0, 1]`);
  if (minorFactor !== undefined && !(Number.isFinite(minorFactor) && minorFactor >= 1))
    throw new InvalidOptionError('minorFactor', `${String(minorFactor)} is not a number ≥ 1`);
}

const WRAP_UP_SEVERITIES: readonly (ComplaintSeverity | undefined)[] = [
  undefined,
  'none',
  'minor',
  'major',
  'critical',
];

/**
 * Whether a call whose wrap-up is done gets a post-call survey: drawn with the severity the agent
 * recorded (WrapUpDone.complaint_severity, 1 none .. 4 critical) when it recorded one, else as a
 * call with no complaint. The agent's word is the only severity known before the survey is sent.
 */
export function surveyAfterWrapUp(
  wrapUp: {
    readonly callId: string;
    readonly recordedByAgent: boolean;
    readonly complaintSeverity: number;
  },
  policy: SurveySamplingPolicy,
): boolean {
  const severity =
    (wrapUp.recordedByAgent && WRAP_UP_SEVERITIES[wrapUp.complaintSeverity]) || 'none';
  return surveySampling({ callId: wrapUp.callId, severity }, policy);
}
