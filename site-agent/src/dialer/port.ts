// The site's outbound dialer as the rest of the site agent sees it: callbacks (a queued caller
// who asked to be called back, whose turn has come) and campaigns ask it to connect an agent the
// ACD has already reserved with a customer, and learn how the attempt ended. A predictive line
// may instead be dialed customer-first with no agent reserved: the dialer asks the requester for
// an idle agent when the customer answers (`takeAgent`). The SIP side (how the legs are placed
// through the site's Kamailio and bridged) lives behind it.

/** Who is rung first. Agent-first: the customer never waits for an agent (callbacks' default). */
export type DialOrder = 'agent_first' | 'customer_first';

export interface DialRequest {
  /** Unique per attempt; the attempt's events carry it. */
  readonly attemptId: string;
  /** The ccfed call id the connected call gets (its events, its context). */
  readonly callId: string;
  /**
   * The agent the ACD reserved for this attempt. Absent only for a customer-first line whose agent
   * is taken when the customer answers (`dial`'s `takeAgent`).
   */
  readonly agentId?: string;
  /** The customer's number (E.164). Never written to an event or a log line. */
  readonly number: string;
  readonly skill: string;
  readonly tenantId: string;
  readonly order: DialOrder;
  /** How long the customer's phone may ring before the attempt counts as not answered. */
  readonly ringTimeoutMs: number;
}

export type DialOutcome =
  /** Both legs up and bridged; the call then lives on as an inbound call does. */
  | { readonly kind: 'connected'; readonly answeredAtMs: number }
  /** The customer did not answer within ringTimeoutMs. */
  | { readonly kind: 'no_answer' }
  /** The customer's line was busy (486/600). */
  | { readonly kind: 'busy' }
  /** The reserved agent did not answer (agent-first): the attempt is retried, not counted. */
  | { readonly kind: 'agent_no_answer' }
  /** Customer-first: the customer answered and no agent took them within 2 s (Ofcom abandon). */
  | { readonly kind: 'abandoned'; readonly answeredAtMs: number }
  | { readonly kind: 'failed'; readonly reason: string };

/**
 * Takes an idle agent of the request's tenant and skill for its call id, now, or says none is free
 * (undefined). Asked only once the customer has answered, and again while none is free, until the
 * connect deadline. An agent taken is the requester's to free or connect when the attempt ends,
 * as a reserved one is.
 */
export type TakeAgent = () => string | undefined;

export interface Dialer {
  /**
   * Places the attempt; `signal` gives it up. `takeAgent` is required when the request has no
   * `agentId` (and then only customer-first), and unused otherwise.
   */
  dial(request: DialRequest, signal?: AbortSignal, takeAgent?: TakeAgent): Promise<DialOutcome>;
}
