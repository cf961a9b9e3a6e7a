// A campaign attempt's end as the rest of the federation learns it: a CampaignAttemptEnded call
// event on the attempt's call id (docs/campaigns.md; 052_campaign_attempts.sql reads it), beside
// the dialer's own DialAttempted of the same attempt. The contact by its id, never its number.
import { CustomerTier, type CallEvent, type EventMeta } from '@ccfed/proto';
import type { CampaignAttemptRecord, CampaignDefinition } from './campaign-run.js';

/** The call event of one ended attempt. Pure: the same record gives the same event. */
export function campaignAttemptEvent(
  record: CampaignAttemptRecord,
  definition: Pick<CampaignDefinition, 'skill' | 'mode'>,
  meta: EventMeta,
): CallEvent {
  return {
    meta,
    callId: record.callId,
    skill: definition.skill,
    tier: CustomerTier.CUSTOMER_TIER_UNSPECIFIED,
    customerId: '',
    callerHash: '',
    arrivalTime: undefined,
    kind: {
      $case: 'campaignAttemptEnded',
      value: {
        campaignId: record.campaignId,
        contactId: record.contactId,
        attemptId: record.attemptId,
        agentId: record.agentId,
        attempt: record.attempt,
        outcome: record.outcome,
        mode: definition.mode,
        skipReason: record.skipReason ?? '',
      },
    },
  };
}
