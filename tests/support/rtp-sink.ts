// A UDP port on loopback that keeps every RTP packet sent to it, by sender: a test phone that
// only listens (a sipp customer's SDP names it) and what it heard, per rtpengine address.
import { createSocket, type Socket } from 'node:dgram';
import { writeFileSync } from 'node:fs';

export interface RtpPacket {
  /** Epoch ms of arrival. */
  readonly atMs: number;
  readonly payloadType: number;
  readonly seq: number;
  readonly payload: Buffer;
}

export class RtpSink {
  /** Packets by sender, `ip:port`, in arrival order. */
  readonly bySender = new Map<string, RtpPacket[]>();

  private constructor(
    private readonly socket: Socket,
    readonly port: number,
  ) {
    socket.on('message', (buf, rinfo) => {
      const packet = parseRtp(buf);
      if (!packet) return;
      const key = `${rinfo.address}:${rinfo.port}`;
      const list = this.bySender.get(key) ?? [];
      list.push(packet);
      this.bySender.set(key, list);
    });
  }

  static async open(): Promise<RtpSink> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    return new RtpSink(socket, socket.address().port);
  }

  /** What `sender` sent from `sinceMs` on. */
  from(sender: string, sinceMs = 0): RtpPacket[] {
    return (this.bySender.get(sender) ?? []).filter((p) => p.atMs >= sinceMs);
  }

  /**
   * Writes the PCMU (payload type 0) audio of `packets` in sequence order to `file` as raw μ-law
   * (name it *.ul: sox reads that as 8 kHz mono G.711), for tests/support/audio.ts.
   */
  static writeUlaw(packets: readonly RtpPacket[], file: string): string {
    const audio = packets.filter((p) => p.payloadType === 0).sort((a, b) => seqOrder(a.seq, b.seq));
    writeFileSync(file, Buffer.concat(audio.map((p) => p.payload)));
    return file;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

/** Sequence numbers wrap at 2^16: order by the shorter distance. */
function seqOrder(a: number, b: number): number {
  const d = (a - b + 0x10000) % 0x10000;
  return d === 0 ? 0 : d < 0x8000 ? 1 : -1;
}

/** An RTP packet (RFC 3550 5.1), or undefined for anything else (RTCP, garbage). */
function parseRtp(buf: Buffer): RtpPacket | undefined {
  if (buf.length < 12 || buf[0]! >> 6 !== 2) return undefined;
  const payloadType = buf[1]! & 0x7f;
  // 72-76 are RTCP packet types seen through the same first bytes
  if (payloadType >= 72 && payloadType <= 76) return undefined;
  let offset = 12 + 4 * (buf[0]! & 0x0f);
  if (buf[0]! & 0x10) {
    if (buf.length < offset + 4) return undefined;
    offset += 4 + 4 * buf.readUInt16BE(offset + 2);
  }
  let end = buf.length;
  if (buf[0]! & 0x20) end -= buf[buf.length - 1]!;
  if (end < offset) return undefined;
  return {
    atMs: Date.now(),
    payloadType,
    seq: buf.readUInt16BE(2),
    payload: buf.subarray(offset, end),
  };
}
