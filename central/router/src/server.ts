// The CentralRouter gRPC service: a thin adapter from RequestRoute to Router.decide, over mutual
// TLS only. A site asks for its own calls: the caller's certificate must name a site, and that
// site must be the request's origin; whoever else calls, or a site asking as another, is refused
// before anything is decided or reserved.
//
// Status mapping:
//   no client certificate naming a principal → UNAUTHENTICATED (the TLS handshake refuses a
//                                              client without a certificate from the CA first)
//   not a site                              → PERMISSION_DENIED, naming the caller; logged
//   missing or malformed field              → INVALID_ARGUMENT, naming the field
//   a site that is not the request's origin  → PERMISSION_DENIED, naming both; logged
//   anything that goes wrong inside         → INTERNAL with a generic message, logged in full
// An unknown origin site, skill or tenant is not an error: the core answers "stay" and says why,
// which is what the site agent does anyway when the router cannot help.
//
// Every decision is also published as a RouteDecision event (inputs and answer), handed to a
// non-blocking publish function: the reply never waits for Kafka, and a publishing problem never
// fails the RPC (see decision-publisher.ts). The event names this router (routerId): the other
// router of the pair holds its overflow reservations from it (state-feed.ts).
//
// Each request is a `RequestRoute` server span, a child of the site's client span whose context
// comes in the request's `trace` field; the decision event carries the server span's context, so
// its ingestion joins the same trace. Decisions are counted by verdict and their latency measured;
// answers that stayed because their origin holds its cap of reservations are counted apart, and
// logged at most once per origin every CAP_LOG_INTERVAL_MS (a flood must not flood the log too).

