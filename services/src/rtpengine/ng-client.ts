// A client for rtpengine's ng control protocol over UDP: one socket, a cookie per request, the
// same datagram sent again until a reply with that cookie arrives (rtpengine answers a repeated
// cookie from its cache, so a retransmitted offer never allocates twice), and typed helpers for
// the commands ccfed uses.
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import {
  checkNgResult,
  decodeNgReply,
  encodeNgRequest,
  NgProtocolError,
  type NgDict,
  type NgReply,
} from './ng-protocol.js';

export interface NgClientOptions {
  readonly host: string;
  readonly port: number;
  /** How long to wait for a reply before sending the request again. */
  readonly retransmitMs?: number;
  /** How many times a request is sent in all before giving up. */
  readonly attempts?: number;
}

/** The parties of a call as rtpengine knows them: by SIP Call-ID and tags. */
export interface NgCallRef {
  readonly callId: string;
  readonly fromTag: string;
  readonly viaBranch?: string;
}

export interface NgOfferRequest extends NgCallRef {
  readonly sdp: string;
  /** ng `flags`, e.g. "trust-address", "record-call". */
  readonly flags?: readonly string[];
  /** ng `replace`, e.g. "origin", "session-connection". */
  readonly replace?: readonly string[];
  /** Logical interfaces, [from, to], when rtpengine bridges two networks. */
  readonly direction?: readonly [string, string];
  /** The SIP source address, so rtpengine can prefer it over a private SDP address when told. */
  readonly receivedFrom?: readonly [family: 'IP4' | 'IP6', address: string];
  readonly label?: string;
  readonly recordCall?: boolean;
  readonly metadata?: string;
  /** Extra ng keys not modelled here (e.g. "codec"); they win over the modelled ones. */
  readonly extra?: NgDict;
}

export interface NgAnswerRequest extends NgOfferRequest {
  readonly toTag: string;
}

export interface NgSelect {
  readonly callId: string;
  /** The party selected; play media plays *to* this party. */
  readonly fromTag?: string;
  readonly label?: string;
  /** The party whose SDP advertised this media address. */
  readonly address?: string;
  /** All parties of the call. */
  readonly all?: boolean;
}

export interface NgPlayMediaRequest extends NgSelect {
  readonly file: string;
  readonly repeatTimes?: number;
}

/** What a `query` says of one call: its parties by tag, and packet counts per stream. */
export interface NgQueryResult {
  readonly created: number | undefined;
  readonly tags: readonly string[];
  readonly reply: NgReply;
}

let clientSeq = 0;

export class NgClient {
  private readonly socket: Socket;
  private readonly pending = new Map<string, (reply: NgReply) => void>();
  private readonly cookiePrefix = `${process.pid.toString(36)}${randomBytes(3).toString('hex')}${(clientSeq++).toString(36)}`;
  private seq = 0;
  private closed = false;

  private constructor(
    private readonly opts: Required<NgClientOptions>,
    socket: Socket,
  ) {
    this.socket = socket;
    socket.on('message', (msg) => {
      let decoded: { cookie: string; reply: NgReply };
      try {
        decoded = decodeNgReply(msg);
      } catch {
        return; // Not ours to interpret; the request it belongs to will time out with a clear error.
      }
      const resolve = this.pending.get(decoded.cookie);
      if (!resolve) return; // A late reply to a retransmission that was already answered.
      this.pending.delete(decoded.cookie);
      resolve(decoded.reply);
    });
  }

