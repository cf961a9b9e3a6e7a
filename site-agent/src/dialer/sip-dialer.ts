// The site's outbound dialer over SIP: a SIP.js user agent in the site agent, connected to the
// site's Kamailio over its loopback WebSocket listener as the `_dialer` user (ephemeral
// credentials from the site's SIP secret, the scheme browser agents use). Each attempt places its
// two legs through Kamailio (route[DIALER]: agents at their contact, customers through the
// site's trunk, media anchored at rtpengine) and the pure machine (outbound-machine.ts) decides
// what happens; this file only carries its effects out and feeds SIP.js's news back in.
import { DIALER_SIP_USER, dialerSipCredentials, type Clock } from '@ccfed/common';
import { sipDomainOf, type Site } from '@ccfed/topology';
import type { Logger } from 'pino';
import {
  Inviter,
  SessionState,
  UserAgent,
  type Session,
  type SessionDescriptionHandler,
} from 'sip.js';
import { WebSocket as NodeWebSocket } from 'ws';
import {
  initialOutbound,
  stepOutbound,
  type LegName,
  type OutboundEffect,
  type OutboundInput,
  type OutboundSettings,
  type OutboundState,
  type TimerId,
} from './outbound-machine.js';
import { PassThroughSdh, PLACEHOLDER_OFFER } from './pass-through-sdh.js';
import type { DialOutcome, DialRequest, Dialer, TakeAgent } from './port.js';

/** E.164: what a customer's number must look like before it goes into a Request-URI. */
const E164 = /^\+[1-9][0-9]{6,14}$/;
/** An agent's 2xx is retransmitted unacknowledged while the customer rings (RFC 3261: 32 s). */
export const MAX_RING_TIMEOUT_MS = 30_000;

export interface DialerTiming {
  /** How long the reserved agent's phone may ring. */
  readonly agentRingMs: number;
  /** Customer-first: how soon after the customer answers an agent must be there (Ofcom: 2 s). */
  readonly connectDeadlineMs: number;
  /** The longest the recorded message may play. */
  readonly messageGuardMs: number;
  /** An agent taken at answer: how often to ask again while none is free. */
  readonly seekRetryMs: number;
}

export const DEFAULT_DIALER_TIMING: DialerTiming = {
  agentRingMs: 15_000,
  connectDeadlineMs: 2_000,
  messageGuardMs: 20_000,
  seekRetryMs: 100,
};

/** What an attempt tells the site as it goes (events, logs); never the customer's number. */
export type AttemptNews =
  | { readonly kind: 'leg'; readonly leg: LegName; readonly from: string; readonly to: string }
  | { readonly kind: 'outcome'; readonly outcome: DialOutcome }
  | { readonly kind: 'ended'; readonly by: LegName; readonly atMs: number };

export interface SipDialerDeps {
  readonly site: Site;
  /** The site's secret for SIP credentials (CCFED_SIP_SECRET), which Kamailio checks. */
  readonly sipSecret: string;
  /** Where the reserved agent takes calls: their logged-in contact, or undefined if none. */
  agentUri(agentId: string): string | undefined;
  /** The recorded message naming `tenantId` to the customer (a WAV file rtpengine can read). */
  messageFile(tenantId: string): Promise<string>;
  /** rtpengine's play media (services/src/rtpengine/ng-client.ts). */
  readonly media: {
    playMedia(req: {
      readonly callId: string;
      readonly fromTag: string;
      readonly file: string;
    }): Promise<{ readonly durationMs: number | undefined }>;
  };
  readonly clock: Clock;
  readonly log: Logger;
  readonly timing?: DialerTiming;
  /**
   * Every attempt's news, in order (call events, attempt events); for an agent taken at answer,
   * the request carries that agent from then on.
   */
  onNews?(request: DialRequest, news: AttemptNews): void;
}

