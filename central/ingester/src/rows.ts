import { formatDateTime } from '@ccfed/common';
import type { CallEvent } from '@ccfed/proto';
import { CallEvent as CallEventCodec } from '@ccfed/proto';

/** One row of the `call_events` table (see services/clickhouse/migrations). */
export interface CallEventRow {
  event_id: string;
  tenant_id: string;
  site_id: string;
  call_id: string;
  kind: string;
  event_time: string;
  event_ms: number;
  skill: string;
  agent_id: string;
  /** The kind-specific fields as JSON, for replay and explanation. */
  payload: string;
  kafka_partition: number;
  kafka_offset: string;
}

export interface KafkaPosition {
  readonly partition: number;
  readonly offset: string;
}

/** Maps a validated call event to its row; the same event always gives the same row. */
export function callEventRow(event: CallEvent, at: KafkaPosition): CallEventRow {
  const meta = event.meta!;
  const kind = event.kind!;
  const t = meta.eventTime!;
  const value = kind.value as { skill?: string; agentId?: string };
  const json = CallEventCodec.toJSON(event) as Record<string, unknown>;
  return {
    event_id: meta.eventId,
    tenant_id: meta.tenantId,
    site_id: meta.siteId,
    call_id: event.callId,
    kind: kind.$case,
    event_time: formatDateTime(t),
    event_ms: t.getUTCMilliseconds(),
    skill: value.skill ?? '',
    agent_id: value.agentId ?? '',
    payload: JSON.stringify(json[kind.$case] ?? {}),
    kafka_partition: at.partition,
    kafka_offset: at.offset,
  };
}
