// The origin's side of a callback handover (docs/callbacks.md, "Served at another site"): asks the
// target site's SiteAgent.HandOverCallback over mutual TLS with this site's certificate, to a
// server whose certificate must name that very site (site:<target>), at the address the topology
// gives it (sites[].grpc), signed with the federation key. One channel per target, made on first
// use. Any error (unreachable, deadline, refusal by status) rejects: the callback stays here.
// The confirm step's two calls go the same way: the origin's decision to the target, the target's
// question to the origin (docs/callbacks.md, "Never at two sites"); each is tried once per call,
// the desk's tick() asking again.

import { secureChannel, type Clock, type TlsMaterial } from '@ccfed/common';
import { site as siteApi } from '@ccfed/proto';
import type { Topology } from '@ccfed/topology';
import { ClientError, createClient, Status, type Channel } from 'nice-grpc';
import type { HandoverChannel } from './handover-desk.js';
import {
  signHandover,
  signQuery,
  signSettlement,
  type Handover,
  type HandoverQuery,
  type HandoverSettlement,
} from './handover.js';

/** How long a handover may take, TLS handshake included, before the callback stays here. */
export const HANDOVER_DEADLINE_MS = 3_000;

/** Refusals of the request itself: asking again would get the same. */
const FINAL: ReadonlySet<Status> = new Set([
  Status.INVALID_ARGUMENT,
  Status.PERMISSION_DENIED,
  Status.UNAUTHENTICATED,
  Status.FAILED_PRECONDITION,
]);

export function handoverClient(opts: {
  readonly topology: Topology;
  readonly tls: TlsMaterial;
  /** The federation key handovers are signed with (the current one). */
  readonly signingKey: Buffer;
  readonly clock: Clock;
  readonly deadlineMs?: number;
}): HandoverChannel & { close(): void } {
  const channels = new Map<string, Channel>();
  const clientOf = (targetSiteId: string) => {
    const target = opts.topology.sites.find((s) => s.id === targetSiteId);
    if (!target) throw new Error(`${targetSiteId} is not a site of the topology`);
    let channel = channels.get(targetSiteId);
    if (!channel) {
      channel = secureChannel(
        `${target.grpc.host}:${target.grpc.port}`,
        opts.tls,
        (server) => server.kind === 'site' && server.site === targetSiteId,
        `site:${targetSiteId}`,
      );
      channels.set(targetSiteId, channel);
    }
    return createClient(siteApi.SiteAgentDefinition, channel);
  };
  return {
    // A failure that may have come after the target took the callback (its answer lost, the
    // deadline passed) is asked once more, freshly signed: the target answers a callback it took
    // as taken (callback-desk.ts, receiveHandover), so the origin does not keep it as well.
    handOver: async (targetSiteId, h) => {
      try {
        return await once(targetSiteId, h);
      } catch (err) {
        if (err instanceof ClientError && FINAL.has(err.code)) throw err;
        return await once(targetSiteId, h);
      }
    },
    settle: async (targetSiteId, s: HandoverSettlement) => {
      const r = await clientOf(targetSiteId).settleCallbackHandover(
        { ...s, signature: signSettlement(opts.signingKey, s, opts.clock.now()) },
        { signal: AbortSignal.timeout(opts.deadlineMs ?? HANDOVER_DEADLINE_MS) },
      );
      return { known: r.known };
    },
    outcome: async (originSiteId, q: HandoverQuery) => {
      const r = await clientOf(originSiteId).getCallbackHandoverOutcome(
        { ...q, signature: signQuery(opts.signingKey, q, opts.clock.now()) },
        { signal: AbortSignal.timeout(opts.deadlineMs ?? HANDOVER_DEADLINE_MS) },
      );
      return { committed: r.committed };
    },
    close: () => {
      for (const channel of channels.values()) channel.close();
    },
  };

  async function once(
    targetSiteId: string,
    h: Handover,
  ): Promise<{ readonly accepted: boolean; readonly reason: string }> {
    const client = clientOf(targetSiteId);
    const r = await client.handOverCallback(
      {
        callbackId: h.callbackId,
        originSiteId: h.originSiteId,
        tenantId: h.tenantId,
        skill: h.skill,
        tier: h.tier,
        number: h.number,
        callerHash: h.callerHash,
        customerId: h.customerId,
        arrivalTime: new Date(h.arrivalMs),
        requestedAt: new Date(h.requestedAtMs),
        scheduled: h.scheduled,
        attempts: h.attempts,
        notBefore: h.notBeforeMs === undefined ? undefined : new Date(h.notBeforeMs),
        decisionId: h.decisionId,
        traceparent: h.traceparent,
        signature: signHandover(opts.signingKey, h, opts.clock.now()),
      },
      { signal: AbortSignal.timeout(opts.deadlineMs ?? HANDOVER_DEADLINE_MS) },
    );
    return { accepted: r.accepted, reason: r.reason };
  }
}