export class SipDialer implements Dialer {
  private readonly attempts = new Set<Attempt>();
  private stopped = false;
  private reconnectTimer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly deps: SipDialerDeps,
    private readonly ua: UserAgent,
    private readonly handlers: WeakMap<Session, SessionDescriptionHandler>,
    private credentialsExpireMs: number,
  ) {}

  /**
   * The dialer of `deps.site`, connecting to its Kamailio; resolves when the first connection
   * succeeded or failed (then it connects again every 2 s, and attempts fail meanwhile).
   */
  static async start(deps: SipDialerDeps): Promise<SipDialer> {
    const wsPort = deps.site.sip.wsPort;
    if (wsPort === undefined)
      throw new Error(`site ${deps.site.id} has no sip.wsPort for its dialer`);
    // Node 20 has no WebSocket of its own; SIP.js's transport takes the global one.
    globalThis.WebSocket ??= NodeWebSocket as unknown as typeof globalThis.WebSocket;
    const domain = sipDomainOf(deps.site);
    const handlers = new WeakMap<Session, SessionDescriptionHandler>();
    const creds = dialerSipCredentials({ secret: deps.sipSecret, nowMs: deps.clock.now() });
    const ua = new UserAgent({
      uri: UserAgent.makeURI(`sip:${DIALER_SIP_USER}@${domain}`),
      transportOptions: { server: `ws://127.0.0.1:${wsPort}` },
      authorizationUsername: creds.username,
      authorizationPassword: creds.password,
      logBuiltinEnabled: false,
      logConfiguration: false,
      sessionDescriptionHandlerFactory: (session) => {
        const sdh = handlers.get(session);
        if (!sdh) throw new Error('no session description handler for this leg');
        return sdh;
      },
    });
    const dialer = new SipDialer(deps, ua, handlers, Date.parse(creds.expiresAt));
    ua.delegate = {
      onDisconnect: (err) => {
        if (!err) return;
        deps.log.warn({ event: 'dialer_disconnected', err: err.message }, 'dialer lost Kamailio');
        dialer.reconnectSoon();
      },
    };
    try {
      await ua.start();
    } catch (err) {
      deps.log.warn(
        { event: 'dialer_connect_failed', err: String(err) },
        'dialer cannot reach Kamailio yet',
      );
      dialer.reconnectSoon();
    }
    return dialer;
  }

  async dial(
    request: DialRequest,
    signal?: AbortSignal,
    takeAgent?: TakeAgent,
  ): Promise<DialOutcome> {
    const refused = this.check(request, takeAgent);
    if (refused) return { kind: 'failed', reason: refused };
    if (!this.ua.isConnected())
      return { kind: 'failed', reason: 'dialer not connected to Kamailio' };
    this.refreshCredentials();
    const attempt = new Attempt(this.deps, this.ua, this.handlers, request, takeAgent, () =>
      this.attempts.delete(attempt),
    );
    this.attempts.add(attempt);
    return attempt.run(signal);
  }

  /** Ends every attempt (ringing ones fail, connected calls are hung up) and disconnects. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    for (const attempt of this.attempts) attempt.hangUp();
    await this.ua.stop();
  }

  private reconnectSoon(): void {
    if (this.stopped || this.reconnectTimer) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.stopped) return;
      this.ua.reconnect().catch(() => this.reconnectSoon());
    }, 2_000);
  }

  private check(r: DialRequest, takeAgent: TakeAgent | undefined): string | undefined {
    if (!E164.test(r.number)) return 'the number is not E.164';
    if (!Number.isInteger(r.ringTimeoutMs) || r.ringTimeoutMs < 1000)
      return 'ringTimeoutMs must be at least 1000';
    if (r.ringTimeoutMs > MAX_RING_TIMEOUT_MS)
      return `ringTimeoutMs must be at most ${MAX_RING_TIMEOUT_MS} (the agent's answer waits unacknowledged meanwhile)`;
    if (r.agentId === undefined) {
      if (r.order !== 'customer_first') return 'agent-first dialing needs a reserved agent';
      if (!takeAgent) return 'no agent reserved and none to take at answer';
      return undefined;
    }
    if (this.deps.agentUri(r.agentId) === undefined) return `agent ${r.agentId} has no phone`;
    return undefined;
  }

  // Credentials last 12 h; the user agent's digest uses whatever its configuration holds when a
  // challenge comes, so fresh ones are put there well before the old expire.
  private refreshCredentials(): void {
    const now = this.deps.clock.now();
    if (this.credentialsExpireMs - now > 3600_000) return;
    const creds = dialerSipCredentials({ secret: this.deps.sipSecret, nowMs: now });
    this.ua.configuration.authorizationUsername = creds.username;
    this.ua.configuration.authorizationPassword = creds.password;
    this.credentialsExpireMs = Date.parse(creds.expiresAt);
  }
}

/** One attempt: the machine's state, its two legs and their timers. */
class Attempt {
  private state: OutboundState;
  private readonly timers = new Map<TimerId, NodeJS.Timeout>();
  private readonly legs = new Map<LegName, Inviter>();
  private agentOffer: string | undefined;
  /** A leg's new offer once connected (hold, resume), waiting for the other leg's answer. */
  private relay:
    | { readonly from: LegName; readonly offer: string; readonly answer: Deferred<string> }
    | undefined;
  /** The agent's ACK waits on this: the customer's answer to the agent's offer. */
  private agentAnswer = deferred<string>();
  private customerOffer: () => Promise<string>;
  private customerHasAgentOffer: boolean;
  private readonly refuseNext = new Set<LegName>();
  private resolveOutcome!: (o: DialOutcome) => void;
  private log: Logger;
  /** Inputs that arrived while a step's effects were being carried out, fed after them in order. */
  private readonly queue: OutboundInput[] = [];
  private feeding = false;

