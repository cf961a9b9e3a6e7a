import {
  contextFromTraceparent,
  secureChannel,
  traceparentOf,
  type TlsMaterial,
} from '@ccfed/common';
import { routing, SPAN_NAMES } from '@ccfed/proto';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { createClient, type Channel } from 'nice-grpc';
import type { RouteAnswer, RouteQuestion } from './outbound.js';

const tracer = trace.getTracer('ccfed-site-agent');

/**
 * The central router's gRPC client, over mutual TLS with the site's certificate (the router
 * answers only a site asking for its own calls) to a server whose certificate names
 * service:router, each request bounded by `deadlineMs`. Each request is a
 * client span, a child of the call's span, whose context goes to the router in the request's
 * `trace` field so that the router's decision joins the call's trace.
 */
export function routerClient(opts: {
  readonly address: string;
  readonly siteId: string;
  readonly deadlineMs: number;
  readonly tls: TlsMaterial;
}): { ask: (q: RouteQuestion) => Promise<RouteAnswer>; close: () => void } {
  const channel: Channel = secureChannel(
    opts.address,
    opts.tls,
    (server) => server.kind === 'service' && server.service === 'router',
    'service:router',
  );
  const client = createClient(routing.CentralRouterDefinition, channel);
  return {
    ask: async (q) => {
      const span = tracer.startSpan(
        SPAN_NAMES.requestRoute,
        {
          kind: SpanKind.CLIENT,
          attributes: {
            'rpc.system': 'grpc',
            'rpc.service': 'ccfed.routing.v1.CentralRouter',
            'rpc.method': 'RequestRoute',
            'ccfed.call.id': q.callId,
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
          { signal: AbortSignal.timeout(opts.deadlineMs) },
        );
        const answer: RouteAnswer =
          r.verdict === routing.Verdict.VERDICT_OVERFLOW
            ? {
                verdict: 'overflow',
                targetSiteId: r.targetSiteId,
                decisionId: r.decisionId,
                reason: r.reason,
              }
            : { verdict: 'stay', reason: r.reason, decisionId: r.decisionId };
        span.setAttribute('ccfed.route.verdict', answer.verdict);
        if (answer.verdict === 'overflow') span.setAttribute('ccfed.route.target', r.targetSiteId);
        return answer;
      } catch (err) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
        throw err;
      } finally {
        span.end();
      }
    },
    close: () => channel.close(),
  };
}
