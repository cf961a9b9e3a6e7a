import { routing } from '@ccfed/proto';
import { createChannel, createClient, type Channel } from 'nice-grpc';
import type { RouteAnswer, RouteQuestion } from './outbound.js';

/** The central router's gRPC client, each request bounded by `deadlineMs`. */
export function routerClient(opts: {
  readonly address: string;
  readonly siteId: string;
  readonly deadlineMs: number;
}): { ask: (q: RouteQuestion) => Promise<RouteAnswer>; close: () => void } {
  const channel: Channel = createChannel(opts.address);
  const client = createClient(routing.CentralRouterDefinition, channel);
  return {
    ask: async (q) => {
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
          trace: undefined,
        },
        { signal: AbortSignal.timeout(opts.deadlineMs) },
      );
      return r.verdict === routing.Verdict.VERDICT_OVERFLOW
        ? {
            verdict: 'overflow',
            targetSiteId: r.targetSiteId,
            decisionId: r.decisionId,
            reason: r.reason,
          }
        : { verdict: 'stay', reason: r.reason, decisionId: r.decisionId };
    },
    close: () => channel.close(),
  };
}
