import { CustomerTier, type CallEvent } from '@ccfed/proto';
import { describe, expect, it } from 'vitest';
import { callEventRow } from './rows.js';

const AT = { partition: 2, offset: '41' };

function event(kind: CallEvent['kind']): CallEvent {
  return {
    meta: {
      eventId: 'e-1',
      tenantId: 'acme-bank',
      siteId: 'beijing',
      eventTime: new Date('2026-11-22T02:00:03.250Z'),
      trace: undefined,
      producerSequence: 1,
    },
    callId: 'c-1',
    skill: 'support',
    tier: CustomerTier.CUSTOMER_TIER_GOLD,
    customerId: 'cust-1',
    callerHash: 'h',
    arrivalTime: new Date('2026-11-22T02:00:00Z'),
    kind,
  };
}

describe('call event rows of the queue experience', () => {
  it('lands a digit pressed while queued under its kind, the digit in the payload', () => {
    const row = callEventRow(
      event({ $case: 'digitPressed', value: { digit: '1', durationMs: 120, waitedMs: 3_250 } }),
      AT,
    );
    expect(row).toMatchObject({ kind: 'digit_pressed', call_id: 'c-1', wait_ms: 0 });
    expect(JSON.parse(String(row.payload))).toEqual({
      digit: '1',
      durationMs: 120,
      waitedMs: 3250,
    });
  });

  it('lands an announcement with what the caller was told', () => {
    const row = callEventRow(
      event({
        $case: 'announced',
        value: { position: 2, expectedWaitMs: 170_000, announcedWait: '3', language: 'en' },
      }),
      AT,
    );
    expect(row).toMatchObject({ kind: 'announced', wait_ms: 0 });
    expect(JSON.parse(String(row.payload))).toEqual({
      position: 2,
      expectedWaitMs: 170000,
      announcedWait: '3',
      language: 'en',
    });
  });
});

describe('call event rows of a transfer', () => {
  it('lands the transfer at the site that made it, with its target, and the transferred-in leg', () => {
    const out = callEventRow(
      event({
        $case: 'transferred',
        value: {
          fromAgentId: 'bj-001',
          to: 'sales@shanghai',
          blind: true,
          targetSiteId: 'shanghai',
          targetSkill: 'sales',
          by: 'agent:beijing/bj-001',
        },
      }),
      AT,
    );
    expect(out).toMatchObject({ kind: 'transferred', agent_id: 'bj-001' });
    expect(JSON.parse(String(out.payload))).toMatchObject({
      targetSiteId: 'shanghai',
      targetSkill: 'sales',
    });
    const into = callEventRow(
      event({
        $case: 'transferredIn',
        value: {
          fromCallId: 'c-0',
          fromSiteId: 'shanghai',
          transferredAt: new Date('2026-11-22T02:00:02Z'),
        },
      }),
      AT,
    );
    expect(into).toMatchObject({ kind: 'transferred_in', peer_site_id: 'shanghai' });
    expect(JSON.parse(String(into.payload))).toEqual({
      fromCallId: 'c-0',
      fromSiteId: 'shanghai',
      transferredAt: '2026-11-22T02:00:02.000Z',
    });
  });
});

