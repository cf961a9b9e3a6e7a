// Each Kafka message becomes rows of its topic's raw table (services/clickhouse/migrations).
// Kind-specific fields land in typed columns, 0 or '' where the kind does not have them: the
// per-call fold (007_calls.sql) takes max() over a call's events and relies on exactly that.
import { formatDateTime } from '@ccfed/common';
import {
  AgentState,
  CallAbandoned,
  CallAnswered,
  CallbackAttemptEnded,
  CallbackAttemptStarted,
  CallbackCancelled,
  CallbackHandedIn,
  CallbackHandedOver,
  CallbackHandoverRefused,
  CallbackCompleted,
  CallbackRequested,
  CallbackScheduled,
  CallEnded,
  CallOffered,
  CallQueued,
  CallTransferred,
  ContextRejected,
  DialAttempted,
  DialedCallEnded,
  CampaignAttemptEnded,
  DigitPressed,
  OverflowedIn,
  OverflowedOut,
  OverflowRejected,
  OverflowRequested,
  QueueAnnounced,
  routing,
  TransferredIn,
  WrapUpDone,
  type AgentEvent,
  type CallEvent,
  type CrmEvent,
  type CustomerProfile,
  type EventMeta,
  type RecordingEvent,
  type SiteSnapshot,
  type Survey,
} from '@ccfed/proto';

/** Where a message was in Kafka: stored with its rows, so the ingester can tell what is in. */
export interface KafkaPosition {
  readonly partition: number;
  readonly offset: string;
}

export type Row = Record<string, string | number | boolean | readonly (string | number)[]>;

const EPOCH = formatDateTime(new Date(0));

/**
 * formatDateTime through a small cache by second: a call's events and their arrival times fall in
 * few distinct seconds, and formatting each one afresh was a tenth of building the rows.
 */
const TEXT_CACHE = 256;
const cachedSeconds = new Float64Array(TEXT_CACHE).fill(Number.NaN);
const cachedTexts: string[] = new Array<string>(TEXT_CACHE).fill('');
function dateTimeText(d: Date): string {
  const second = Math.floor(d.getTime() / 1000);
  const slot = second & (TEXT_CACHE - 1);
  if (cachedSeconds[slot] !== second) {
    cachedSeconds[slot] = second;
    cachedTexts[slot] = formatDateTime(d);
  }
  return cachedTexts[slot]!;
}

function metaColumns(meta: EventMeta): Row {
  const t = meta.eventTime!;
  return {
    event_id: meta.eventId,
    tenant_id: meta.tenantId,
    site_id: meta.siteId,
    event_time: dateTimeText(t),
    event_ms: t.getUTCMilliseconds(),
    event_date: dateTimeText(t).slice(0, 10),
  };
}

function position(at: KafkaPosition): Row {
  return { kafka_partition: at.partition, kafka_offset: at.offset };
}

