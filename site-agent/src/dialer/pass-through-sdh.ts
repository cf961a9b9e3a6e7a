// A SIP.js session description handler with no media of its own: third-party call control
// (RFC 3725) only carries one leg's SDP over to the other. When SIP.js wants an offer it gets what
// the leg's `offer` source gives (the other leg's offer, or a placeholder); when a remote offer
// came in (a 2xx to an INVITE without SDP) SIP.js's answer for the ACK waits on the `answer`
// source, which resolves with the other leg's answer; every remote SDP is handed to `remote`.
import type { BodyAndContentType, SessionDescriptionHandler } from 'sip.js';

const SDP = 'application/sdp';

export interface PassThroughSources {
  /** The SDP to offer on this leg. */
  offer(): Promise<string>;
  /** The SDP to answer this leg's remote offer with (may wait for the other leg). */
  answer(): Promise<string>;
  /** This leg's peer sent an offer or an answer. */
  remote(sdp: string, kind: 'offer' | 'answer'): void;
}

export class PassThroughSdh implements SessionDescriptionHandler {
  private localOfferOut = false;
  private remoteOfferIn = false;

  constructor(private readonly sources: PassThroughSources) {}

  async getDescription(): Promise<BodyAndContentType> {
    if (this.remoteOfferIn) {
      this.remoteOfferIn = false;
      return { body: await this.sources.answer(), contentType: SDP };
    }
    this.localOfferOut = true;
    return { body: await this.sources.offer(), contentType: SDP };
  }

  async setDescription(sdp: string): Promise<void> {
    if (this.localOfferOut) {
      this.localOfferOut = false;
      this.sources.remote(sdp, 'answer');
    } else {
      this.remoteOfferIn = true;
      this.sources.remote(sdp, 'offer');
    }
  }

  hasDescription(contentType: string): boolean {
    return contentType === SDP;
  }

  sendDtmf(): boolean {
    return false;
  }

  close(): void {}
}

/** An offer the customer can answer before any agent is there: audio to a discard address. */
export const PLACEHOLDER_OFFER = [
  'v=0',
  'o=ccfed-dialer 1 1 IN IP4 127.0.0.1',
  's=-',
  'c=IN IP4 127.0.0.1',
  't=0 0',
  'm=audio 9 RTP/AVP 0 8 101',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-15',
  'a=sendrecv',
  '',
].join('\r\n');