describe('call event rows of a callback', () => {
  it('lands a completed callback with its own wait and target, never in wait_ms (the call fold takes max of it)', () => {
    const row = callEventRow(
      event({
        $case: 'callbackCompleted',
        value: {
          agentId: 'bj-002',
          waitMs: 600_000,
          serviceLevelThresholdMs: 1_800_000,
          attempts: 2,
        },
      }),
      AT,
    );
    expect(row).toMatchObject({
      kind: 'callback_completed',
      agent_id: 'bj-002',
      wait_ms: 0,
      service_level_ms: 0,
      callback_outcome: 'connected',
      callback_wait_ms: 600_000,
      callback_sl_ms: 1_800_000,
    });
  });

  it('lands a callback’s handover at both sites with the other site as peer, a refusal with its reason', () => {
    const out = callEventRow(
      event({
        $case: 'callbackHandedOver',
        value: { targetSiteId: 'guangzhou', decisionId: 'd-1', attempts: 1 },
      }),
      AT,
    );
    expect(out).toMatchObject({
      kind: 'callback_handed_over',
      peer_site_id: 'guangzhou',
      decision_id: 'd-1',
    });
    const into = callEventRow(
      event({
        $case: 'callbackHandedIn',
        value: {
          originSiteId: 'beijing',
          decisionId: 'd-1',
          attempts: 1,
          serviceLevelThresholdMs: 1_800_000,
        },
      }),
      AT,
    );
    expect(into).toMatchObject({
      kind: 'callback_handed_in',
      peer_site_id: 'beijing',
      callback_sl_ms: 1_800_000,
      wait_ms: 0,
    });
    const refused = callEventRow(
      event({
        $case: 'callbackHandoverRefused',
        value: { targetSiteId: 'guangzhou', decisionId: 'd-2', reason: 'no capacity' },
      }),
      AT,
    );
    expect(refused).toMatchObject({
      kind: 'callback_handover_refused',
      peer_site_id: 'guangzhou',
      callback_outcome: 'no capacity',
    });
  });

  it('lands an attempt that did not count (the agent did not answer) and one that did', () => {
    const ended = (outcome: string, counted: boolean) =>
      callEventRow(
        event({
          $case: 'callbackAttemptEnded',
          value: {
            attemptId: 'c-1.1.bj-002',
            agentId: 'bj-002',
            outcome,
            counted,
            attempts: counted ? 1 : 0,
            nextAttemptAt: new Date('2026-11-22T02:05:00Z'),
            reason: '',
          },
        }),
        AT,
      );
    expect(ended('agent_no_answer', false)).toMatchObject({
      kind: 'callback_attempt_ended',
      callback_outcome: 'agent_no_answer',
      callback_counted: 0,
    });
    expect(ended('busy', true)).toMatchObject({ callback_outcome: 'busy', callback_counted: 1 });
  });
});

describe('call event rows of the outbound dialer', () => {
  it('lands an attempt under its kind with its agent; outcome, order and duration in the payload', () => {
    const row = callEventRow(
      event({
        $case: 'dialAttempted',
        value: {
          attemptId: 'att-1',
          agentId: 'bj-001',
          order: 'agent_first',
          outcome: 'busy',
          reason: '',
          durationMs: 4_200,
          customerAnsweredAt: undefined,
        },
      }),
      AT,
    );
    expect(row).toMatchObject({ kind: 'dial_attempted', agent_id: 'bj-001', caller_hash: 'h' });
    expect(JSON.parse(String(row.payload))).toEqual({
      attemptId: 'att-1',
      agentId: 'bj-001',
      order: 'agent_first',
      outcome: 'busy',
      durationMs: 4200,
    });
  });

  it('lands a dialed call’s end with its agent and its talk time in the payload only, out of the inbound fold’s talk_ms', () => {
    const row = callEventRow(
      event({
        $case: 'dialedCallEnded',
        value: { attemptId: 'att-1', agentId: 'bj-001', talkMs: 61_000, endedBy: 1 },
      }),
      AT,
    );
    expect(row).toMatchObject({ kind: 'dialed_call_ended', agent_id: 'bj-001', talk_ms: 0 });
    expect(JSON.parse(String(row.payload))).toMatchObject({ talkMs: 61000 });
  });
});

describe('call event rows of outbound campaigns', () => {
  it('lands an attempt under its kind with its agent; campaign, contact, attempt and outcome in the payload', () => {
    const row = callEventRow(
      event({
        $case: 'campaignAttemptEnded',
        value: {
          campaignId: 'acme-retention',
          contactId: 'c-17',
          attemptId: 'att-2',
          agentId: 'bj-001',
          attempt: 2,
          outcome: 'abandoned',
          mode: 'predictive',
          skipReason: '',
        },
      }),
      AT,
    );
    expect(row).toMatchObject({ kind: 'campaign_attempt_ended', agent_id: 'bj-001' });
    expect(JSON.parse(String(row.payload))).toEqual({
      campaignId: 'acme-retention',
      contactId: 'c-17',
      attemptId: 'att-2',
      agentId: 'bj-001',
      attempt: 2,
      outcome: 'abandoned',
      mode: 'predictive',
    });
  });
});
