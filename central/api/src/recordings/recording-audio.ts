// GET /api/v1/recordings/audio: a recording's audio, streamed from the site that keeps it, with
// Range support (a player seeking asks for a byte range and gets 206). Who may hear it is decided
// here on every request (find-recording.ts: HQ all, a site supervisor its site's, a tenant client
// its own tenant's; 403 otherwise; 404 once it is deleted); the site decrypts it with its
// tenant's key and streams it to the API's certificate only.
//
// Authentication: `?ticket=` (a playback ticket, what an <audio> element can carry), or
// `Authorization: Bearer` with `?id=<recording id>` (other clients). Refusals are the API's
// generic 401s; why goes to the log.
import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Clock, type Logger } from '@ccfed/common';
import { ClientError, Status } from 'nice-grpc';
import { analyticsScope } from '../access.js';
import { bearerClaims } from '../auth/bearer.js';
import { TokenError, type Claims } from '../auth/token.js';
import type { RunQuery } from '../clickhouse.js';
import { HttpError, UNAUTHORIZED } from '../http/errors.js';
import { byteRange } from './byte-range.js';
import { playableRecording, RECORDING_ID_PATTERN } from './find-recording.js';
import { TicketError, verifyTicket } from './playback-ticket.js';
import type { SiteRecordings } from './site-recordings.js';

export const RECORDING_AUDIO_PATH = '/api/v1/recordings/audio';

export interface RecordingAudioDeps {
  readonly runQuery: RunQuery;
  readonly secret: string;
  readonly clock: Clock;
  readonly log: Logger;
  /** The sites' recordings; undefined when the API has no topology or certificate (503). */
  readonly sites: SiteRecordings | undefined;
}

export class RecordingAudio {
  constructor(private readonly deps: RecordingAudioDeps) {}

  /** Serves one request for RECORDING_AUDIO_PATH from `source` (for the log). */
  async serve(req: IncomingMessage, res: ServerResponse, source: string): Promise<void> {
    const started = this.deps.clock.now();
    let who: Claims | undefined;
    let recordingId = '';
    let status = 500;
    let sent = 0;
    try {
      if (req.method !== 'GET') {
        res.setHeader('allow', 'GET');
        throw new HttpError(405, `${RECORDING_AUDIO_PATH} accepts GET`);
      }
      ({ claims: who, recordingId } = this.authenticate(req, source));
      const rec = await playableRecording(this.deps.runQuery, analyticsScope(who), recordingId);
      if (!this.deps.sites)
        throw new HttpError(
          503,
          'recordings are streamed from the sites, and this API has no topology or certificate to reach them (CCFED_TOPOLOGY, CCFED_TLS_CERT, CCFED_TLS_KEY)',
        );
      const range = byteRange(header(req.headers.range), rec.bytes);
      if (range.kind === 'unsatisfiable')
        throw new HttpError(416, `the recording has ${rec.bytes} bytes`, undefined, {
          'content-range': `bytes */${rec.bytes}`,
        });
      const offset = range.kind === 'partial' ? range.start : 0;
      const length = range.kind === 'partial' ? range.end - range.start : 0;
      const abort = new AbortController();
      res.on('close', () => abort.abort());
      const fetched = this.deps.sites.fetch(
        rec.siteId,
        { recordingId, tenantId: rec.tenantId, offset, length },
        abort.signal,
      );
      const stream = fetched[Symbol.asyncIterator]();
      let first;
      try {
        first = await stream.next();
      } catch (err) {
        throw siteError(err, rec.siteId, recordingId, this.deps.log);
      }
      const info = first.done ? undefined : first.value.part;
      if (info?.$case !== 'info') throw new Error(`site ${rec.siteId} sent no recording info`);
      const { totalBytes, length: bytes } = info.value;
      status = range.kind === 'partial' ? 206 : 200;
      res.writeHead(status, {
        'content-type': info.value.contentType || 'audio/wav',
        'content-length': bytes,
        'accept-ranges': 'bytes',
        'cache-control': 'no-store',
        'content-disposition': `inline; filename="${recordingId}.wav"`,
        ...(status === 206 && {
          'content-range': `bytes ${info.value.offset}-${info.value.offset + bytes - 1}/${totalBytes}`,
        }),
      });
      try {
        for (let next = await stream.next(); !next.done; next = await stream.next()) {
          if (next.value.part?.$case !== 'audio') continue;
          sent += next.value.part.value.length;
          if (!res.write(next.value.part.value)) await once(res, 'drain');
        }
        res.end();
      } catch (err) {
        // Headers are out: all the client can be told is that the body is cut short.
        if (!abort.signal.aborted)
          this.deps.log.warn(
            { event: 'api_recording_stream_failed', recordingId, site: rec.siteId, sent, err },
            'recording stream broke off',
          );
        res.destroy();
      }
    } catch (err) {
      status = err instanceof HttpError ? err.status : 500;
      if (!(err instanceof HttpError))
        this.deps.log.error(
          { event: 'api_request_failed', path: RECORDING_AUDIO_PATH, sub: who?.sub, err },
          'request failed',
        );
      const message = err instanceof HttpError ? err.message : 'internal error';
      for (const [name, value] of Object.entries(
        err instanceof HttpError ? (err.headers ?? {}) : {},
      ))
        res.setHeader(name, value);
      if (status === 401) res.setHeader('www-authenticate', 'Bearer');
      if (!res.headersSent) {
        const text = JSON.stringify({ error: message });
        res.writeHead(status, {
          'content-type': 'application/json; charset=utf-8',
          'cache-control': 'no-store',
          'content-length': Buffer.byteLength(text),
        });
        res.end(text);
      }
    }
    this.deps.log.info({
      event: 'api_recording_played',
      path: RECORDING_AUDIO_PATH,
      status,
      sub: who?.sub,
      role: who?.role,
      recordingId,
      bytes: sent,
      ms: this.deps.clock.now() - started,
    });
  }