  /** Opens a UDP socket for one rtpengine's ng port. */
  static async open(opts: NgClientOptions): Promise<NgClient> {
    if (!Number.isInteger(opts.port) || opts.port <= 0 || opts.port > 65535) {
      throw new NgProtocolError(`invalid rtpengine ng port ${opts.port}`);
    }
    const family = opts.host.includes(':') ? 'udp6' : 'udp4';
    const socket = createSocket(family);
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.connect(opts.port, opts.host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    // A refused datagram (nothing listening yet) surfaces as an error event; the retransmission
    // timer is what decides, so it must not crash the process.
    socket.on('error', () => {});
    return new NgClient(
      { retransmitMs: opts.retransmitMs ?? 500, attempts: opts.attempts ?? 4, ...opts },
      socket,
    );
  }

  /**
   * Sends one command and resolves with its reply dictionary, whatever its `result`; rejects when
   * no reply came after every attempt.
   */
  async request(command: string, params: NgDict = {}): Promise<NgReply> {
    if (this.closed) throw new NgProtocolError(`ng client closed; cannot send "${command}"`);
    const cookie = `${this.cookiePrefix}_${(this.seq++).toString(36)}`;
    const datagram = encodeNgRequest(cookie, command, params);
    const { retransmitMs, attempts } = this.opts;
    return new Promise<NgReply>((resolve, reject) => {
      let sent = 0;
      let timer: NodeJS.Timeout | undefined;
      const send = () => {
        if (sent === attempts) {
          this.pending.delete(cookie);
          reject(
            new NgProtocolError(
              `rtpengine at ${this.opts.host}:${this.opts.port} did not answer "${command}" after ${attempts} attempts ${retransmitMs} ms apart`,
            ),
          );
          return;
        }
        sent++;
        this.socket.send(datagram, () => {});
        timer = setTimeout(send, retransmitMs);
      };
      this.pending.set(cookie, (reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      send();
    });
  }

  /** Resolves when rtpengine answers `pong`. */
  async ping(): Promise<void> {
    checkNgResult('ping', await this.request('ping'), 'pong');
  }

  /** Sends an SDP offer; resolves with the SDP rewritten to point at rtpengine. */
  async offer(req: NgOfferRequest): Promise<{ sdp: string; reply: NgReply }> {
    return this.sdpCommand('offer', offerDict(req));
  }

  /** Sends an SDP answer from `toTag`; resolves with the SDP rewritten to point at rtpengine. */
  async answer(req: NgAnswerRequest): Promise<{ sdp: string; reply: NgReply }> {
    return this.sdpCommand('answer', { ...offerDict(req), 'to-tag': req.toTag });
  }

  /** Ends a call (or, with toTag, one branch); the reply carries the call's final statistics. */
  async delete(
    ref: { readonly callId: string; readonly fromTag?: string; readonly toTag?: string },
    opts: { readonly deleteDelayS?: number } = {},
  ): Promise<NgReply> {
    return checkNgResult(
      'delete',
      await this.request('delete', {
        'call-id': ref.callId,
        'from-tag': ref.fromTag,
        'to-tag': ref.toTag,
        'delete delay': opts.deleteDelayS,
      }),
    );
  }

  async query(ref: {
    readonly callId: string;
    readonly fromTag?: string;
    readonly toTag?: string;
  }): Promise<NgQueryResult> {
    const reply = checkNgResult(
      'query',
      await this.request('query', {
        'call-id': ref.callId,
        'from-tag': ref.fromTag,
        'to-tag': ref.toTag,
      }),
    );
    const tags = reply.tags;
    return {
      created: typeof reply.created === 'number' ? reply.created : undefined,
      tags: typeof tags === 'object' && tags !== null ? Object.keys(tags) : [],
      reply,
    };
  }

  /** Plays a file to the selected party; resolves with its duration when rtpengine knows it. */
  async playMedia(req: NgPlayMediaRequest): Promise<{ durationMs: number | undefined }> {
    const reply = checkNgResult(
      'play media',
      await this.request('play media', {
        ...selectDict(req),
        file: req.file,
        'repeat-times': req.repeatTimes,
      }),
    );
    return { durationMs: typeof reply.duration === 'number' ? reply.duration : undefined };
  }

  async stopMedia(sel: NgSelect): Promise<void> {
    checkNgResult('stop media', await this.request('stop media', selectDict(sel)));
  }

  /** Starts recording the whole call (rtpengine 10.5 records every party, whatever is selected). */
  async startRecording(ref: {
    readonly callId: string;
    readonly metadata?: string;
  }): Promise<void> {
    checkNgResult(
      'start recording',
      await this.request('start recording', {
        'call-id': ref.callId,
        metadata: ref.metadata,
      }),
    );
  }

  /**
   * Stops recording the call: rtpengine closes its pcap file. rtpengine 10.5 has no "pause
   * recording"; a pause is this, and a resume is startRecording, which opens a new pcap file. The
   * files' packet timestamps place the paused span, which becomes silence when they are joined.
   */
  async stopRecording(ref: { readonly callId: string }): Promise<void> {
    checkNgResult(
      'stop recording',
      await this.request('stop recording', { 'call-id': ref.callId }),
    );
  }

  /**
   * Pauses a recording (PCI: a card number being read out). rtpengine 10.5 has no pause command:
   * this stops recording, and `resumeRecording` starts it again into a new pcap; the span between
   * has no packets and becomes silence in the call's WAV (recording-audio.ts).
   */
  async pauseRecording(ref: { readonly callId: string }): Promise<void> {
    await this.stopRecording(ref);
  }

  async resumeRecording(ref: {
    readonly callId: string;
    readonly metadata?: string;
  }): Promise<void> {
    await this.startRecording(ref);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }

  private async sdpCommand(
    command: string,
    params: NgDict,
  ): Promise<{ sdp: string; reply: NgReply }> {
    const reply = checkNgResult(command, await this.request(command, params));
    if (typeof reply.sdp !== 'string' || reply.sdp === '') {
      throw new NgProtocolError(`rtpengine answered "${command}" without an SDP`);
    }
    return { sdp: reply.sdp, reply };
  }
}

function offerDict(req: NgOfferRequest): NgDict {
  return {
    'call-id': req.callId,
    'from-tag': req.fromTag,
    'via-branch': req.viaBranch,
    sdp: req.sdp,
    flags: req.flags && req.flags.length > 0 ? req.flags : undefined,
    replace: req.replace && req.replace.length > 0 ? req.replace : undefined,
    direction: req.direction,
    'received-from': req.receivedFrom,
    label: req.label,
    'record call': req.recordCall === undefined ? undefined : req.recordCall ? 'yes' : 'no',
    metadata: req.metadata,
    ...req.extra,
  };
}

function selectDict(sel: NgSelect): NgDict {
  if (!sel.fromTag && !sel.label && !sel.address && !sel.all) {
    throw new NgProtocolError(
      `select a party for call ${sel.callId}: fromTag, label, address or all`,
    );
  }
  return {
    'call-id': sel.callId,
    'from-tag': sel.fromTag,
    label: sel.label,
    address: sel.address,
    flags: sel.all ? ['all'] : undefined,
  };
}