import { randomUUID } from 'node:crypto';
import {
  contextFromTraceparent,
  grpcServerCredentials,
  peerPrincipal,
  principalLabel,
  secureServerOptions,
  serveGrpc,
  traceparentOf,
  type Clock,
  type Principal,
  type TlsMaterial,
} from '@ccfed/common';
import { METRIC_NAMES, routing, SPAN_NAMES, type EventMeta } from '@ccfed/proto';
import { ID_PATTERN } from '@ccfed/topology';
import { metrics, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import { createServer, ServerError, Status } from 'nice-grpc';
import type { Logger } from 'pino';
import type { PublishDecision } from './decision-publisher.js';
import { UNSERVED_MS, type Alternative, type Decision, type Router } from './routing/router.js';

/**
 * What the response says for a site where the call would never be answered (no agent of the
 * tenant staffed for the skill, no snapshot, ...): the core's UNSERVED_MS is 2^53 - 1, which
 * JavaScript and JSON clients of a uint64 mishandle once they add a handicap to it, and 0 would
 * read as "answers at once". 2^32 - 1 ms (about 49.7 days) is longer than any call can wait,
 * survives any client's arithmetic, and the alternative's `eligible: false` and
 * `excluded_reason` say why it is there.
 */
export const UNSERVED_WAIT_MS = 2 ** 32 - 1;

export interface RouterServiceDeps {
  readonly router: Pick<Router, 'decide'>;
  readonly clock: Clock;
  readonly publish: PublishDecision;
  readonly log: Logger;
  /** This router's id, published in every decision (the peer router skips its own). */
  readonly routerId: string;
  readonly newId?: () => string;
}

/** The CentralRouter service over `router`: every answer is its decision, or a gRPC status. */
export function createCentralRouterService(
  deps: RouterServiceDeps,
): routing.CentralRouterServiceImplementation {
  const { router, clock, publish, log } = deps;
  const newId = deps.newId ?? randomUUID;
  let sequence = 0;
  const tracer = trace.getTracer('ccfed-router');
  const meter = metrics.getMeter('ccfed-router');
  const decisions = meter.createCounter(METRIC_NAMES.routeDecisions, {
    description: 'Routing decisions, by verdict and target site',
  });
  const duration = meter.createHistogram(METRIC_NAMES.routeDecisionDuration, {
    description: 'Time the router took to decide, by verdict',
    unit: 'ms',
  });
  const capped = meter.createCounter(METRIC_NAMES.routeReservationsCapped, {
    description: 'Calls kept at their origin because it held its cap of reservations, by origin',
  });
  /** origin → when its cap was last logged, and how many capped answers since. */
  const capLogged = new Map<string, { atMs: number; since: number }>();
  const noteCapped = (req: routing.RequestRouteRequest, reason: string) => {
    capped.add(1, { 'ccfed.origin_site': req.originSiteId });
    const now = clock.now();
    const last = capLogged.get(req.originSiteId);
    if (last && now - last.atMs < CAP_LOG_INTERVAL_MS) {
      last.since += 1;
      return;
    }
    capLogged.set(req.originSiteId, { atMs: now, since: 0 });
    log.warn(
      {
        event: 'route_reservations_capped',
        site: req.originSiteId,
        callId: req.callId,
        cappedSinceLastLog: last?.since ?? 0,
      },
      reason,
    );
  };

  return {
    requestRoute: async (req, context) => {
      const span = tracer.startSpan(
        SPAN_NAMES.requestRoute,
        {
          kind: SpanKind.SERVER,
          attributes: {
            'rpc.system': 'grpc',
            'rpc.service': 'ccfed.routing.v1.CentralRouter',
            'rpc.method': 'RequestRoute',
            'ccfed.call.id': req.callId.slice(0, MAX_CALL_ID),
            'ccfed.origin_site': req.originSiteId.slice(0, 32),
          },
        },
        contextFromTraceparent(req.trace?.traceparent),
      );
      const started = performance.now();
      try {
        authorise(peerPrincipal(context), req);
        const response = decide(req, span);
        const verdict = response.verdict === routing.Verdict.VERDICT_OVERFLOW ? 'overflow' : 'stay';
        span.setAttributes({
          'ccfed.route.verdict': verdict,
          'ccfed.route.target': response.targetSiteId,
          'ccfed.route.decision_id': response.decisionId,
        });
        duration.record(performance.now() - started, { 'ccfed.route.verdict': verdict });
        decisions.add(1, {
          'ccfed.route.verdict': verdict,
          'ccfed.route.target': response.targetSiteId,
        });
        return response;
      } catch (err) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
        throw err;
      } finally {
        span.end();
      }
    },
  };

  /**
   * Only a site may ask, and only for its own calls. Whether the caller is a site at all is
   * settled before its request is read; whether it is the request's origin once the request is
   * known to be well-formed.
   */
  function authorise(caller: Principal, req: routing.RequestRouteRequest): void {
    if (caller.kind !== 'site')
      deny(caller, req, `only a site may call RequestRoute, not ${principalLabel(caller)}`);
    checkRequest(req);
    if (caller.site !== req.originSiteId)
      deny(
        caller,
        req,
        `${principalLabel(caller)} may ask routes only for its own calls, not for origin_site_id ${clip(req.originSiteId)}`,
      );
  }

  function deny(caller: Principal, req: routing.RequestRouteRequest, message: string): never {
    log.warn(
      {
        event: 'route_request_denied',
        peer: principalLabel(caller),
        originSiteId: req.originSiteId.slice(0, 40),
        callId: req.callId.slice(0, MAX_CALL_ID),
      },
      message,
    );
    throw new ServerError(Status.PERMISSION_DENIED, message);
  }

  /** Decides a request that passed authorise(). */
  function decide(req: routing.RequestRouteRequest, span: Span): routing.RequestRouteResponse {
    let response: routing.RequestRouteResponse;
    try {
      const decision = router.decide({
        callId: req.callId,
        originSiteId: req.originSiteId,
        tenantId: req.tenantId,
        skill: req.skill,
        tier: req.tier,
        waitedMs: req.waitedMs,
        originExpectedWaitMs: req.originExpectedWaitMs,
        hopCount: req.hopCount,
      });
      response = toResponse(newId(), decision);
      if (decision.verdict === 'stay' && decision.capped) noteCapped(req, decision.reason);
    } catch (err) {
      log.error(
        { event: 'grpc_internal_error', rpc: 'RequestRoute', callId: req.callId, err },
        'RequestRoute failed unexpectedly',
      );
      throw new ServerError(Status.INTERNAL, 'RequestRoute failed inside the router; see its log');
    }
    const traceparent = traceparentOf(span);
    try {
      sequence += 1;
      const meta: EventMeta = {
        eventId: newId(),
        tenantId: req.tenantId,
        siteId: req.originSiteId,
        eventTime: new Date(clock.now()),
        // The decision's own span, so the event's ingestion is its child in the call's trace.
        trace: traceparent ? { traceparent, tracestate: '' } : req.trace,
        producerSequence: sequence,
      };
      publish({ meta, request: req, response, routerId: deps.routerId });
    } catch (err) {
      log.warn(
        { event: 'route_decision_not_published', callId: req.callId, err },
        'could not hand the route decision over for publishing',
      );
    }
    return response;
  }
}