  /** The caller and the recording it asks for, from a ticket or a bearer token and `id`. */
  private authenticate(
    req: IncomingMessage,
    source: string,
  ): { claims: Claims; recordingId: string } {
    const url = new URL(req.url ?? '/', 'http://api.invalid');
    const unknown = [...url.searchParams.keys()].filter((k) => k !== 'ticket' && k !== 'id');
    if (unknown.length > 0 || url.searchParams.getAll('ticket').length > 1)
      throw new HttpError(
        400,
        `invalid query: ${unknown.join(', ') || 'ticket'}: unknown or repeated`,
      );
    const ticket = url.searchParams.get('ticket');
    const now = this.deps.clock.now();
    try {
      if (ticket !== null) {
        if (url.searchParams.has('id'))
          throw new HttpError(400, 'invalid query: give ticket or id, not both');
        const t = verifyTicket(ticket, { secret: this.deps.secret, now });
        return { claims: t.claims, recordingId: t.recordingId };
      }
      const claims = bearerClaims(header(req.headers.authorization), {
        secret: this.deps.secret,
        now,
      });
      const id = url.searchParams.get('id') ?? '';
      if (!RECORDING_ID_PATTERN.test(id))
        throw new HttpError(400, 'id: expected a recording id (e.g. 20261122-<uuid>)');
      return { claims, recordingId: id };
    } catch (err) {
      if (!(err instanceof TokenError || err instanceof TicketError)) throw err;
      this.deps.log.info(
        { event: 'api_token_refused', path: RECORDING_AUDIO_PATH, source, reason: err.message },
        'playback credential refused',
      );
      throw new HttpError(401, UNAUTHORIZED.token);
    }
  }
}

/** What the caller is told when the site would not stream: its word when it is the caller's. */
function siteError(err: unknown, siteId: string, recordingId: string, log: Logger): HttpError {
  if (err instanceof ClientError && err.code === Status.NOT_FOUND)
    // The index says it is kept; the site no longer has it (deleted, the event on its way).
    return new HttpError(404, `site ${siteId} no longer keeps recording ${recordingId}`);
  log.warn(
    { event: 'api_recording_site_failed', site: siteId, recordingId, err },
    'a site did not stream a recording',
  );
  return new HttpError(502, `site ${siteId} did not stream the recording; try again later`);
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
