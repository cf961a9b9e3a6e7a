// The recording index and playback: GET /api/v1/recordings lists the recordings the caller may
// hear (HQ all, a site supervisor its site's, a tenant client its own tenant's), deleted and
// failed ones included so that a deletion is visible; POST /api/v1/recordings/playback hands a
// caller who may hear one a short-lived URL for an <audio> element (recordings/recording-audio.ts
// streams it from the site).
import { z } from 'zod';
import { refuseForeign } from '../access.js';
import { badRequest } from '../http/errors.js';
import { intParam, opaqueIdParam, timeParam, topologyIdParam } from '../http/query-string.js';
import { route, scopeOf, type Route } from '../http/route.js';
import { parseRecordingRows, recordingSchema, recordingsQuery } from '../queries/recordings.js';
import { playableRecording, RECORDING_ID_PATTERN } from '../recordings/find-recording.js';
import { issueTicket } from '../recordings/playback-ticket.js';
import { RECORDING_AUDIO_PATH } from '../recordings/recording-audio.js';
import { API, type RouteDeps } from './deps.js';
import { rowsResponse } from './responses.js';

/** The longest period one listing may span. */
const MAX_SPAN_MS = 31 * 86_400_000;
/** How long a ticket plays a recording, beyond its own length (a player paused for a while). */
const TICKET_SLACK_MS = 15 * 60_000;

const listParams = z.strictObject({
  callId: opaqueIdParam('call')
    .optional()
    .describe('the recordings of this call; or give from and to'),
  from: timeParam().optional().describe('recordings started from, inclusive (with to)'),
  to: timeParam().optional().describe('until, exclusive; at most 31 days after from'),
  site: topologyIdParam('site').optional().describe('kept at this site'),
  tenant: topologyIdParam('tenant').optional().describe('of this tenant'),
  agent: topologyIdParam('agent').optional().describe('answered by this agent'),
  skill: topologyIdParam('skill').optional().describe('of calls for this skill'),
  limit: intParam(1, 1000).optional().describe('at most this many, newest first (default 100)'),
});

const playbackBody = z.strictObject({
  recordingId: z
    .string()
    .regex(RECORDING_ID_PATTERN, 'expected a recording id (e.g. 20261122-<uuid>)'),
});

export function recordingRoutes(deps: RouteDeps): Route[] {
  return [
    route({
      method: 'GET',
      path: `${API}/recordings`,
      summary:
        'Call recordings the caller may hear, newest first: available, deleted (when and why) or failed (why), for one call (callId) or a period (from, to).',
      auth: true,
      query: listParams,
      response: rowsResponse('recordings, newest first', recordingSchema),
      async handle(ctx) {
        const scope = scopeOf(ctx);
        const { callId, from, to, site, tenant, agent, skill } = ctx.query;
        if (callId === undefined) {
          if (!from) throw badRequest('from', 'required unless callId is given');
          if (!to) throw badRequest('to', 'required unless callId is given');
          if (!(from < to)) throw badRequest('to', 'expected to be later than from');
          if (to.getTime() - from.getTime() > MAX_SPAN_MS)
            throw badRequest('to', 'expected at most 31 days after from');
        }
        refuseForeign(scope, {
          sites: site === undefined ? [] : [site],
          tenants: tenant === undefined ? [] : [tenant],
        });
        const rows = await deps.runQuery(
          recordingsQuery(scope, {
            ...(callId !== undefined && { callId }),
            ...(from && { from }),
            ...(to && { to }),
            ...(site !== undefined && { site }),
            ...(tenant !== undefined && { tenant }),
            ...(agent !== undefined && { agent }),
            ...(skill !== undefined && { skill }),
            limit: ctx.query.limit ?? 100,
          }),
        );
        return { rows: parseRecordingRows(rows) };
      },
    }),
    route({
      method: 'POST',
      path: `${API}/recordings/playback`,
      summary:
        'A URL that plays one recording (streamed from the site that keeps it, with Range support) for a while: for an <audio> element, which cannot send the bearer token.',
      auth: true,
      body: playbackBody,
      otherErrors: {
        '404': 'no such recording, or it was deleted (the message says when and why) or never made',
      },
      response: z.object({
        url: z.string(),
        expiresAt: z.string(),
        recording: recordingSchema,
      }),
      async handle(ctx) {
        const rec = await playableRecording(deps.runQuery, scopeOf(ctx), ctx.body.recordingId);
        const expiresMs = deps.clock.now() + rec.durationMs + TICKET_SLACK_MS;
        const ticket = issueTicket(ctx.claims!, rec.recordingId, {
          secret: deps.secret,
          expiresMs,
        });
        return {
          url: `${RECORDING_AUDIO_PATH}?ticket=${ticket}`,
          expiresAt: new Date(expiresMs).toISOString(),
          recording: rec,
        };
      },
    }),
  ];
}