  constructor(
    private readonly deps: SipDialerDeps,
    private readonly ua: UserAgent,
    private readonly handlers: WeakMap<Session, SessionDescriptionHandler>,
    private request: DialRequest,
    private readonly takeAgent: TakeAgent | undefined,
    private readonly forget: () => void,
  ) {
    const timing = deps.timing ?? DEFAULT_DIALER_TIMING;
    const settings: OutboundSettings = {
      order: request.order,
      customerRingMs: request.ringTimeoutMs,
      agentRingMs: timing.agentRingMs,
      connectDeadlineMs: timing.connectDeadlineMs,
      messageGuardMs: timing.messageGuardMs,
      ...(request.agentId === undefined && { agentAtAnswer: { retryMs: timing.seekRetryMs } }),
    };
    this.state = initialOutbound(settings);
    this.customerOffer =
      request.order === 'agent_first'
        ? () => Promise.resolve(this.agentOffer ?? Promise.reject(new Error('no agent offer')))
        : () => Promise.resolve(PLACEHOLDER_OFFER);
    this.customerHasAgentOffer = request.order === 'agent_first';
    this.agentAnswer.promise.catch(() => undefined);
    this.log = deps.log.child({
      attemptId: request.attemptId,
      callId: request.callId,
      ...(request.agentId !== undefined && { agentId: request.agentId }),
      tenantId: request.tenantId,
    });
  }

  run(signal?: AbortSignal): Promise<DialOutcome> {
    const outcome = new Promise<DialOutcome>((resolve) => (this.resolveOutcome = resolve));
    if (signal?.aborted) this.feed({ kind: 'abort' });
    else signal?.addEventListener('abort', () => this.feed({ kind: 'abort' }), { once: true });
    this.feed({ kind: 'start' });
    return outcome;
  }

  hangUp(): void {
    this.feed({ kind: 'abort' });
    for (const leg of ['agent', 'customer'] as const) this.release(leg);
  }

  // One step at a time: an input an effect brings about (a failed INVITE, the agent sought) is
  // fed once the step's effects are all carried out, so they are never interleaved.
  private feed(input: OutboundInput): void {
    this.queue.push(input);
    if (this.feeding) return;
    this.feeding = true;
    try {
      for (let next = this.queue.shift(); next; next = this.queue.shift()) {
        const step = stepOutbound(this.state, next, this.deps.clock.now());
        this.state = step.state;
        for (const effect of step.effects) this.carryOut(effect);
      }
    } finally {
      this.feeding = false;
    }
    if (this.state.phase === 'done' && this.timers.size === 0) this.forget();
  }

  /** The customer answered a line with no agent reserved: take an idle one, if any, now. */
  private seekAgent(): void {
    let agentId: string | undefined;
    try {
      agentId = this.takeAgent?.();
    } catch (err) {
      this.log.error({ event: 'dialer_take_agent_failed', err: String(err) }, 'no agent taken');
    }
    if (agentId !== undefined) {
      this.request = { ...this.request, agentId };
      this.log = this.log.child({ agentId });
      this.log.info({ event: 'dialer_agent_taken' }, 'agent taken at answer');
    }
    this.feed({ kind: 'agent_sought', found: agentId !== undefined });
  }

