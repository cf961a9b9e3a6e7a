// The JSON messages exchanged with Kamailio over evapi (see services/kamailio/ccfed.cfg, which
// sends the events and acts on the commands). Events are untrusted input: parsed with a schema,
// anything else is reported and ignored.
import { z } from 'zod';

const tx = { tindex: z.number().int().nonnegative(), tlabel: z.number().int().nonnegative() };
const callid = z.string().min(1).max(256);
/**
 * Kamailio kept this event while no site agent was connected (within its restart grace) and
 * replays it on resync (docs/operations.md, "Site agent restart").
 */
const missed = z.boolean().optional();

export const kamailioEventSchema = z.discriminatedUnion('event', [
  /** A new INVITE, suspended until the site agent says what to do with it. */
  z.object({
    event: z.literal('invite'),
    ...tx,
    callid,
    /** CSeq number of the INVITE: needed to send it provisional replies by Call-ID. */
    cseq: z.number().int().nonnegative(),
    fromUser: z.string().max(256),
    /** The caller's From tag: how rtpengine names the caller, to play prompts to it and record it. */
    fromTag: z.string().max(256).default(''),
    ruriUser: z.string().max(256),
    tsS: z.number().int(),
    tsU: z.number().int(),
    /**
     * Who sent it (ccfed.cfg route[SOURCE]): a peer site (`peer` is its id), a trusted IVR or
     * SBC, or anyone else, whose X-CC-* headers Kamailio has removed.
     */
    trust: z.enum(['peer', 'trusted', 'none']).default('none'),
    peer: z.string().max(64).default(''),
    /** X-CC-* headers, names without the prefix. */
    cc: z.record(z.string(), z.string()).default({}),
    /** The caller's phone lists REFER in its Allow header: it can be blind-transferred. */
    refer: z.boolean().optional(),
    /** The Request-URI's transfer token (ccxfer), when the caller follows a transfer's REFER. */
    xfer: z.string().max(512).optional(),
    /**
     * Replayed on resync: the INVITE is still suspended (under tindex/tlabel now); tsS/tsU are
     * still when it arrived.
     */
    resync: z.boolean().optional(),
  }),
  /** The caller cancelled while the INVITE was pending (queued or ringing). */
  z.object({ event: z.literal('cancel'), callid, missed }),
  /** The suspended INVITE waited past the queue timeout; Kamailio answered it with the fallback. */
  z.object({ event: z.literal('queue_timeout'), callid, ...tx, missed }),
  /** The agent's phone did not take the call; the INVITE is suspended again if `requeued`. */
  z.object({
    event: z.literal('agent_failed'),
    callid,
    agent: z.string(),
    code: z.number().int(),
    ...tx,
    requeued: z.boolean().optional(),
  }),
  /** The agent answered; `toTag` is its side's tag, which a transfer's REFER and BYE need. */
  z.object({
    event: z.literal('answered'),
    callid,
    agent: z.string(),
    toTag: z.string().max(256).optional(),
  }),
  z.object({ event: z.literal('ended'), callid, agent: z.string(), by: z.string(), missed }),
  z.object({
    event: z.literal('failed'),
    callid,
    agent: z.string(),
    code: z.number().int().optional(),
    missed,
  }),
  /** On resync: an INVITE relayed to `agent` on the site agent's word, not answered yet. */
  z.object({ event: z.literal('ringing'), callid, agent: z.string().max(256) }),
  /** On resync: a confirmed dialog Kamailio holds (the call's agent and its side's tag). */
  z.object({
    event: z.literal('talking'),
    callid,
    agent: z.string().max(256),
    toTag: z.string().max(256).default(''),
  }),
  /** The end of Kamailio's answer to a resync, with what it reported. */
  z.object({
    event: z.literal('resync_done'),
    held: z.number().int().nonnegative(),
    ringing: z.number().int().nonnegative(),
    talking: z.number().int().nonnegative(),
    missed: z.number().int().nonnegative(),
  }),
  /** Kamailio carried out a command; decisionUs is INVITE received → command done. */
  z.object({
    event: z.literal('routed'),
    callid,
    action: z.string(),
    uri: z.string(),
    decisionUs: z.number().int(),
  }),
  z.object({ event: z.literal('cmd_failed'), action: z.string(), callid: z.string().optional() }),
  /**
   * The result of a play or stop (ccfed.cfg route[MEDIA_ACTION]), under the action's id: ok 1 or
   * 0 with rtpengine's or Kamailio's reason, and the played file's length (-1 when unknown).
   */
  z.object({
    event: z.literal('media'),
    id: z.string().max(64),
    action: z.enum(['play', 'stop']),
    callid,
    ok: z.number().int(),
    durationMs: z.number().int().default(-1),
    reason: z.string().max(256).default(''),
  }),
  /** Kamailio sent a transfer's REFER to the caller and BYE to the agent (route[TRANSFER]). */
  z.object({ event: z.literal('transferring'), callid }),
  z.object({ event: z.literal('pong') }),
]);

/**
 * An INVITE whose event does not fit the schema (e.g. a From user longer than any number) but
 * whose suspended transaction is known: it is answered at once instead of waiting out the queue
 * timeout. Made by parseKamailioEvent, never sent by Kamailio.
 */
export interface UnusableInvite {
  readonly event: 'invite_unusable';
  readonly tindex: number;
  readonly tlabel: number;
  readonly reason: string;
}

