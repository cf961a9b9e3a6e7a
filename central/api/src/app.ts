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
import { monitorRoutes } from './routes/monitor.js';
import type { SiteMonitorsClient } from './monitor/site-monitors.js';
import { sessionRoute } from './routes/session.js';
import { siteStatusRoute } from './routes/site-status.js';
import { sipCredentialsRoute } from './routes/softphone.js';
import { transferRoute } from './routes/transfer.js';
import { callbackRoutes } from './routes/callbacks.js';
import type { SiteCallbacksClient } from './callbacks/site-callbacks.js';
import { campaignRoutes } from './routes/campaigns.js';
import type { SiteCampaignsClient } from './campaigns/site-campaigns.js';
import { webSocketUriOf, type Topology } from '@ccfed/topology';
import { ConsoleServer } from './live/console-server.js';
import type { LiveFeed } from './live/live-feed.js';
import { LiveStreams } from './live/live-stream.js';
import { StaticFiles } from './live/static-files.js';
import { topologyRoute } from './live/topology-route.js';
import { RecordingAudio } from './recordings/recording-audio.js';
import { DeskStreams } from './desktop/desk-stream.js';
import type { DesktopFeed } from './desktop/desktop-feed.js';
import { readCustomerStory } from './desktop/desktop-feed.js';
import { desktopRoutes } from './desktop/desktop-routes.js';
import { previewRoutes } from './desktop/preview-routes.js';
import type { SiteDesks } from './desktop/site-desks.js';
import type { SiteRecordings } from './recordings/site-recordings.js';

/** What only an API with the topology file (and, for the routing policy, Kafka) serves. */
interface OptionalDeps {
  /**
   * The sites' recordings over gRPC (needs the topology and the API's certificate); without it
   * recordings are listed but not played (503).
   */
  readonly siteRecordings?: SiteRecordings;
  /**
   * Silent monitoring at the sites over gRPC (needs the topology and the API's certificate);
   * without it the monitoring routes are not served.
   */
  readonly siteMonitors?: SiteMonitorsClient;
  /**
   * Callbacks at the sites over gRPC (needs the topology and the API's certificate); without it
   * the callback routes are not served.
   */
  readonly siteCallbacks?: SiteCallbacksClient;
  /**
   * Outbound campaigns at the sites over gRPC (needs the topology and the API's certificate);
   * without it the campaign routes are not served.
   */
  readonly siteCampaigns?: SiteCampaignsClient;
  /** The federation's topology file, for the topology page; optional. */
  readonly topology?: Topology;
  /** The routing policy from Kafka (routing-policy/policy-store.ts); needs the topology too. */
  readonly routingPolicy?: PolicySource;
  /** The sites' AgentControl, acting for agents (needs the topology and the API's certificate). */
  readonly siteDesks?: SiteDesks;
  /** The agents' desktops' events (needs Kafka and the topology). */
  readonly desktop?: DesktopFeed;
  /** The live wall's state, which the supervisors' agent list reads (needs Kafka). */
  readonly live?: LiveFeed;
  /**
   * Each site's secret for its browser agents' SIP credentials (CCFED_SIP_SECRETS_FILE); with
   * the topology, agents get their softphone's credentials.
   */
  readonly sipSecrets?: ReadonlyMap<string, string>;
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
    ...(deps.siteMonitors ? monitorRoutes({ sites: deps.siteMonitors }) : []),
    ...(deps.siteCallbacks && deps.topology
      ? callbackRoutes({ topology: deps.topology, sites: deps.siteCallbacks })
      : []),
    ...(deps.siteCampaigns && deps.topology
      ? campaignRoutes({
          topology: deps.topology,
          sites: deps.siteCampaigns,
          runQuery: deps.runQuery,
          clock: deps.clock,
        })
      : []),
    ...(deps.topology ? [transferRoute({ topology: deps.topology, sites: deps.siteDesks })] : []),
    // Served only by an API that was given the topology file (CCFED_TOPOLOGY).
    ...(deps.topology
      ? [
          topologyRoute(
            deps.topology,
            deps.routingPolicy ? () => deps.routingPolicy!.current : undefined,
          ),
        ]
      : []),
    // The desktop and the supervisors' agent list need the topology (agents, codes, sites).
    ...(deps.topology
      ? desktopRoutes({
          topology: deps.topology,
          sites: deps.siteDesks,
          live: deps.live,
          clock: deps.clock,
        })
      : []),
    ...(deps.topology
      ? previewRoutes({
          topology: deps.topology,
          sites: deps.siteDesks,
          story: (tenantId, customerId, atMs) =>
            readCustomerStory(deps.runQuery, tenantId, customerId, atMs),
          log: deps.log,
        })
      : []),
    ...(deps.topology && deps.sipSecrets
      ? [
          sipCredentialsRoute({
            topology: deps.topology,
            sipSecrets: deps.sipSecrets,
            clock: deps.clock,
          }),
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
  const { server: api, routes } = createApi({ ...deps, ...(deps.live && { live: deps.live }) });
  const desks = new DeskStreams({
    feed: deps.desktop,
    topology: deps.topology,
    secret: deps.secret,
    clock: deps.clock,
    log: deps.log,
  });
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
      desks,
      recordingAudio,
      files,
      desktopFiles,
      sipWebSocketOrigins: (deps.topology?.sites ?? []).flatMap((site) => {
        const uri = webSocketUriOf(site);
        return uri ? [uri] : [];
      }),
      log: deps.log,
      ...(deps.timeouts && { timeouts: deps.timeouts }),
    }),
  };
}
