import { CallEvent, type EventMeta } from '@ccfed/proto';
import { describe, expect, it } from 'vitest';
import { campaignAttemptEvent } from './campaign-events.js';

const META: EventMeta = {
  eventId: 'e-1',
  tenantId: 'acme-bank',
  siteId: 'beijing',
  eventTime: new Date('2026-12-07T13:00:00Z'),
  trace: undefined,
  producerSequence: 7,
};

describe('campaign attempt events', () => {
  it('name the campaign, contact, attempt and outcome on the attempt’s call id, and survive the wire', () => {
    const event = campaignAttemptEvent(
      {
        campaignId: 'acme-retention',
        tenantId: 'acme-bank',
        contactId: 'c-17',
        attemptId: 'att-2',
        callId: 'call-2',
        agentId: 'bj-001',
        attempt: 2,
        outcome: 'busy',
        atMs: Date.parse('2026-12-07T13:00:00Z'),
      },
      { skill: 'sales', mode: 'progressive' },
      META,
    );
    const decoded = CallEvent.decode(CallEvent.encode(event).finish());
    expect(decoded).toMatchObject({
      callId: 'call-2',
      skill: 'sales',
      meta: { tenantId: 'acme-bank', siteId: 'beijing' },
      kind: {
        $case: 'campaignAttemptEnded',
        value: {
          campaignId: 'acme-retention',
          contactId: 'c-17',
          attemptId: 'att-2',
          agentId: 'bj-001',
          attempt: 2,
          outcome: 'busy',
          mode: 'progressive',
        },
      },
    });
  });
});
