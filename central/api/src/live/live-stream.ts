// GET /api/v1/live: the live wall as Server-Sent Events. The console reads it with fetch and the
// same `Authorization: Bearer` header as every other route (auth/bearer.ts; a refused token gets
// the same generic 401 as anywhere else). Each caller gets its own scoped view,
// first at once, then within ~100 ms of every change it may see; a comment line every 15 s keeps
// proxies from closing an idle stream, and the stream ends when the token expires.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock, Logger } from '@ccfed/common';
import { scopeFor } from '../access.js';
import { bearerClaims } from '../auth/bearer.js';
import { TokenError, type Claims } from '../auth/token.js';
import { UNAUTHORIZED } from '../http/errors.js';
import { openEventStream, refuse, sendEvent } from './event-stream.js';
import type { LiveFeed } from './live-feed.js';
import type { LiveView } from './live-state.js';

/** How often a stream looks whether a site became unreachable (or reachable again). */
const REACHABILITY_CHECK_MS = 500;

export const LIVE_PATH = '/api/v1/live';

export interface LiveStreamDeps {
  /** Undefined when the API runs without Kafka: the route then answers 503. */
  readonly feed: LiveFeed | undefined;
  readonly secret: string;
  readonly clock: Clock;
  readonly log: Logger;
  /** Gathers changes for this long before pushing them (default 100 ms). */
  readonly coalesceMs?: number;
  readonly heartbeatMs?: number;
}

/** The open streams of a server, so that closing it can end them. */
export class LiveStreams {
  private readonly open = new Set<ServerResponse>();

  constructor(private readonly deps: LiveStreamDeps) {}

  /** Ends every open stream (the server is shutting down). */
  endAll(): void {
    for (const res of this.open) res.end();
    this.open.clear();
  }

  /** Serves one request for LIVE_PATH from `source` (for the log). */
  serve(req: IncomingMessage, res: ServerResponse, source: string): void {
    const { feed, clock, log } = this.deps;
    if (req.method !== 'GET') {
      res.setHeader('allow', 'GET');
      return refuse(res, 405, `${LIVE_PATH} accepts GET`);
    }
    const url = new URL(req.url ?? '/', 'http://api.invalid');
    const unknown = [...url.searchParams.keys()];
    if (unknown.length > 0) {
      return refuse(res, 400, `invalid query: ${unknown.join(', ')}: unknown query parameter`);
    }
    let claims: Claims;
    try {
      claims = bearerClaims(req.headers.authorization, {
        secret: this.deps.secret,
        now: clock.now(),
      });
    } catch (err) {
      if (!(err instanceof TokenError)) throw err;
      log.info(
        { event: 'api_token_refused', path: LIVE_PATH, source, reason: err.message },
        'bearer token refused',
      );
      res.setHeader('www-authenticate', 'Bearer');
      return refuse(res, 401, UNAUTHORIZED.token);
    }
    if (!feed) {
      return refuse(
        res,
        503,
        'the live feed is not available: this API runs without Kafka (set CCFED_KAFKA_BROKERS)',
      );
    }
    if (claims.role === 'agent') {
      log.info({ event: 'api_live_stream_refused', sub: claims.sub, role: claims.role });
      return refuse(
        res,
        403,
        `agent ${claims.agentId} sees only its own desk: its stream is /api/v1/desktop/stream`,
      );
    }
    const scope = scopeFor(claims);
    const started = clock.now();
    let pending: NodeJS.Timeout | undefined;
    let unsubscribe = () => {};
    openEventStream(res, {
      heartbeatMs: this.deps.heartbeatMs ?? 15_000,
      expiresInMs: claims.exp * 1000 - clock.now(),
      onClose: () => {
        unsubscribe();
        clearTimeout(pending);
        clearInterval(watch);
        this.open.delete(res);
        log.info({
          event: 'api_live_stream_closed',
          sub: claims.sub,
          role: claims.role,
          ms: clock.now() - started,
        });
      },
    });
    this.open.add(res);
    // Which sites were reachable in the last push: a site going silent changes no state, so a
    // timer looks for that change too (a cut site is shown within UNREACHABLE_AFTER_MS + 0.5 s
    // even when no other site's snapshot comes to push the view).
    let reachability = '';
    const reachabilityOf = (view: LiveView) =>
      view.sites.map((s) => `${s.siteId}:${s.reachable}`).join(',');
    const push = () => {
      pending = undefined;
      const view = feed.state.view(scope, clock.now());
      reachability = reachabilityOf(view);
      sendEvent(res, 'view', view);
    };
    const watch = setInterval(() => {
      if (reachabilityOf(feed.state.view(scope, clock.now())) !== reachability) push();
    }, REACHABILITY_CHECK_MS);
    unsubscribe = feed.subscribe(scope, () => {
      pending ??= setTimeout(push, this.deps.coalesceMs ?? 100);
    });
    log.info({ event: 'api_live_stream_opened', sub: claims.sub, role: claims.role });
    push();
  }
}
