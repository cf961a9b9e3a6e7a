// Which calls are recorded, and how long recordings are kept: per tenant (the outsourcing client
// decides for its own calls), with per-skill exceptions. The schema part is in the topology file
// (tenants[].recording); the decision is one pure function every site applies alike.
//
//   tenants:
//     - id: acme-bank
//       recording:
//         calls: sample          # all | none | sample
//         samplePercent: 20      # with sample only
//         retentionDays: 90      # how long a site keeps each recording (fractions allowed)
//         skills:                # exceptions by skill, same shape without retentionDays
//           complaints: { calls: all }
//
// A tenant without `recording` has none of its calls recorded.
import { createHash } from 'node:crypto';
import { z } from 'zod';

export const RECORDING_CALLS = ['all', 'none', 'sample'] as const;
export type RecordingCalls = (typeof RECORDING_CALLS)[number];

const calls = z.enum(RECORDING_CALLS, {
  error: 'expected all, none or sample',
});
const samplePercent = z
  .number({ error: 'expected a percentage of calls' })
  .gt(0, 'expected a percentage greater than 0 (use calls: none for none)')
  .lt(100, 'expected a percentage below 100 (use calls: all for every call)');

/** Whether `samplePercent` goes with `calls` (given with sample, and only with sample). */
function checkSample(
  rule: { calls: RecordingCalls; samplePercent?: number },
  ctx: z.RefinementCtx,
) {
  if (rule.calls === 'sample' && rule.samplePercent === undefined)
    ctx.addIssue({
      code: 'custom',
      path: ['samplePercent'],
      message: 'required with calls: sample (the share of calls to record, e.g. 20)',
    });
  if (rule.calls !== 'sample' && rule.samplePercent !== undefined)
    ctx.addIssue({
      code: 'custom',
      path: ['samplePercent'],
      message: `only with calls: sample (calls is ${rule.calls})`,
    });
}

const skillRule = z
  .strictObject({ calls, samplePercent: samplePercent.optional() })
  .superRefine(checkSample);

/** A tenant's recording policy (tenants[].recording); skill ids are checked with the topology. */
export const tenantRecordingSchema = z
  .strictObject({
    calls,
    samplePercent: samplePercent.optional(),
    /**
     * Days each recording of the tenant is kept at the site that made it, then deleted (the
     * deletion is recorded). Fractions are allowed (0.5 is 12 hours).
     */
    retentionDays: z
      .number({ error: 'expected a number of days' })
      .positive('expected a number of days greater than 0')
      .max(36_500, 'expected at most 36500 days (100 years)'),
    /** Exceptions by skill id: e.g. every complaint recorded while sales are sampled. */
    skills: z.record(z.string(), skillRule).default({}),
  })
  .superRefine(checkSample);

export type TenantRecording = z.output<typeof tenantRecordingSchema>;

/** What the policy says of one call. */
export interface RecordingDecision {
  readonly record: boolean;
  /** The rule that decided: the skill's exception, the tenant's policy, or none configured. */
  readonly source: 'skill' | 'tenant' | 'no_policy';
  readonly calls: RecordingCalls;
  /** With calls: sample. */
  readonly samplePercent?: number;
}

/**
 * Whether the call `callId` of `tenant` on `skill` is recorded. Deterministic: the same call id
 * always gets the same answer (a sample draws by the call id, not by chance), so a retry, a
 * restarted site agent or another site asked about the same call agree.
 */
export function recordingDecision(
  tenant: { readonly recording?: TenantRecording | undefined },
  skill: string,
  callId: string,
): RecordingDecision {
  const policy = tenant.recording;
  if (!policy) return { record: false, source: 'no_policy', calls: 'none' };
  const exception = policy.skills[skill];
  const rule = exception ?? policy;
  const source = exception ? 'skill' : 'tenant';
  switch (rule.calls) {
    case 'all':
      return { record: true, source, calls: 'all' };
    case 'none':
      return { record: false, source, calls: 'none' };
    case 'sample': {
      const percent = rule.samplePercent!;
      return {
        record: sampleBucket(callId) < percent,
        source,
        calls: 'sample',
        samplePercent: percent,
      };
    }
  }
}

/**
 * Where a call id falls in [0, 100): the first 52 bits of SHA-256 of the id, scaled. Uniform over
 * call ids, and the same everywhere. A caller chooses their own Call-ID but never learns whether
 * it was drawn, so cannot steer the draw; a policy that must not miss a call says `all`.
 */
export function sampleBucket(callId: string): number {
  const digest = createHash('sha256').update('ccfed-recording-sample\0').update(callId).digest();
  // 52 bits fit a double exactly.
  const bits = digest.readUIntBE(0, 6) * 16 + (digest[6]! >> 4);
  return (bits / 2 ** 52) * 100;
}

/** How long `tenant` keeps a recording, in ms; undefined when the tenant has no policy. */
export function retentionMs(tenant: {
  readonly recording?: TenantRecording | undefined;
}): number | undefined {
  const days = tenant.recording?.retentionDays;
  return days === undefined ? undefined : Math.round(days * 86_400_000);
}