/** How often an origin that keeps hitting its reservation cap is logged. */
const CAP_LOG_INTERVAL_MS = 10_000;

function toResponse(decisionId: string, d: Decision): routing.RequestRouteResponse {
  const alternatives = d.alternatives.map(toAlternative);
  if (d.verdict === 'stay')
    return {
      decisionId,
      verdict: routing.Verdict.VERDICT_STAY,
      targetSiteId: '',
      targetSipUri: '',
      reservationExpiresAt: undefined,
      reason: d.reason,
      alternatives,
    };
  return {
    decisionId,
    verdict: routing.Verdict.VERDICT_OVERFLOW,
    targetSiteId: d.targetSiteId,
    targetSipUri: d.targetSipUri,
    reservationExpiresAt: new Date(d.reservationExpiresMs),
    reason: d.reason,
    alternatives,
  };
}

function toAlternative(a: Alternative): routing.Alternative {
  return {
    siteId: a.siteId,
    eligible: a.eligible,
    excludedReason: a.excludedReason,
    expectedWaitMs: a.expectedWaitMs >= UNSERVED_MS ? UNSERVED_WAIT_MS : a.expectedWaitMs,
    handicapMs: a.handicapMs,
    stateAgeMs: Math.max(0, a.stateAgeMs),
  };
}

// ---- request checks ----------------------------------------------------------------------------

const invalid = (message: string): never => {
  throw new ServerError(Status.INVALID_ARGUMENT, message);
};

/** A value quoted for an error message, cut short so a huge field does not fill the message. */
function clip(value: string): string {
  return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
}

const MAX_CALL_ID = 256;
// Call ids travel in X-CC-Call-Id headers and log lines: visible ASCII only, no spaces.
const CALL_ID = /^[\x21-\x7e]+$/;

function checkRequest(req: routing.RequestRouteRequest): void {
  if (!req.callId) invalid('call_id is required');
  if (req.callId.length > MAX_CALL_ID)
    invalid(`call_id is ${req.callId.length} characters long; at most ${MAX_CALL_ID} allowed`);
  if (!CALL_ID.test(req.callId))
    invalid(`call_id ${clip(req.callId)} is malformed: expected visible ASCII without spaces`);
  checkId('origin_site_id', req.originSiteId);
  checkId('tenant_id', req.tenantId);
  checkId('skill', req.skill);
}

/** Site, tenant and skill ids come from the topology file, so its id rule says what is well-formed. */
function checkId(field: string, value: string): void {
  if (!value) invalid(`${field} is required`);
  if (!ID_PATTERN.test(value))
    invalid(
      `${field} ${clip(value)} is malformed: expected lowercase letters, digits and "-", ` +
        'starting with a letter, at most 32 characters',
    );
}

// ---- the server ---------------------------------------------------------------------------------

export interface RouterServerOptions extends RouterServiceDeps {
  /** Address to bind, e.g. 127.0.0.1, 0.0.0.0 or ::1. */
  readonly host: string;
  /** 0 binds a free port; the bound one is in the result. */
  readonly port: number;
  /** How long close() lets calls in flight finish before cancelling them. Default 5 s. */
  readonly shutdownTimeoutMs?: number;
  /** The router's certificate (service:router) and the federation CA clients must come from. */
  readonly tls: TlsMaterial;
}

export interface RouterServer {
  /** The port actually bound. */
  readonly port: number;
  /** Stops taking calls, lets those in flight finish (up to the timeout), then closes. Idempotent. */
  close(): Promise<void>;
}

/**
 * Serves CentralRouter on host:port over mutual TLS; rejects, naming the address, when it cannot
 * bind.
 */
export async function startRouterServer(options: RouterServerOptions): Promise<RouterServer> {
  const { host, log, tls, shutdownTimeoutMs = 5_000 } = options;
  const server = createServer(secureServerOptions);
  server.add(routing.CentralRouterDefinition, createCentralRouterService(options));

  return serveGrpc(server, {
    host,
    port: options.port,
    log,
    shutdownTimeoutMs,
    credentials: grpcServerCredentials(tls),
  });
}
