import {
  contextFromTraceparent,
  secureChannel,
  traceparentOf,
  type Clock,
  type TlsMaterial,
} from '@ccfed/common';
import { METRIC_NAMES, routing, SPAN_NAMES } from '@ccfed/proto';
import { metrics, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { createClient, type Channel, ClientError, Status } from 'nice-grpc';
import type { Logger } from 'pino';
import type { RouteAnswer, RouteQuestion } from './outbound.js';
import { RouterPair } from './router-pair.js';

const tracer = trace.getTracer('ccfed-site-agent');

/**
 * Refusals of the request itself: the other router of the pair would give the same, so they are
 * not failed over (and do not set the router aside).
 */
const FINAL_STATUSES: ReadonlySet<Status> = new Set([
  Status.INVALID_ARGUMENT,
  Status.PERMISSION_DENIED,
  Status.UNAUTHENTICATED,
]);

/**
 * The central routers' gRPC client, over mutual TLS with the site's certificate (the router
 * answers only a site asking for its own calls) to servers whose certificate names
 * service:router. With two addresses (a router pair) each question goes to the preferred router
 * and, on its error or after `hedgeAfterMs` without an answer, to the other as well
 * (router-pair.ts); the whole question is bounded by `deadlineMs`. Each attempt is a client span,
 * a child of the call's span, whose context goes to the router in the request's `trace` field so
 * that the router's decision joins the call's trace.
 */
export function routerClient(opts: {
  readonly addresses: readonly string[];
  readonly siteId: string;
  readonly deadlineMs: number;
  readonly hedgeAfterMs: number;
  readonly tls: TlsMaterial;
  readonly clock: Clock;
  readonly log: Logger;
}): { ask: (q: RouteQuestion) => Promise<RouteAnswer>; close: () => void } {
  const channels = new Map<string, Channel>(
    opts.addresses.map((address) => [
      address,
      secureChannel(
        address,
        opts.tls,
        (server) => server.kind === 'service' && server.service === 'router',
        'service:router',
      ),
    ]),
  );
  // Connect to every router now: a failover must not wait for a TLS handshake with the other one.
  for (const channel of channels.values()) channel.getConnectivityState(true);
  const clients = new Map(
    [...channels].map(([address, channel]) => [
      address,
      createClient(routing.CentralRouterDefinition, channel),
    ]),
  );
  const failovers = metrics
    .getMeter('ccfed-site-agent')
    .createCounter(METRIC_NAMES.routerFailovers, {
      description:
        'Router questions also put to the other router of the pair, by router and cause (error, no-answer)',
    });
  const pair = new RouterPair<RouteQuestion, RouteAnswer>({
    addresses: opts.addresses,
    ask: (address, q, signal) => askOne(address, q, signal),
    hedgeAfterMs: opts.hedgeAfterMs,
    deadlineMs: opts.deadlineMs,
    clock: opts.clock,
    log: opts.log,
    isFinal: (err) => err instanceof ClientError && FINAL_STATUSES.has(err.code),
    onFailover: (address, cause) =>
      failovers.add(1, { 'ccfed.router': address, 'ccfed.failover.cause': cause }),
  });

  async function askOne(
    address: string,
    q: RouteQuestion,
    signal: AbortSignal,
  ): Promise<RouteAnswer> {
    const client = clients.get(address)!;
    const span = tracer.startSpan(
      SPAN_NAMES.requestRoute,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          'rpc.system': 'grpc',
          'rpc.service': 'ccfed.routing.v1.CentralRouter',
          'rpc.method': 'RequestRoute',
          'ccfed.call.id': q.callId,
          'server.address': address,
        },
      },
      contextFromTraceparent(q.traceparent),
    );
    const traceparent = traceparentOf(span);
    try {
      const r = await client.requestRoute(
        {
          callId: q.callId,
          originSiteId: opts.siteId,
          tenantId: q.tenantId,
          skill: q.skill,
          tier: q.tier,
          waitedMs: q.waitedMs,
          originExpectedWaitMs: q.expectedWaitMs,
          hopCount: q.hops,
          trace: traceparent ? { traceparent, tracestate: '' } : undefined,
        },
        { signal },
      );
      const answer: RouteAnswer =
        r.verdict === routing.Verdict.VERDICT_OVERFLOW
          ? {
              verdict: 'overflow',
              targetSiteId: r.targetSiteId,
              decisionId: r.decisionId,
              reason: r.reason,
              router: address,
            }
          : { verdict: 'stay', reason: r.reason, decisionId: r.decisionId, router: address };
      span.setAttribute('ccfed.route.verdict', answer.verdict);
      if (answer.verdict === 'overflow') span.setAttribute('ccfed.route.target', r.targetSiteId);
      return answer;
    } catch (err) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
      throw err;
    } finally {
      span.end();
    }
  }

  return {
    ask: (q) => pair.ask(q),
    close: () => {
      for (const channel of channels.values()) channel.close();
    },
  };
}