  private carryOut(e: OutboundEffect): void {
    const news = (n: AttemptNews) => this.deps.onNews?.(this.request, n);
    switch (e.kind) {
      case 'transition':
        this.log.debug({ event: 'dialer_leg', leg: e.leg, from: e.from, to: e.to }, 'leg');
        news({ kind: 'leg', leg: e.leg, from: e.from, to: e.to });
        return;
      case 'invite_agent':
        return this.invite('agent');
      case 'invite_customer':
        return this.invite('customer');
      case 'bridge':
        return this.bridge();
      case 'release':
        return this.release(e.leg);
      case 'play_message':
        void this.playMessage();
        return;
      case 'seek_agent':
        return this.seekAgent();
      case 'start_timer':
        this.timers.set(
          e.id,
          setTimeout(() => {
            this.timers.delete(e.id);
            this.feed({ kind: 'timer', id: e.id });
          }, e.ms),
        );
        return;
      case 'cancel_timer':
        clearTimeout(this.timers.get(e.id));
        this.timers.delete(e.id);
        return;
      case 'outcome':
        this.log.info({ event: 'dialer_outcome', outcome: e.outcome.kind }, 'dial attempt ended');
        news({ kind: 'outcome', outcome: e.outcome });
        this.resolveOutcome(e.outcome);
        return;
      case 'ended':
        this.log.info({ event: 'dialer_call_ended', by: e.by }, 'dialed call ended');
        news({ kind: 'ended', by: e.by, atMs: this.deps.clock.now() });
        return;
      case 'relay_offer':
        return this.relayOffer(e.to);
      case 'refuse_offer':
        this.relay?.answer.reject(new Error('no new offer now'));
        this.relay = undefined;
        return;
    }
  }

  private invite(leg: LegName): void {
    const domain = sipDomainOf(this.deps.site);
    const agentId = this.request.agentId;
    const target =
      leg === 'agent'
        ? agentId === undefined
          ? undefined
          : this.deps.agentUri(agentId)
        : `sip:${this.request.number}@${domain}`;
    const uri = target === undefined ? undefined : UserAgent.makeURI(target);
    if (!uri) {
      this.feed({ kind: 'failed', leg, code: 0 });
      return;
    }
    // The agent leg carries no offer: the agent's phone offers in its 2xx (RFC 3725 flow I).
    const inviter = new Inviter(this.ua, uri, { inviteWithoutSdp: leg === 'agent' });
    this.legs.set(leg, inviter);
    this.handlers.set(
      inviter,
      new PassThroughSdh(
        leg === 'agent'
          ? {
              // only to relay the customer's new offer (hold) once connected
              offer: () =>
                this.relay?.from === 'customer'
                  ? Promise.resolve(this.relay.offer)
                  : Promise.reject(new Error('the agent leg makes no offer')),
              answer: () => this.answerFor('agent') ?? this.agentAnswer.promise,
              remote: (sdp, kind) => {
                if (kind === 'answer') return this.relayAnswered('customer', sdp);
                if (this.agentOffer !== undefined) return this.reoffered('agent', sdp);
                // The agent's 2xx: it answered; its ACK waits for the customer's answer.
                this.agentOffer = sdp;
                this.feed({ kind: 'answered', leg: 'agent' });
              },
            }
          : {
              offer: () =>
                this.relay?.from === 'agent'
                  ? Promise.resolve(this.relay.offer)
                  : this.customerOffer(),
              answer: () =>
                this.answerFor('customer') ??
                Promise.reject(new Error('the customer leg takes no offer')),
              remote: (sdp, kind) => {
                // every offer from the customer is a new one: the dialer made the first
                if (kind === 'offer') return this.reoffered('customer', sdp);
                if (this.relay?.from === 'agent') return this.relayAnswered('agent', sdp);
                // the customer's answer to the agent's offer (not to a placeholder) is the agent's
                if (this.customerHasAgentOffer) this.agentAnswer.resolve(sdp);
              },
            },
      ),
    );
    let everUp = false;
    let rejected = false;
    inviter.stateChange.addListener((s) => {
      if (s === SessionState.Established) {
        everUp = true;
        // the agent's answer was taken at its 2xx already
        if (leg === 'customer') this.feed({ kind: 'answered', leg });
      } else if (s === SessionState.Terminated) {
        // a final failure comes with its code in onReject, just after this
        setImmediate(() => {
          if (everUp) this.feed({ kind: 'hung_up', leg });
          else if (!rejected) this.feed({ kind: 'failed', leg, code: 0 });
        });
      }
    });
    inviter
      .invite({
        requestDelegate: {
          onProgress: () => this.feed({ kind: 'provisional', leg }),
          onReject: (r) => {
            rejected = true;
            this.feed({ kind: 'failed', leg, code: r.message.statusCode ?? 0 });
          },
        },
      })
      .catch((err: unknown) => {
        this.log.warn({ event: 'dialer_invite_failed', leg, err: String(err) }, 'INVITE not sent');
        rejected = true;
        this.feed({ kind: 'failed', leg, code: 0 });
      });
  }

