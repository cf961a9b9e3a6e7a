import {
  AgentEvent,
  AgentState,
  CallEvent,
  CustomerTier,
  RecordingEvent,
  topicNames,
} from '@ccfed/proto';
import { describe, expect, it } from 'vitest';
import { sinksFor } from './sinks.js';

const topics = topicNames('t');
const sink = (table: string) => sinksFor(topics).find((s) => s.table === table)!;
const at = { partition: 1, offset: '7' };
const meta = (eventId = 'e-1') => ({
  eventId,
  tenantId: 'acme-bank',
  siteId: 'beijing',
  eventTime: new Date('2026-11-22T09:30:15.250Z'),
  producerSequence: 1,
  trace: undefined,
});
/** One CallEvent's bytes: call c1 about sales, caller unnamed, kind none, unless `fields` say. */
const callEvent = (fields: Partial<CallEvent>) =>
  Buffer.from(
    CallEvent.encode({
      meta: meta(),
      callId: 'c1',
      skill: 'sales',
      tier: CustomerTier.CUSTOMER_TIER_STANDARD,
      customerId: '',
      callerHash: '',
      arrivalTime: undefined,
      kind: undefined,
      ...fields,
    }).finish(),
  );

describe('call events become typed rows', () => {
  it('an answered call: wait and service-level threshold in their columns, others empty', () => {
    const value = callEvent({
      tier: CustomerTier.CUSTOMER_TIER_VIP,
      kind: {
        $case: 'answered',
        value: {
          agentId: 'bj-001',
          skill: 'sales',
          waitMs: 14_000,
          serviceLevelThresholdMs: 20_000,
        },
      },
    });
    const r = sink('call_events').toRows(value, at);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.eventId).toBe('e-1');
    expect(r.rows).toEqual([
      expect.objectContaining({
        event_id: 'e-1',
        call_id: 'c1',
        kind: 'answered',
        event_time: '2026-11-22 09:30:15',
        event_ms: 250,
        event_date: '2026-11-22',
        skill: 'sales',
        tier: CustomerTier.CUSTOMER_TIER_VIP,
        agent_id: 'bj-001',
        wait_ms: 14_000,
        service_level_ms: 20_000,
        talk_ms: 0,
        peer_site_id: '',
        kafka_partition: 1,
        kafka_offset: '7',
      }),
    ]);
  });

  it("an outcome event carries the caller's identity: whose contact it was, without its call", () => {
    const answered = (identity: { customerId: string; callerHash: string; arrivalTime?: Date }) =>
      sink('call_events').toRows(
        callEvent({
          ...identity,
          kind: {
            $case: 'answered',
            value: { agentId: 'bj-001', skill: 'sales', waitMs: 9_000, serviceLevelThresholdMs: 0 },
          },
        }),
        at,
      );
    const r = answered({
      customerId: 'cust-7',
      callerHash: 'h:ab12',
      arrivalTime: new Date('2026-11-22T09:30:06.100Z'),
    });
    expect(r.ok && r.rows[0]).toMatchObject({
      customer_id: 'cust-7',
      caller_hash: 'h:ab12',
      arrival_time: '2026-11-22 09:30:06',
    });
    // From a site agent older than the envelope fields: nothing to say, and nothing invented.
    const old = answered({ customerId: '', callerHash: '' });
    expect(old.ok && old.rows[0]).toMatchObject({
      customer_id: '',
      caller_hash: '',
      arrival_time: '1970-01-01 00:00:00',
    });
  });

  it('an offered event from an older site agent still names its caller, from CallOffered', () => {
    const r = sink('call_events').toRows(
      callEvent({
        kind: {
          $case: 'offered',
          value: {
            dialedNumber: '4001001',
            skill: 'sales',
            tier: CustomerTier.CUSTOMER_TIER_STANDARD,
            customerId: 'cust-8',
            callerHash: 'h:cd34',
            arrivalTime: new Date('2026-11-22T09:29:50Z'),
            requestedSkill: '',
            overflowOriginSiteId: '',
            overflowDecisionId: '',
          },
        },
      }),
      at,
    );
    expect(r.ok && r.rows[0]).toMatchObject({
      customer_id: 'cust-8',
      caller_hash: 'h:cd34',
      arrival_time: '2026-11-22 09:29:50',
    });
  });

  it('an overflowed-out call names its target; kinds are snake_case as the SQL expects', () => {
    const value = callEvent({
      kind: { $case: 'overflowedOut', value: { targetSiteId: 'guangzhou', decisionId: 'd-9' } },
    });
    const r = sink('call_events').toRows(value, at);
    expect(r.ok && r.rows[0]).toMatchObject({
      kind: 'overflowed_out',
      peer_site_id: 'guangzhou',
      decision_id: 'd-9',
    });
  });
});