/** 'overflowedOut' → 'overflowed_out': the kind names the SQL uses. */
export function snakeCase(camel: string): string {
  return camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** snakeCase of the few kind names, each worked out once instead of once per event. */
const kindNames = new Map<string, string>();
function kindName(camel: string): string {
  let name = kindNames.get(camel);
  if (name === undefined) kindNames.set(camel, (name = snakeCase(camel)));
  return name;
}

type CallKind = NonNullable<CallEvent['kind']>;

/** Each kind's own message codec: the type makes the table name every kind, with its codec. */
const KIND_CODECS: {
  readonly [K in CallKind['$case']]: {
    toJSON(value: Extract<CallKind, { $case: K }>['value']): unknown;
  };
} = {
  offered: CallOffered,
  queued: CallQueued,
  overflowRequested: OverflowRequested,
  overflowedOut: OverflowedOut,
  overflowedIn: OverflowedIn,
  overflowRejected: OverflowRejected,
  answered: CallAnswered,
  abandoned: CallAbandoned,
  transferred: CallTransferred,
  ended: CallEnded,
  wrapUpDone: WrapUpDone,
  contextRejected: ContextRejected,
  announced: QueueAnnounced,
  digitPressed: DigitPressed,
  transferredIn: TransferredIn,
  callbackRequested: CallbackRequested,
  callbackScheduled: CallbackScheduled,
  callbackAttemptStarted: CallbackAttemptStarted,
  callbackAttemptEnded: CallbackAttemptEnded,
  callbackCompleted: CallbackCompleted,
  callbackCancelled: CallbackCancelled,
  callbackHandedOver: CallbackHandedOver,
  callbackHandedIn: CallbackHandedIn,
  callbackHandoverRefused: CallbackHandoverRefused,
  dialAttempted: DialAttempted,
  dialedCallEnded: DialedCallEnded,
  campaignAttemptEnded: CampaignAttemptEnded,
};

/** The kind's own message as JSON: the payload column. */
function kindPayload(kind: CallKind): string {
  // TypeScript cannot tie the codec looked up by $case to that case's value; the table's type can.
  const codec = KIND_CODECS[kind.$case] as { toJSON(value: CallKind['value']): unknown };
  return JSON.stringify(codec.toJSON(kind.value));
}

/** The row of one call event; the same event always gives the same row. */
export function callEventRow(event: CallEvent, at: KafkaPosition): Row {
  // Built as one object literal of a fixed shape: this runs for every call event, and spreads or
  // properties added later made it the ingester's hottest function (bench:ingest profile).
  const meta = event.meta!;
  const t = meta.eventTime!;
  const kind = event.kind!;
  let agentId = '';
  // The caller's identity is on every event (the envelope); from site agents older than those
  // fields, only on the offered event: then the offered case below fills it.
  let customerId = event.customerId;
  let callerHash = event.callerHash;
  let arrivalTime = event.arrivalTime ? dateTimeText(event.arrivalTime) : EPOCH;
  let waitMs = 0;
  let serviceLevelMs = 0;
  let shortAbandonMs = 0;
  let byCaller = 0;
  let talkMs = 0;
  let holdMs = 0;
  let endedBy = 0;
  let wrapUpMs = 0;
  let disposition = '';
  let wrapUpRecorded = 0;
  let resolvedFirstContact = 0;
  let complaintSeverity = 0;
  let note = '';
  let peerSiteId = '';
  let sipCode = 0;
  let decisionId = '';
  // Callbacks' figures: their own columns (050_callbacks.sql), never wait_ms.
  let callbackOutcome = '';
  let callbackCounted = 0;
  let callbackWaitMs = 0;
  let callbackSlMs = 0;
  switch (kind.$case) {
    case 'offered':
      customerId ||= kind.value.customerId;
      callerHash ||= kind.value.callerHash;
      if (arrivalTime === EPOCH && kind.value.arrivalTime)
        arrivalTime = dateTimeText(kind.value.arrivalTime);
      break;
    case 'answered':
      agentId = kind.value.agentId;
      waitMs = kind.value.waitMs;
      serviceLevelMs = kind.value.serviceLevelThresholdMs;
      break;
    case 'abandoned':
      waitMs = kind.value.waitMs;
      byCaller = kind.value.byCaller ? 1 : 0;
      serviceLevelMs = kind.value.serviceLevelThresholdMs;
      shortAbandonMs = kind.value.shortAbandonMs;
      break;
    case 'ended':
      agentId = kind.value.agentId;
      talkMs = kind.value.talkMs;
      holdMs = kind.value.holdMs;
      endedBy = kind.value.endedBy;
      break;
    case 'wrapUpDone':
      agentId = kind.value.agentId;
      wrapUpMs = kind.value.wrapUpMs;
      disposition = kind.value.disposition;
      // What the agent recorded, when it did (AgentControl.CompleteWrapUp): FCR, complaints and
      // churn prefer it to inference and surveys (docs/kpis.md).
      wrapUpRecorded = kind.value.recordedByAgent ? 1 : 0;
      resolvedFirstContact = kind.value.resolvedFirstContact ? 1 : 0;
      complaintSeverity = kind.value.complaintSeverity;
      note = kind.value.note;
      break;
    case 'overflowedOut':
      peerSiteId = kind.value.targetSiteId;
      decisionId = kind.value.decisionId;
      break;
    case 'overflowedIn':
      peerSiteId = kind.value.originSiteId;
      decisionId = kind.value.decisionId;
      break;
    case 'overflowRejected':
      peerSiteId = kind.value.targetSiteId;
      sipCode = kind.value.sipCode;
      break;
    case 'contextRejected':
      peerSiteId = kind.value.peerSiteId;
      sipCode = kind.value.sipCode;
      break;
    case 'transferred':
      agentId = kind.value.fromAgentId;
      break;
    case 'announced':
      // The announced wait is in the payload; wait_ms stays the outcome's (answered, abandoned).
      break;
    case 'transferredIn':
      peerSiteId = kind.value.fromSiteId;
      break;
    case 'callbackRequested':
      callbackSlMs = kind.value.serviceLevelThresholdMs;
      break;
    case 'callbackScheduled':
      callbackSlMs = kind.value.serviceLevelThresholdMs;
      break;
    case 'callbackAttemptStarted':
      agentId = kind.value.agentId;
      break;
    case 'callbackAttemptEnded':
      agentId = kind.value.agentId;
      callbackOutcome = kind.value.outcome;
      callbackCounted = kind.value.counted ? 1 : 0;
      break;
    case 'callbackCompleted':
      agentId = kind.value.agentId;
      callbackOutcome = 'connected';
      callbackWaitMs = kind.value.waitMs;
      callbackSlMs = kind.value.serviceLevelThresholdMs;
      break;
    case 'callbackCancelled':
      callbackOutcome = kind.value.reason;
      callbackSlMs = kind.value.serviceLevelThresholdMs;
      break;
    // Callbacks between sites: where it went, where it came from, why it stayed.
    case 'callbackHandedOver':
      peerSiteId = kind.value.targetSiteId;
      decisionId = kind.value.decisionId;
      break;
    case 'callbackHandedIn':
      peerSiteId = kind.value.originSiteId;
      decisionId = kind.value.decisionId;
      callbackSlMs = kind.value.serviceLevelThresholdMs;
      break;
    case 'callbackHandoverRefused':
      peerSiteId = kind.value.targetSiteId;
      decisionId = kind.value.decisionId;
      callbackOutcome = kind.value.reason;
      break;
    case 'dialAttempted':
    case 'dialedCallEnded':
      // The outbound call's own fields stay in payload (051_dial_attempts.sql reads the attempt's
      // from there): its talk time in talk_ms would go into the inbound call's fold (007).
      agentId = kind.value.agentId;
      break;
    case 'campaignAttemptEnded':
      // the campaign's fields are in payload: 052_campaign_attempts.sql reads them from there
      agentId = kind.value.agentId;
      break;
    case 'queued':
    case 'overflowRequested':
    case 'digitPressed':
      break;
  }
  const eventTime = dateTimeText(t);
  return {
    event_id: meta.eventId,
    tenant_id: meta.tenantId,
    site_id: meta.siteId,
    event_time: eventTime,
    event_ms: t.getUTCMilliseconds(),
    event_date: eventTime.slice(0, 10),
    call_id: event.callId,
    kind: kindName(kind.$case),
    skill: event.skill,
    tier: event.tier,
    agent_id: agentId,
    customer_id: customerId,
    caller_hash: callerHash,
    arrival_time: arrivalTime,
    wait_ms: waitMs,
    service_level_ms: serviceLevelMs,
    short_abandon_ms: shortAbandonMs,
    by_caller: byCaller,
    talk_ms: talkMs,
    hold_ms: holdMs,
    ended_by: endedBy,
    wrap_up_ms: wrapUpMs,
    disposition,
    wrap_up_recorded: wrapUpRecorded,
    resolved_first_contact: resolvedFirstContact,
    complaint_severity: complaintSeverity,
    note,
    peer_site_id: peerSiteId,
    sip_code: sipCode,
    decision_id: decisionId,
    callback_outcome: callbackOutcome,
    callback_counted: callbackCounted,
    callback_wait_ms: callbackWaitMs,
    callback_sl_ms: callbackSlMs,
    payload: kindPayload(kind),
    kafka_partition: at.partition,
    kafka_offset: at.offset,
  };
}

/** 'ready', 'not_ready', 'on_call', ...: the state names the SQL uses. */
export function agentStateName(state: AgentState): string {
  return AgentState[state]?.replace(/^AGENT_STATE_/, '').toLowerCase() ?? 'unspecified';
}

export function agentEventRow(event: AgentEvent, at: KafkaPosition): Row {
  const meta = event.meta!;
  const t = meta.eventTime!;
  const since = event.fromStateSince;
  const eventTime = dateTimeText(t);
  return {
    event_id: meta.eventId,
    tenant_id: meta.tenantId,
    site_id: meta.siteId,
    event_time: eventTime,
    event_ms: t.getUTCMilliseconds(),
    event_date: eventTime.slice(0, 10),
    agent_id: event.agentId,
    from_state: agentStateName(event.fromState),
    to_state: agentStateName(event.toState),
    reason_code: event.reasonCode,
    from_reason_code: event.fromReasonCode,
    call_id: event.callId,
    from_state_since: since ? dateTimeText(since) : EPOCH,
    from_state_since_ms: since ? since.getUTCMilliseconds() : 0,
    kafka_partition: at.partition,
    kafka_offset: at.offset,
  };
}

/** One row per skill of the snapshot, the per-tenant figures as parallel arrays. */
export function siteSnapshotRows(snapshot: SiteSnapshot, at: KafkaPosition): Row[] {
  const meta = metaColumns(snapshot.meta!);
  return snapshot.skills.map((s) => ({
    ...meta,
    sequence: snapshot.sequence,
    accepting_overflow: snapshot.acceptingOverflow ? 1 : 0,
    skill: s.skill,
    queued: s.queued,
    oldest_wait_ms: s.oldestWaitMs,
    agents_staffed: s.agentsStaffed,
    agents_idle: s.agentsIdle,
    expected_wait_ms: s.expectedWaitMs,
    offered_today: s.offeredToday,
    answered_within_threshold_today: s.answeredWithinThresholdToday,
    answered_today: s.answeredToday,
    abandoned_today: s.abandonedToday,
    inbound_overflow_pending: s.inboundOverflowPending,
    average_handle_ms: s.averageHandleMs,
    tenant_ids: s.tenants.map((t) => t.tenantId),
    tenant_queued: s.tenants.map((t) => t.queued),
    tenant_agents_staffed: s.tenants.map((t) => t.agentsStaffed),
    tenant_agents_idle: s.tenants.map((t) => t.agentsIdle),
    tenant_expected_wait_ms: s.tenants.map((t) => t.expectedWaitMs),
    ...position(at),
  }));
}

export function surveyRow(survey: Survey, at: KafkaPosition): Row {
  const { event_ms: _ms, ...meta } = metaColumns(survey.meta!);
  return {
    ...meta,
    call_id: survey.callId,
    customer_id: survey.customerId,
    agent_id: survey.agentId,
    skill: survey.skill,
    csat: survey.csat,
    nps: survey.nps ?? 0,
    has_nps: survey.nps === undefined ? 0 : 1,
    resolved: survey.resolved ? 1 : 0,
    has_resolved: survey.resolved === undefined ? 0 : 1,
    complaint_severity: survey.complaintSeverity,
    ...position(at),
  };
}

/** A profile's typed attributes (migration 030); zeros and empty strings on the other kinds. */
function profileColumns(p: CustomerProfile | undefined): Row {
  return {
    tenure_months: p?.tenureMonths ?? 0,
    plan: p?.plan ?? '',
    monthly_charges_minor: p?.monthlyChargesMinor ?? 0,
    total_charges_minor: p?.totalChargesMinor ?? 0,
    payment_method: p?.paymentMethod ?? '',
    paperless_billing: p?.paperlessBilling ? 1 : 0,
    flags: p?.flags ?? [],
  };
}

export function crmEventRow(event: CrmEvent, at: KafkaPosition): Row {
  const { event_ms: _ms, ...meta } = metaColumns(event.meta!);
  const kind = event.kind!;
  return {
    ...meta,
    customer_id: event.customerId,
    kind: kindName(kind.$case),
    customer_value_minor: event.customerValueMinor,
    product_id:
      kind.$case === 'purchase' || kind.$case === 'cancellation' ? kind.value.productId : '',
    product_ids: kind.$case === 'holdings' ? kind.value.productIds : [],
    amount_minor: kind.$case === 'purchase' ? kind.value.amountMinor : 0,
    cancel_reason: kind.$case === 'cancellation' ? kind.value.reason : '',
    intent_only: kind.$case === 'cancellation' && kind.value.intentOnly ? 1 : 0,
    ...profileColumns(kind.$case === 'profile' ? kind.value : undefined),
    ...position(at),
  };
}

export function routeDecisionRow(decision: routing.RouteDecision, at: KafkaPosition): Row {
  const { site_id: _site, ...meta } = metaColumns(decision.meta!);
  const request = decision.request!;
  const response = decision.response!;
  const alts = response.alternatives;
  return {
    ...meta,
    decision_id: response.decisionId,
    call_id: request.callId,
    origin_site_id: request.originSiteId,
    skill: request.skill,
    tier: request.tier,
    waited_ms: request.waitedMs,
    origin_expected_wait_ms: request.originExpectedWaitMs,
    hop_count: request.hopCount,
    verdict: response.verdict === routing.Verdict.VERDICT_OVERFLOW ? 'overflow' : 'stay',
    target_site_id: response.targetSiteId,
    reason: response.reason,
    alt_site_ids: alts.map((a) => a.siteId),
    alt_eligible: alts.map((a) => (a.eligible ? 1 : 0)),
    alt_excluded_reasons: alts.map((a) => a.excludedReason),
    alt_expected_wait_ms: alts.map((a) => a.expectedWaitMs),
    alt_handicap_ms: alts.map((a) => a.handicapMs),
    alt_state_age_ms: alts.map((a) => a.stateAgeMs),
    ...position(at),
  };
}

/**
 * The row of one recording event: stored (with its duration, sizes, paused spans and where it
 * lies), deleted or failed (with the reason). Every kind carries the recording's call, skill,
 * agent and start, so a filter on them finds the deletion of a recording as well as its storing.
 */
export function recordingEventRow(event: RecordingEvent, at: KafkaPosition): Row {
  const kind = event.kind!;
  const stored = kind.$case === 'stored' ? kind.value : undefined;
  const started = event.started;
  return {
    ...metaColumns(event.meta!),
    recording_id: event.recordingId,
    call_id: event.callId,
    skill: event.skill,
    agent_id: event.agentId,
    kind: kindName(kind.$case),
    started_at: started ? dateTimeText(started) : EPOCH,
    started_ms: started ? started.getUTCMilliseconds() : 0,
    duration_ms: stored?.durationMs ?? 0,
    bytes: stored?.bytes ?? 0,
    sealed_bytes: stored?.sealedBytes ?? 0,
    content_type: stored?.contentType ?? '',
    paused_offsets_ms: stored?.paused.map((p) => p.offsetMs) ?? [],
    paused_durations_ms: stored?.paused.map((p) => p.durationMs) ?? [],
    paused_by: stored?.paused.map((p) => p.pausedBy) ?? [],
    key_id: stored?.keyId ?? '',
    storage_path: kind.$case === 'stored' || kind.$case === 'deleted' ? kind.value.storagePath : '',
    expires_at: stored?.expires ? dateTimeText(stored.expires) : EPOCH,
    reason: kind.$case === 'stored' ? '' : kind.value.reason,
    ...position(at),
  };
}