  /** `from` sent a new offer: the machine relays it or refuses it. One at a time. */
  private reoffered(from: LegName, offer: string): void {
    if (this.relay) {
      this.refuseNext.add(from);
      return;
    }
    this.relay = { from, offer, answer: deferred<string>() };
    this.relay.answer.promise.catch(() => undefined);
    this.feed({ kind: 'reoffer', from });
  }

  /** What `leg`'s SIP.js answers its own new offer with, if it sent one. */
  private answerFor(leg: LegName): Promise<string> | undefined {
    if (this.refuseNext.delete(leg)) return Promise.reject(new Error('an offer is pending'));
    if (this.relay?.from === leg) return this.relay.answer.promise;
    return undefined;
  }

  /** The other leg answered `from`'s relayed offer. */
  private relayAnswered(from: LegName, answer: string): void {
    if (this.relay?.from !== from) return;
    this.relay.answer.resolve(answer);
    this.relay = undefined;
  }

  private relayOffer(to: LegName): void {
    const relay = this.relay;
    const target = this.legs.get(to);
    if (!relay || !target) return;
    const refused = () => {
      relay.answer.reject(new Error(`the ${to} leg refused the new offer`));
      if (this.relay === relay) this.relay = undefined;
    };
    target.invite({ requestDelegate: { onReject: refused } }).catch(refused);
  }

  // Customer-first: the customer, up on a placeholder, is offered the agent's media instead; the
  // answer completes the agent's ACK.
  private bridge(): void {
    const customer = this.legs.get('customer');
    const offer = this.agentOffer;
    if (!customer || offer === undefined) {
      this.feed({ kind: 'bridged', ok: false });
      return;
    }
    this.customerOffer = () => Promise.resolve(offer);
    this.customerHasAgentOffer = true;
    customer
      .invite({
        requestDelegate: {
          onAccept: () => this.feed({ kind: 'bridged', ok: true }),
          onReject: () => this.feed({ kind: 'bridged', ok: false }),
        },
      })
      .catch(() => this.feed({ kind: 'bridged', ok: false }));
  }

  private release(leg: LegName): void {
    const inviter = this.legs.get(leg);
    if (!inviter) return;
    if (leg === 'agent') this.agentAnswer.reject(new Error('released'));
    switch (inviter.state) {
      case SessionState.Initial:
      case SessionState.Establishing:
        // An agent whose 2xx waits for its ACK is acknowledged and hung up by SIP.js when its
        // answer is refused (above); CANCEL covers one still ringing.
        if (leg === 'agent' && this.agentOffer !== undefined) return;
        inviter.cancel().catch(() => undefined);
        return;
      case SessionState.Established:
        inviter.bye().catch(() => undefined);
        return;
      default:
        return;
    }
  }

  private async playMessage(): Promise<void> {
    const customer = this.legs.get('customer');
    const dialog = customer?.dialog;
    try {
      if (!dialog) throw new Error('the customer has no dialog');
      const file = await this.deps.messageFile(this.request.tenantId);
      // play media plays to the party selected by its tag: the customer's (the dialog's remote)
      const { durationMs } = await this.deps.media.playMedia({
        callId: dialog.callId,
        fromTag: dialog.remoteTag,
        file,
      });
      this.log.info({ event: 'dialer_message', durationMs }, 'customer hears the message');
      if (durationMs !== undefined) {
        setTimeout(() => this.feed({ kind: 'message_done' }), durationMs + 250);
      }
      // without a duration the message guard hangs up
    } catch (err) {
      this.log.error({ event: 'dialer_message_failed', err: String(err) }, 'message not played');
      this.feed({ kind: 'message_done' });
    }
  }
}

interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(v: T): void;
  reject(e: Error): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