export type KamailioEvent = z.output<typeof kamailioEventSchema> | UnusableInvite;

export type ParsedEvent = { ok: true; event: KamailioEvent } | { ok: false; reason: string };

const transaction = z.object(tx);

/** Parses one evapi frame from Kamailio; never throws. */
export function parseKamailioEvent(frame: string): ParsedEvent {
  let json: unknown;
  try {
    json = JSON.parse(frame);
  } catch {
    return { ok: false, reason: `not JSON: ${frame.slice(0, 80)}` };
  }
  const r = kamailioEventSchema.safeParse(json);
  if (!r.success) {
    const first = r.error.issues[0];
    const reason = `unexpected event (${first?.path.join('.') || 'event'}: ${first?.message})`;
    const invite = (json as { event?: unknown } | null)?.event === 'invite';
    const t = invite ? transaction.safeParse(json) : undefined;
    if (t?.success) return { ok: true, event: { event: 'invite_unusable', ...t.data, reason } };
    return { ok: false, reason };
  }
  return { ok: true, event: r.data };
}

export interface TransactionRef {
  readonly tindex: number;
  readonly tlabel: number;
  /** When Kamailio received the INVITE (its tsS/tsU), echoed so that it can report decisionUs. */
  readonly tsS?: number;
  readonly tsU?: number;
}

/** What the site agent tells Kamailio to do with a suspended INVITE. */
export type KamailioCommand =
  | (TransactionRef & {
      readonly action: 'relay';
      readonly uri: string;
      /** Who the call goes to, for Kamailio's dialog events: an agent id, or overflow:<site>. */
      readonly agent: string;
      readonly callid: string;
      /** Headers that replace the INVITE's X-CC-* ones (CRLF-terminated lines; see sipHeaders). */
      readonly hdrs?: string;
      /** How long the branch may go unanswered; default the site's ring timeout. */
      readonly ringMs?: number;
      /**
       * An overflow: the peer site the call goes to. Over a TLS link, Kamailio takes replies only
       * from a connection whose certificate names that site.
       */
      readonly peer?: string;
    })
  /** A provisional reply (e.g. 182 Queued) to a suspended INVITE, found by Call-ID and CSeq. */
  | (TransactionRef & {
      readonly action: 'provisional';
      readonly mode: 'callid';
      readonly callid: string;
      readonly cseq: number;
      readonly code: number;
      readonly reason: string;
    })
  | (TransactionRef & {
      readonly action: 'reply';
      readonly code: number;
      readonly reason: string;
      readonly retryAfter?: number;
    })
  /**
   * Play a file to the queued caller, the party rtpengine knows by the call's Call-ID and
   * `fromTag`; the result comes back as a media event carrying `id`.
   */
  | {
      readonly action: 'play';
      readonly id: string;
      readonly callid: string;
      readonly fromTag: string;
      /** An absolute path of a rendered prompt (8 kHz mono WAV). */
      readonly file: string;
    }
  /** Stop what plays to the caller. */
  | {
      readonly action: 'stop';
      readonly id: string;
      readonly callid: string;
      readonly fromTag: string;
    }
  /**
   * Blind transfer of an answered call (ccfed.cfg route[TRANSFER]): REFER the caller to `uri`
   * within the dialog Call-ID/`fromTag`/`toTag`, BYE the agent's side, end the media session.
   */
  | {
      readonly action: 'transfer';
      readonly callid: string;
      readonly fromTag: string;
      readonly toTag: string;
      readonly uri: string;
    }
  | { readonly action: 'ping' }
  /**
   * What Kamailio holds, asked on every (re)connection: it answers with the suspended INVITEs,
   * the confirmed dialogs, the events no site agent heard, then resync_done.
   */
  | { readonly action: 'resync' };

/** The suspended INVITE a provisional reply goes to: found by Call-ID and CSeq. */
type Suspended = {
  readonly callid: string;
  readonly cseq: number;
  readonly tindex: number;
  readonly tlabel: number;
};

function provisional(call: Suspended, code: number): KamailioCommand {
  const { callid, cseq, tindex, tlabel } = call;
  return {
    action: 'provisional',
    mode: 'callid',
    callid,
    cseq,
    tindex,
    tlabel,
    code,
    reason: 'Queued',
  };
}

/** 182 Queued for a suspended INVITE: the caller waits, the INVITE stays pending. */
export function queuedReply(call: Suspended): KamailioCommand {
  return provisional(call, 182);
}

/**
 * 100 Queued for a suspended INVITE another site sent here: not relayed to the caller (a 100 goes
 * one hop), it restarts the origin's timer on its branch to this site (peerSilenceMs in
 * topology/src/lookup.ts).
 */
export function progressReply(call: Suspended): KamailioCommand {
  return provisional(call, 100);
}

/**
 * Header lines for a relay command. Names and values are ccfed's own (ids, numbers, W3C trace
 * context); a CR or LF would let a value add headers of its own, so it is refused.
 */
export function sipHeaders(headers: Readonly<Record<string, string>>): string {
  return Object.entries(headers)
    .map(([name, value]) => {
      if (/[\r\n]/.test(name + value) || !/^[A-Za-z0-9-]+$/.test(name))
        throw new Error(`refusing to send SIP header ${JSON.stringify(name)}: not a clean line`);
      return `${name}: ${value}\r\n`;
    })
    .join('');
}
