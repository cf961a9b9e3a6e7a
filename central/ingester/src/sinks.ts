// Which table each topic lands in, and how its messages are decoded and turned into rows.
import type { TopicNames } from '@ccfed/proto';
import {
  decodeAgentEvent,
  decodeCallEvent,
  decodeCrmEvent,
  decodeRecordingEvent,
  decodeRouteDecision,
  decodeSiteSnapshot,
  decodeSurvey,
  type Decoded,
} from './decode.js';
import {
  agentEventRow,
  callEventRow,
  crmEventRow,
  recordingEventRow,
  routeDecisionRow,
  siteSnapshotRows,
  surveyRow,
  type KafkaPosition,
  type Row,
} from './rows.js';

export interface Sink {
  readonly topic: string;
  readonly table: string;
  /** The message's rows and its event id, or why it cannot be stored. */
  toRows(
    value: Buffer | null,
    at: KafkaPosition,
  ): { ok: true; eventId: string; rows: Row[] } | { ok: false; reason: string };
}

function sink<T extends { meta?: { eventId: string } | undefined }>(
  topic: string,
  table: string,
  decode: (value: Buffer | null) => Decoded<T>,
  rows: (event: T, at: KafkaPosition) => Row | Row[],
): Sink {
  return {
    topic,
    table,
    toRows(value, at) {
      const d = decode(value);
      if (!d.ok) return d;
      const r = rows(d.event, at);
      return { ok: true, eventId: d.event.meta!.eventId, rows: Array.isArray(r) ? r : [r] };
    },
  };
}

/** Every topic the ingester consumes, with its table. The dead-letter topic is not consumed. */
export function sinksFor(topics: TopicNames): Sink[] {
  return [
    sink(topics.callEvents, 'call_events', decodeCallEvent, callEventRow),
    sink(topics.agentEvents, 'agent_events', decodeAgentEvent, agentEventRow),
    sink(topics.siteSnapshots, 'site_snapshots', decodeSiteSnapshot, siteSnapshotRows),
    sink(topics.surveys, 'surveys', decodeSurvey, surveyRow),
    sink(topics.crmEvents, 'crm_events', decodeCrmEvent, crmEventRow),
    sink(topics.routeDecisions, 'route_decisions', decodeRouteDecision, routeDecisionRow),
    sink(topics.recordings, 'recordings', decodeRecordingEvent, recordingEventRow),
  ];
}
