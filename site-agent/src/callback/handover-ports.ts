// What the handover's two halves (handover-origin.ts, handover-target.ts) are given: the channel
// between sites, the site's parts, and the pieces of the callback desk they act through.

import type { Clock } from '@ccfed/common';
import type { CallEvent } from '@ccfed/proto';
import type { Topology } from '@ccfed/topology';
import type { Logger } from 'pino';
import type { Acd, Effects } from '../acd/acd.js';
import type { Callback, CallbackBook, CallbackPolicy } from '../acd/callbacks.js';
import type { CallbackStore } from './callback-store.js';
import type { Handover, HandoverQuery, HandoverSettlement } from './handover.js';

/** The channel between sites (handover-client.ts): each call rejects when no answer came. */
export interface HandoverChannel {
  /** Asks `targetSiteId` to take the callback (provisionally): its answer. */
  handOver(
    targetSiteId: string,
    handover: Handover,
  ): Promise<{ readonly accepted: boolean; readonly reason: string }>;
  /** Tells `targetSiteId` the origin's decision; `known`: the target had a trace of it. */
  settle(targetSiteId: string, s: HandoverSettlement): Promise<{ readonly known: boolean }>;
  /** Asks `originSiteId` what it decided on a handover this site holds provisionally. */
  outcome(originSiteId: string, q: HandoverQuery): Promise<{ readonly committed: boolean }>;
}

/** The former name of the channel's first call, kept for its callers. */
export type HandOverCallback = HandoverChannel['handOver'];

/** A pending callback as the overflow trigger sees it (overflow/trigger.ts, outbound.ts). */
export interface WaitingCallback {
  readonly callId: string;
  readonly skill: string;
  readonly tenantId: string;
  readonly tier: number;
  readonly waitedMs: number;
  readonly expectedWaitMs: number;
  readonly hops: number;
  readonly traceparent: string;
}

export interface HandoverDeskDeps {
  readonly clock: Clock;
  readonly topology: Topology;
  readonly acd: Acd;
  readonly store: CallbackStore;
  readonly log: Logger;
  /** This site's id (the origin a handover names). */
  readonly siteId?: string;
  /** The channel to other sites; without it callbacks are served here only. */
  readonly handoverChannel?: HandoverChannel;
}

/** What the desk lends: its book, its events' envelopes and its ways of acting on a callback. */
export interface DeskCore {
  readonly book: CallbackBook;
  readonly envelopes: Map<string, { customerId: string; traceparent: string }>;
  policyOf(skill: string): (CallbackPolicy & { serviceLevelMs: number }) | undefined;
  /** Whether the caller of this callback is still on the line (hearing it confirmed). */
  callerOnLine(id: string): boolean;
  carryOut(fx: Effects): void;
  offer(cb: Callback): void;
  publish(cb: Callback, kind: NonNullable<CallEvent['kind']>): void;
}

export type ReceiveAnswer =
  | { readonly accepted: true; readonly expectedWaitMs: number }
  | { readonly accepted: false; readonly reason: string };

/** Runs a step whose failure (the disk) must be logged, never crash the process. */
export function guarded(log: Logger, id: string, step: () => void): void {
  try {
    step();
  } catch (err) {
    log.error(
      { event: 'callback_error', callbackId: id, err },
      'could not carry out a step of a callback handover',
    );
  }
}
