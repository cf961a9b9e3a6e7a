// GET /api/v1/desktop/stream: an agent's desktop as Server-Sent Events, authenticated like every
// route (Authorization: Bearer, no token in the URL). Only an agent token opens one, and it
// carries only that agent's events: `offer` (a call reserved for it, with the customer's story),
// `state` (its own state changes, the current one first) and `call` (its calls answered, ended,
// wrapped up). A comment line every 15 s keeps proxies from closing it; it ends with the token.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock, Logger } from '@ccfed/common';
import type { Topology } from '@ccfed/topology';
import { bearerClaims } from '../auth/bearer.js';
import { TokenError, type Claims } from '../auth/token.js';
import { HttpError, UNAUTHORIZED } from '../http/errors.js';
import { openEventStream, refuse, sendEvent } from '../live/event-stream.js';
import { deskOf } from './desk-access.js';
import type { DesktopFeed } from './desktop-feed.js';

export const DESK_STREAM_PATH = '/api/v1/desktop/stream';

export interface DeskStreamDeps {
  /** Undefined when the API runs without Kafka or the topology: the route then answers 503. */
  readonly feed: DesktopFeed | undefined;
  readonly topology: Topology | undefined;
  readonly secret: string;
  readonly clock: Clock;
  readonly log: Logger;
  readonly heartbeatMs?: number;
}

export class DeskStreams {
  private readonly open = new Set<ServerResponse>();

  constructor(private readonly deps: DeskStreamDeps) {}

  endAll(): void {
    for (const res of this.open) res.end();
    this.open.clear();
  }

  serve(req: IncomingMessage, res: ServerResponse, source: string): void {
    const { feed, topology, clock, log } = this.deps;
    if (req.method !== 'GET') {
      res.setHeader('allow', 'GET');
      return refuse(res, 405, `${DESK_STREAM_PATH} accepts GET`);
    }
    const url = new URL(req.url ?? '/', 'http://api.invalid');
    const unknown = [...url.searchParams.keys()];
    if (unknown.length > 0)
      return refuse(res, 400, `invalid query: ${unknown.join(', ')}: unknown query parameter`);
    let claims: Claims;
    try {
      claims = bearerClaims(req.headers.authorization, {
        secret: this.deps.secret,
        now: clock.now(),
      });
    } catch (err) {
      if (!(err instanceof TokenError)) throw err;
      log.info(
        { event: 'api_token_refused', path: DESK_STREAM_PATH, source, reason: err.message },
        'bearer token refused',
      );
      res.setHeader('www-authenticate', 'Bearer');
      return refuse(res, 401, UNAUTHORIZED.token);
    }
    if (!feed || !topology)
      return refuse(
        res,
        503,
        'the desktop stream is not available: this API runs without Kafka or the topology (CCFED_KAFKA_BROKERS, CCFED_TOPOLOGY)',
      );
    let desk;
    try {
      desk = deskOf(claims, topology);
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      log.info({ event: 'desk_stream_refused', sub: claims.sub, role: claims.role });
      return refuse(res, err.status, err.message);
    }
    const started = clock.now();
    let unsubscribe = () => {};
    openEventStream(res, {
      heartbeatMs: this.deps.heartbeatMs ?? 15_000,
      expiresInMs: claims.exp * 1000 - clock.now(),
      onClose: () => {
        unsubscribe();
        this.open.delete(res);
        log.info({
          event: 'desk_stream_closed',
          sub: claims.sub,
          agentId: desk.agentId,
          ms: clock.now() - started,
        });
      },
    });
    // Flush the headers now: the desktop knows it is connected before the first event.
    res.write(': connected\n\n');
    this.open.add(res);
    unsubscribe = feed.subscribe(desk.siteId, desk.agentId, (event, data) =>
      sendEvent(res, event, data),
    );
    log.info({
      event: 'desk_stream_opened',
      sub: claims.sub,
      siteId: desk.siteId,
      agentId: desk.agentId,
    });
  }
}
