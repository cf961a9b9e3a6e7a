// Kafka message bytes → a checked protobuf message, or the reason it cannot be stored. Never
// throws: a bad message is dead-lettered with its reason and the ingester carries on.
import {
  AgentEvent,
  AgentState,
  CallEvent,
  CrmEvent,
  RecordingEvent,
  SiteSnapshot,
  Survey,
  routing,
  type EventMeta,
} from '@ccfed/proto';

/** What one Kafka message became: an event to store, or a reason to dead-letter it. */
export type Decoded<T> =
  { readonly ok: true; readonly event: T } | { readonly ok: false; readonly reason: string };

interface Codec<T> {
  decode(bytes: Uint8Array): T;
}

/** Decodes with `codec`, checks the meta every event carries, then `check` (a problem or undefined). */
function decoder<T extends { meta?: EventMeta | undefined }>(
  type: string,
  codec: Codec<T>,
  check: (event: T) => string | undefined,
): (value: Buffer | null) => Decoded<T> {
  return (value) => {
    if (!value || value.length === 0) return { ok: false, reason: 'empty message value' };
    let event: T;
    try {
      event = codec.decode(value);
    } catch (err) {
      return { ok: false, reason: `not a protobuf ${type}: ${(err as Error).message}` };
    }
    const problem = checkMeta(event.meta) ?? check(event);
    return problem ? { ok: false, reason: problem } : { ok: true, event };
  };
}

const MAX_ID_LENGTH = 128;

function checkId(field: string, value: string): string | undefined {
  if (!value) return `${field} is empty`;
  if (value.length > MAX_ID_LENGTH) return `${field} is longer than ${MAX_ID_LENGTH}`;
  return undefined;
}

function checkMeta(meta: EventMeta | undefined): string | undefined {
  if (!meta) return 'meta is missing';
  const idProblem =
    checkId('meta.event_id', meta.eventId) ??
    checkId('meta.tenant_id', meta.tenantId) ??
    checkId('meta.site_id', meta.siteId);
  if (idProblem) return idProblem;
  return checkTime('meta.event_time', meta.eventTime);
}

function checkTime(field: string, t: Date | undefined): string | undefined {
  if (!t || Number.isNaN(t.getTime())) return `${field} is missing`;
  const year = t.getUTCFullYear();
  // DateTime in ClickHouse covers 1970..2105; anything outside is a producer bug, not a call.
  if (year < 2000 || year > 2100) return `${field} ${t.toISOString()} is out of range`;
  return undefined;
}

export const decodeCallEvent = decoder('CallEvent', CallEvent, (e) => {
  const idProblem = checkId('call_id', e.callId);
  if (idProblem) return idProblem;
  if (!e.kind) return 'no event kind set (offered, queued, ...)';
  if (e.kind.$case === 'offered' && e.kind.value.arrivalTime)
    return checkTime('offered.arrival_time', e.kind.value.arrivalTime);
  return undefined;
});

export const decodeAgentEvent = decoder('AgentEvent', AgentEvent, (e) => {
  const idProblem = checkId('agent_id', e.agentId);
  if (idProblem) return idProblem;
  if (!(e.toState in AgentState) || e.toState === AgentState.AGENT_STATE_UNSPECIFIED)
    return `to_state ${e.toState} is not an agent state`;
  if (!(e.fromState in AgentState)) return `from_state ${e.fromState} is not an agent state`;
  if (e.fromStateSince) {
    const problem = checkTime('from_state_since', e.fromStateSince);
    if (problem) return problem;
    if (e.fromStateSince.getTime() > e.meta!.eventTime!.getTime())
      return 'from_state_since is after event_time';
  }
  return undefined;
});

export const decodeSiteSnapshot = decoder('SiteSnapshot', SiteSnapshot, (s) => {
  for (const skill of s.skills) {
    if (!skill.skill) return 'a skill snapshot has no skill id';
    for (const t of skill.tenants) if (!t.tenantId) return `skill ${skill.skill}: empty tenant_id`;
  }
  return undefined;
});

export const decodeSurvey = decoder('Survey', Survey, (s) => {
  const idProblem = checkId('call_id', s.callId);
  if (idProblem) return idProblem;
  if (s.csat > 5) return `csat ${s.csat} is out of range 0..5`;
  if (s.nps !== undefined && s.nps > 10) return `nps ${s.nps} is out of range 0..10`;
  return undefined;
});

export const decodeCrmEvent = decoder('CrmEvent', CrmEvent, (e) => {
  const idProblem = checkId('customer_id', e.customerId);
  if (idProblem) return idProblem;
  if (!e.kind) return 'no event kind set (purchase, holdings, cancellation, profile)';
  return undefined;
});

export const decodeRouteDecision = decoder('RouteDecision', routing.RouteDecision, (d) => {
  if (!d.request) return 'request is missing';
  if (!d.response) return 'response is missing';
  return checkId('response.decision_id', d.response.decisionId);
});

export const decodeRecordingEvent = decoder('RecordingEvent', RecordingEvent, (e) => {
  const idProblem = checkId('recording_id', e.recordingId) ?? checkId('call_id', e.callId);
  if (idProblem) return idProblem;
  if (!e.kind) return 'no event kind set (stored, deleted, failed)';
  if (e.started) {
    const problem = checkTime('started', e.started);
    if (problem) return problem;
  }
  if (e.kind.$case === 'stored' && e.kind.value.expires)
    return checkTime('stored.expires', e.kind.value.expires);
  return undefined;
});
