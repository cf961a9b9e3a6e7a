// A site's callbacks between sites (docs/callbacks.md, "Served at another site", "Never at two
// sites"), as the callback desk (callback-desk.ts) sees them: one object over the origin's half
// (handover-origin.ts: asking the router, handing over, deciding and telling) and the target's
// (handover-target.ts: taking provisionally, confirming or dropping, asking). The rules are in
// handover.ts (pure); the callbacks themselves are the desk's, which lends its pieces (DeskCore).

import type { HandoverQuery, HandoverSettlement, Handover } from './handover.js';
import { HandoverOrigin } from './handover-origin.js';
import type {
  DeskCore,
  HandoverDeskDeps,
  ReceiveAnswer,
  WaitingCallback,
} from './handover-ports.js';
import { HandoverTarget } from './handover-target.js';

export { HANDED_IN_MEMORY_MS } from './handover.js';
export type {
  DeskCore,
  HandOverCallback,
  HandoverChannel,
  HandoverDeskDeps,
  ReceiveAnswer,
  WaitingCallback,
} from './handover-ports.js';

export class HandoverDesk {
  private readonly origin: HandoverOrigin;
  private readonly target: HandoverTarget;

  constructor(deps: HandoverDeskDeps, core: DeskCore) {
    this.origin = new HandoverOrigin(deps, core);
    this.target = new HandoverTarget(deps, core);
  }

  /** The callback's turn came while it is being handed over: `dial` runs if it stays here. */
  holdTurn(id: string, dial: () => void): void {
    this.origin.holdTurn(id, dial);
  }

  /** The pending callbacks that may ask the router for another site. */
  waitingCallbacks(): WaitingCallback[] {
    return this.origin.waitingCallbacks();
  }

  /** The router chose another site for callback `id`: hands it over; false when it may not. */
  handOver(id: string, target: { readonly siteId: string; readonly decisionId: string }): boolean {
    return this.origin.handOver(id, target);
  }

  /** What this site, the origin, decided on a handover a target asks about. */
  outcome(q: HandoverQuery): { readonly committed: boolean } {
    return this.origin.outcome(q);
  }

  /** At start: whether kept callback `id` was committed to another site before the restart. */
  committedAway(id: string): boolean {
    return this.origin.committedAway(id);
  }

  /** Whether this site takes a callback another site hands it (provisionally). */
  receiveHandover(
    h: Handover,
    site: { readonly thresholdMs: number | undefined; readonly drained: boolean },
  ): ReceiveAnswer {
    return this.target.receiveHandover(h, site);
  }

  /** The origin's decision on a handover this site accepted. */
  settle(s: HandoverSettlement): { readonly known: boolean } {
    return this.target.settle(s);
  }

  /** Sends what is due: the origin's decisions told again, the target's questions asked. */
  tick(): void {
    this.origin.tick();
    this.target.tick();
  }
}
