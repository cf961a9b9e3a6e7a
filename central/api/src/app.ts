// The API as one object: the route table and the HTTP server over it. The process (index.ts)
// and the tests build it the same way, with their own dependencies.
import type { BlockList } from 'node:net';
import type { Logger } from '@ccfed/common';
import { z } from 'zod';
import { ApiHttpServer } from './http/server.js';
import type { HttpTimeouts } from './http/timeouts.js';
import { route, type Route } from './http/route.js';
import { openApiDocument } from './openapi.js';
import { API, type RouteDeps } from './routes/deps.js';
import { churnCallbacksRoute } from './routes/churn.js';
import { crossSellRulesRoute, nextBestOfferRoute } from './routes/cross-sell.js';
import { kpisRoute } from './routes/kpis.js';
import { churnModelsRoute, retentionUpliftRoute, staffingRoute } from './routes/planning.js';
import { meRoute } from './routes/me.js';
import { routeDecisionsRoute } from './routes/route-decisions.js';
import { routingPolicyRoutes } from './routes/routing-policy.js';
import type { PolicySource } from './routing-policy/policy-store.js';
import { satisfactionRoute } from './routes/satisfaction.js';
import { recordingRoutes } from './routes/recordings.js';
import { sessionRoute } from './routes/session.js';
import { siteStatusRoute } from './routes/site-status.js';
import type { Topology } from '@ccfed/topology';
import { ConsoleServer } from './live/console-server.js';
import type { LiveFeed } from './live/live-feed.js';
import { LiveStreams } from './live/live-stream.js';
import { StaticFiles } from './live/static-files.js';
import { topologyRoute } from './live/topology-route.js';
import { RecordingAudio } from './recordings/recording-audio.js';
import type { SiteRecordings } from './recordings/site-recordings.js';

/** What only an API with the topology file (and, for the routing policy, Kafka) serves. */
interface OptionalDeps {
  /**
   * The sites' recordings over gRPC (needs the topology and the API's certificate); without it
   * recordings are listed but not played (503).
   */
  readonly siteRecordings?: SiteRecordings;
  /** The federation's topology file, for the topology page; optional. */
  readonly topology?: Topology;
  /** The routing policy from Kafka (routing-policy/policy-store.ts); needs the topology too. */
  readonly routingPolicy?: PolicySource;
}

/** How the HTTP server treats connections: production's defaults when absent. */
interface HttpDeps {
  /** Proxies whose X-Forwarded-For names the client (CCFED_API_TRUSTED_PROXIES). */
  readonly trustedProxies?: BlockList;
  readonly timeouts?: HttpTimeouts;
}

export type ApiDeps = RouteDeps & OptionalDeps & HttpDeps & { readonly log: Logger };

/** Every route the API serves, the OpenAPI document's own included. */
export function apiRoutes(deps: RouteDeps & OptionalDeps): Route[] {
  const routes: Route[] = [
    sessionRoute(deps),
    meRoute(),
    kpisRoute(deps),
    siteStatusRoute(deps),
    routeDecisionsRoute(deps),
    churnCallbacksRoute(deps),
    churnModelsRoute(deps),
    retentionUpliftRoute(deps),
    staffingRoute(deps),
    crossSellRulesRoute(deps),
    nextBestOfferRoute(deps),
    satisfactionRoute(deps),
    ...recordingRoutes(deps),
    // Served only by an API that was given the topology file (CCFED_TOPOLOGY).
    ...(deps.topology
      ? [
          topologyRoute(
            deps.topology,
            deps.routingPolicy ? () => deps.routingPolicy!.current : undefined,
          ),
        ]
      : []),
    ...(deps.topology && deps.routingPolicy
      ? routingPolicyRoutes({
          policy: deps.routingPolicy,
          topology: deps.topology,
          clock: deps.clock,
        })
      : []),
  ];
  let document: Record<string, unknown> | undefined;
  routes.push(
    route({
      method: 'GET',
      path: `${API}/openapi.json`,
      summary: 'This document: every route, its parameters and its answers (OpenAPI 3.1).',
      auth: false,
      response: z.record(z.string(), z.unknown()),
      // Built on first request, from the finished table (which includes this route).
      handle: async () => (document ??= openApiDocument(routes)),
    }),
  );
  return routes;
}

/** The API server over every route; call listen() to serve. */
export function createApi(deps: ApiDeps): { server: ApiHttpServer; routes: readonly Route[] } {
  const routes = apiRoutes(deps);
  return {
    routes,
    server: new ApiHttpServer({
      routes,
      secret: deps.secret,
      clock: deps.clock,
      log: deps.log,
      ...(deps.trustedProxies && { trustedProxies: deps.trustedProxies }),
      ...(deps.timeouts && { timeouts: deps.timeouts }),
    }),
  };
}

/**
 * What the API process serves: the JSON routes, the live stream (503 without a feed) and, when
 * consoleDir is given, the built console at `/`, and when desktopDir is, the desktop at
 * `/desktop/`.
 */
export function createConsoleServer(
  deps: ApiDeps & {
    readonly live: LiveFeed | undefined;
    readonly consoleDir?: string;
    readonly desktopDir?: string;
  },
): { server: ConsoleServer; routes: readonly Route[] } {
  const { server: api, routes } = createApi(deps);
  const streams = new LiveStreams({
    feed: deps.live,
    secret: deps.secret,
    clock: deps.clock,
    log: deps.log,
  });
  const files = deps.consoleDir === undefined ? undefined : new StaticFiles(deps.consoleDir);
  const desktopFiles =
    deps.desktopDir === undefined
      ? undefined
      : new StaticFiles(
          deps.desktopDir,
          '/desktop',
          'the desktop is not built: run npm run desktop:build',
        );
  const recordingAudio = new RecordingAudio({
    runQuery: deps.runQuery,
    secret: deps.secret,
    clock: deps.clock,
    log: deps.log,
    sites: deps.siteRecordings,
  });
  return {
    routes,
    server: new ConsoleServer({
      api,
      streams,
      recordingAudio,
      files,
      desktopFiles,
      log: deps.log,
      ...(deps.timeouts && { timeouts: deps.timeouts }),
    }),
  };
}