const recordingEvent = (fields: Partial<RecordingEvent>) =>
  Buffer.from(
    RecordingEvent.encode({
      meta: meta(),
      recordingId: 'r-1',
      callId: 'c1',
      skill: 'sales',
      agentId: 'bj-001',
      started: new Date('2026-11-22T09:28:00.125Z'),
      kind: undefined,
      ...fields,
    }).finish(),
  );

describe('recording events become rows of the recording index', () => {
  it('a stored recording: its size, paused spans, key id and place', () => {
    const value = recordingEvent({
      kind: {
        $case: 'stored',
        value: {
          durationMs: 134_500,
          bytes: 4_304_044,
          sealedBytes: 4_305_300,
          contentType: 'audio/wav',
          paused: [{ offsetMs: 30_000, durationMs: 12_000, pausedBy: 'agent:beijing/bj-001' }],
          keyId: 'k1/acme-bank',
          storagePath: 'acme-bank/2026-11-22/r-1.ccrec',
          expires: new Date('2027-02-20T09:30:15Z'),
        },
      },
    });
    const r = sink('recordings').toRows(value, at);
    expect(r.ok && r.rows).toEqual([
      {
        event_id: 'e-1',
        tenant_id: 'acme-bank',
        site_id: 'beijing',
        event_time: '2026-11-22 09:30:15',
        event_ms: 250,
        event_date: '2026-11-22',
        recording_id: 'r-1',
        call_id: 'c1',
        skill: 'sales',
        agent_id: 'bj-001',
        kind: 'stored',
        started_at: '2026-11-22 09:28:00',
        started_ms: 125,
        duration_ms: 134_500,
        bytes: 4_304_044,
        sealed_bytes: 4_305_300,
        content_type: 'audio/wav',
        paused_offsets_ms: [30_000],
        paused_durations_ms: [12_000],
        paused_by: ['agent:beijing/bj-001'],
        key_id: 'k1/acme-bank',
        storage_path: 'acme-bank/2026-11-22/r-1.ccrec',
        expires_at: '2027-02-20 09:30:15',
        reason: '',
        kafka_partition: 1,
        kafka_offset: '7',
      },
    ]);
  });

  it('a deletion keeps the call, skill and agent of the recording, and says why', () => {
    const value = recordingEvent({
      kind: { $case: 'deleted', value: { reason: 'retention', storagePath: 'acme-bank/x.ccrec' } },
    });
    const r = sink('recordings').toRows(value, at);
    expect(r.ok && r.rows[0]).toMatchObject({
      kind: 'deleted',
      call_id: 'c1',
      agent_id: 'bj-001',
      reason: 'retention',
      storage_path: 'acme-bank/x.ccrec',
      duration_ms: 0,
      paused_offsets_ms: [],
    });
  });

  it('refuses one without a recording id or kind', () => {
    for (const [fields, reason] of [
      [{ recordingId: '' }, /recording_id is empty/],
      [{}, /no event kind/],
    ] as const) {
      const r = sink('recordings').toRows(recordingEvent(fields), at);
      expect(r.ok ? '' : r.reason).toMatch(reason);
    }
  });
});

describe('bad messages get a reason, never an exception', () => {
  const cases: [string, string, Buffer | null, RegExp][] = [
    ['empty value', 'call_events', Buffer.alloc(0), /empty message value/],
    ['null value', 'agent_events', null, /empty message value/],
    [
      'garbage bytes',
      'call_events',
      Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]),
      /not a protobuf CallEvent/,
    ],
    ['no meta', 'call_events', callEvent({ meta: undefined }), /meta is missing/],
    ['no kind', 'call_events', callEvent({}), /no event kind/],
    [
      'agent state out of range',
      'agent_events',
      Buffer.from(
        AgentEvent.encode({
          meta: meta(),
          agentId: 'bj-001',
          fromState: AgentState.AGENT_STATE_READY,
          toState: 99 as AgentState,
          reasonCode: '',
          fromReasonCode: '',
          callId: '',
          fromStateSince: undefined,
        }).finish(),
      ),
      /to_state 99 is not an agent state/,
    ],
    [
      'interval ending before it starts',
      'agent_events',
      Buffer.from(
        AgentEvent.encode({
          meta: meta(),
          agentId: 'bj-001',
          fromState: AgentState.AGENT_STATE_READY,
          toState: AgentState.AGENT_STATE_RESERVED,
          reasonCode: '',
          fromReasonCode: '',
          callId: 'c1',
          fromStateSince: new Date('2026-11-22T10:00:00Z'),
        }).finish(),
      ),
      /from_state_since is after event_time/,
    ],
  ];
  it.each(cases)('%s', (_name, table, value, reason) => {
    const r = sink(table).toRows(value, at);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });
});
