// Kamailio's evapi frames every message as a netstring, `<length>:<bytes>,`, in both directions.

/** Frames one message as a netstring. */
export function encodeNetstring(payload: string): Buffer {
  const body = Buffer.from(payload, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length}:`, 'ascii'), body, Buffer.from(',', 'ascii')]);
}

export type NetstringProblem = { readonly kind: 'bad-frame'; readonly detail: string };

/**
 * Splits a byte stream into netstring payloads. Partial frames wait for more bytes; a malformed
 * or oversized frame is reported and the decoder skips to the next frame start it can find, so
 * one bad frame never wedges the link.
 */
export class NetstringDecoder {
  private buf: Buffer = Buffer.alloc(0);

  constructor(private readonly maxFrameBytes = 64 * 1024) {}

  /** Feeds bytes; returns the complete payloads and any problems found, in order. */
  push(chunk: Buffer): { frames: string[]; problems: NetstringProblem[] } {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const frames: string[] = [];
    const problems: NetstringProblem[] = [];
    for (;;) {
      let i = 0;
      // Whitespace between frames is allowed (and used as a keep-alive by the site agent).
      while (i < this.buf.length && isSpace(this.buf[i]!)) i++;
      if (i === this.buf.length) {
        this.buf = Buffer.alloc(0);
        break;
      }
      const colon = this.buf.indexOf(0x3a, i);
      const digitsEnd = colon < 0 ? this.buf.length : colon;
      const header = this.buf.toString('ascii', i, digitsEnd);
      if (!/^\d*$/.test(header) || header.length > 10 || (colon >= 0 && header.length === 0)) {
        problems.push({
          kind: 'bad-frame',
          detail: `bad length ${JSON.stringify(header.slice(0, 20))}`,
        });
        this.resync(i + 1);
        continue;
      }
      if (colon < 0) {
        this.buf = this.buf.subarray(i);
        break;
      }
      const len = Number(header);
      if (len > this.maxFrameBytes) {
        problems.push({
          kind: 'bad-frame',
          detail: `frame of ${len} bytes is over the ${this.maxFrameBytes}-byte limit`,
        });
        this.resync(colon + 1);
        continue;
      }
      const end = colon + 1 + len;
      if (this.buf.length < end + 1) {
        this.buf = this.buf.subarray(i);
        break;
      }
      if (this.buf[end] !== 0x2c) {
        problems.push({ kind: 'bad-frame', detail: 'frame does not end with ","' });
        this.resync(colon + 1);
        continue;
      }
      frames.push(this.buf.toString('utf8', colon + 1, end));
      this.buf = this.buf.subarray(end + 1);
    }
    return { frames, problems };
  }

  /** Drops bytes up to the next position that could start a frame (a digit after ',' or start). */
  private resync(from: number): void {
    let j = from;
    while (
      j < this.buf.length &&
      !(isDigit(this.buf[j]!) && (this.buf[j - 1] === 0x2c || isSpace(this.buf[j - 1] ?? 0x20)))
    )
      j++;
    this.buf = this.buf.subarray(j);
  }
}

const isSpace = (b: number) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
const isDigit = (b: number) => b >= 0x30 && b <= 0x39;
