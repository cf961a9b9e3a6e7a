// The recording index (table recordings, migration 024), one row per recording: its rows (stored,
// then perhaps deleted; or failed) folded by recording id. Every row of a recording carries its
// call, skill, agent, start, site and tenant, so the scope and the filters apply to all of them
// alike. A site supervisor sees the recordings its site keeps (where the conversation happened);
// a tenant client its own tenant's, at every site.
import { scopeCondition, type Scope } from '@ccfed/analytics/scope';
import { join, sql, type Sql } from '@ccfed/common';
import { z } from 'zod';

export interface RecordingFilter {
  readonly from?: Date;
  readonly to?: Date;
  readonly callId?: string;
  readonly recordingId?: string;
  readonly site?: string;
  readonly tenant?: string;
  readonly agent?: string;
  readonly skill?: string;
  readonly limit: number;
}

/**
 * The recordings visible to `scope` that match `filter`, newest first. The results are named r_*:
 * current ClickHouse resolves a WHERE column to a SELECT alias of the same name, which would be
 * the aggregate.
 */
export function recordingsQuery(scope: Scope, filter: RecordingFilter): Sql {
  const where: Sql[] = [scopeCondition(scope, { site: 'site_id', tenant: 'tenant_id' })];
  if (filter.from) where.push(sql`started_at >= ${filter.from}`);
  if (filter.to) where.push(sql`started_at < ${filter.to}`);
  if (filter.callId !== undefined) where.push(sql`call_id = ${filter.callId}`);
  if (filter.recordingId !== undefined) where.push(sql`recording_id = ${filter.recordingId}`);
  if (filter.site !== undefined) where.push(sql`site_id = ${filter.site}`);
  if (filter.tenant !== undefined) where.push(sql`tenant_id = ${filter.tenant}`);
  if (filter.agent !== undefined) where.push(sql`agent_id = ${filter.agent}`);
  if (filter.skill !== undefined) where.push(sql`skill = ${filter.skill}`);
  return sql`
    SELECT
      recording_id AS r_recording_id,
      any(tenant_id) AS r_tenant_id,
      any(site_id) AS r_site_id,
      any(call_id) AS r_call_id,
      any(skill) AS r_skill,
      any(agent_id) AS r_agent_id,
      toUInt64(any(started_at)) * 1000 + any(started_ms) AS r_started_ms,
      maxIf(duration_ms, kind = 'stored') AS r_duration_ms,
      maxIf(bytes, kind = 'stored') AS r_bytes,
      anyIf(content_type, kind = 'stored') AS r_content_type,
      anyIf(paused_offsets_ms, kind = 'stored') AS r_paused_offsets_ms,
      anyIf(paused_durations_ms, kind = 'stored') AS r_paused_durations_ms,
      anyIf(paused_by, kind = 'stored') AS r_paused_by,
      anyIf(key_id, kind = 'stored') AS r_key_id,
      toUInt64(maxIf(expires_at, kind = 'stored')) * 1000 AS r_expires_ms,
      countIf(kind = 'stored') AS r_stored,
      countIf(kind = 'deleted') AS r_deleted,
      toUInt64(maxIf(event_time, kind = 'deleted')) * 1000 AS r_deleted_ms,
      anyIf(reason, kind = 'deleted') AS r_deleted_reason,
      anyIf(reason, kind = 'failed') AS r_failed_reason
    FROM recordings
    WHERE ${join(where, ' AND ')}
    GROUP BY recording_id
    ORDER BY r_started_ms DESC, r_recording_id
    LIMIT ${filter.limit}`;
}

/** What a recording is now. */
export type RecordingStatus = 'available' | 'deleted' | 'failed';

/** A recording as the API answers it. */
export const recordingSchema = z.object({
  recordingId: z.string(),
  tenantId: z.string(),
  siteId: z.string(),
  callId: z.string(),
  skill: z.string(),
  agentId: z.string(),
  startedAt: z.string(),
  status: z.enum(['available', 'deleted', 'failed']),
  durationMs: z.number(),
  /** Size of the audio playback serves. */
  bytes: z.number(),
  contentType: z.string(),
  paused: z.array(z.object({ offsetMs: z.number(), durationMs: z.number(), pausedBy: z.string() })),
  keyId: z.string(),
  /** When the site's retention job deletes it; null when it is not stored. */
  expiresAt: z.string().nullable(),
  /** When it was deleted, and why; null while it is kept. */
  deletedAt: z.string().nullable(),
  deletedReason: z.string().nullable(),
  /** Why a call the policy records has no recording; null otherwise. */
  failedReason: z.string().nullable(),
});

export type Recording = z.output<typeof recordingSchema>;

const num = z.coerce.number();
const rawRow = z.object({
  r_recording_id: z.string(),
  r_tenant_id: z.string(),
  r_site_id: z.string(),
  r_call_id: z.string(),
  r_skill: z.string(),
  r_agent_id: z.string(),
  r_started_ms: num,
  r_duration_ms: num,
  r_bytes: num,
  r_content_type: z.string(),
  r_paused_offsets_ms: z.array(num),
  r_paused_durations_ms: z.array(num),
  r_paused_by: z.array(z.string()),
  r_key_id: z.string(),
  r_expires_ms: num,
  r_stored: num,
  r_deleted: num,
  r_deleted_ms: num,
  r_deleted_reason: z.string(),
  r_failed_reason: z.string(),
});

/** The rows of recordingsQuery. */
export function parseRecordingRows(rows: readonly unknown[]): Recording[] {
  return rows.map((input) => {
    const r = rawRow.parse(input);
    const status: RecordingStatus =
      r.r_deleted > 0 ? 'deleted' : r.r_stored > 0 ? 'available' : 'failed';
    return {
      recordingId: r.r_recording_id,
      tenantId: r.r_tenant_id,
      siteId: r.r_site_id,
      callId: r.r_call_id,
      skill: r.r_skill,
      agentId: r.r_agent_id,
      startedAt: new Date(r.r_started_ms).toISOString(),
      status,
      durationMs: r.r_duration_ms,
      bytes: r.r_bytes,
      contentType: r.r_content_type,
      paused: r.r_paused_offsets_ms.map((offsetMs, i) => ({
        offsetMs,
        durationMs: r.r_paused_durations_ms[i] ?? 0,
        pausedBy: r.r_paused_by[i] ?? '',
      })),
      keyId: r.r_key_id,
      expiresAt: r.r_stored > 0 ? new Date(r.r_expires_ms).toISOString() : null,
      deletedAt: r.r_deleted > 0 ? new Date(r.r_deleted_ms).toISOString() : null,
      deletedReason: r.r_deleted > 0 ? r.r_deleted_reason : null,
      failedReason: r.r_stored === 0 && r.r_deleted === 0 ? r.r_failed_reason || null : null,
    };
  });
}
