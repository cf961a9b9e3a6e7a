import { CallEvent, type EventMeta } from '@ccfed/proto';

/** What one Kafka message became: a row to store, or a reason to dead-letter it. */
export type Decoded<T> =
  { readonly ok: true; readonly event: T } | { readonly ok: false; readonly reason: string };

/** Decodes a call event and checks what storage relies on; never throws. */
export function decodeCallEvent(value: Buffer | null): Decoded<CallEvent> {
  if (!value || value.length === 0) return { ok: false, reason: 'empty message value' };
  let event: CallEvent;
  try {
    event = CallEvent.decode(value);
  } catch (err) {
    return { ok: false, reason: `not a protobuf CallEvent: ${(err as Error).message}` };
  }
  const metaProblem = checkMeta(event.meta);
  if (metaProblem) return { ok: false, reason: metaProblem };
  if (!event.callId) return { ok: false, reason: 'call_id is empty' };
  if (!event.kind) return { ok: false, reason: 'no event kind set (offered, queued, ...)' };
  return { ok: true, event };
}

const MAX_ID_LENGTH = 128;

function checkMeta(meta: EventMeta | undefined): string | undefined {
  if (!meta) return 'meta is missing';
  for (const [field, value] of [
    ['event_id', meta.eventId],
    ['tenant_id', meta.tenantId],
    ['site_id', meta.siteId],
  ] as const) {
    if (!value) return `meta.${field} is empty`;
    if (value.length > MAX_ID_LENGTH) return `meta.${field} is longer than ${MAX_ID_LENGTH}`;
  }
  if (!meta.eventTime || Number.isNaN(meta.eventTime.getTime()))
    return 'meta.event_time is missing';
  const year = meta.eventTime.getUTCFullYear();
  // DateTime in ClickHouse covers 1970..2105; anything outside is a producer bug, not a call.
  if (year < 2000 || year > 2100)
    return `meta.event_time ${meta.eventTime.toISOString()} is out of range`;
  return undefined;
}
