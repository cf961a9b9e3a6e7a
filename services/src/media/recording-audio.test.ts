import { describe, expect, it } from 'vitest';
import { layOutChannel, silenceSpans, type RecordedRtp } from './recording-audio.js';

// 20 ms of one G.711 byte value, as one RTP packet of a stream.
function packet(over: Partial<RecordedRtp> & { seq: number; fill?: number }): RecordedRtp {
  const t0 = 1_000;
  return {
    timeS: over.timeS ?? t0 + over.seq * 0.02,
    dstPort: 20_000,
    ssrc: over.ssrc ?? 1,
    rtpTimestamp: over.rtpTimestamp ?? (5_000 + over.seq * 160) % 2 ** 32,
    payloadType: over.payloadType ?? 0,
    payload: Buffer.alloc(160, over.fill ?? 0x10),
  };
}

describe('laying out one party of a recording', () => {
  it('places packets back to back by RTP timestamp, whatever their capture jitter', () => {
    const packets = [0, 1, 2].map((seq) =>
      packet({ seq, fill: 0x10 + seq, timeS: 1_000 + seq * 0.02 + (seq === 1 ? 0.007 : 0) }),
    );
    const { codec, bytes } = layOutChannel(packets, 1_000, 1_000.06);
    expect(codec).toBe('ulaw');
    expect(bytes).toHaveLength(480);
    expect([bytes[0], bytes[159], bytes[160], bytes[319], bytes[320], bytes[479]]).toEqual([
      0x10, 0x10, 0x11, 0x11, 0x12, 0x12,
    ]);
  });

  it('leaves a paused span as G.711 silence, the stream resuming at its own timestamp', () => {
    // Recording stopped after 1 s and started again 1.5 s later; the phone kept its clock.
    const before = Array.from({ length: 50 }, (_, seq) => packet({ seq }));
    const after = Array.from({ length: 50 }, (_, i) => packet({ seq: 125 + i }));
    const { bytes } = layOutChannel([...before, ...after], 1_000, 1_003.5);
    expect(bytes).toHaveLength(28_000);
    expect(bytes.subarray(0, 8_000).every((b) => b === 0x10)).toBe(true);
    expect(bytes.subarray(8_000, 20_000).every((b) => b === 0xff)).toBe(true);
    expect(bytes.subarray(20_000, 28_000).every((b) => b === 0x10)).toBe(true);
  });

  it('follows a timestamp that wraps past 2^32', () => {
    const base = 2 ** 32 - 160;
    const packets = [0, 1, 2].map((seq) =>
      packet({ seq, fill: 0x20 + seq, rtpTimestamp: (base + seq * 160) % 2 ** 32 }),
    );
    const { bytes } = layOutChannel(packets, 1_000, 1_000.06);
    expect([bytes[0], bytes[200], bytes[400]]).toEqual([0x20, 0x21, 0x22]);
  });

  it('anchors a new stream (SSRC) at its capture time', () => {
    const first = packet({ seq: 0, fill: 0x30 });
    const second = packet({ seq: 0, ssrc: 2, fill: 0x31, timeS: 1_000.5, rtpTimestamp: 99 });
    const { bytes } = layOutChannel([first, second], 1_000, 1_001);
    expect(bytes[100]).toBe(0x30);
    expect(bytes[3_000]).toBe(0xff);
    expect(bytes[4_000]).toBe(0x31);
  });

  it('uses A-law silence for a PCMA party and skips DTMF event packets', () => {
    const packets = [
      packet({ seq: 0, payloadType: 8, fill: 0x55 }),
      packet({ seq: 1, payloadType: 101, fill: 0x01 }),
    ];
    const { codec, bytes } = layOutChannel(packets, 1_000, 1_000.04);
    expect(codec).toBe('alaw');
    expect([bytes[0], bytes[200]]).toEqual([0x55, 0xd5]);
  });

  it('refuses a party that switched codec mid-call', () => {
    expect(() =>
      layOutChannel([packet({ seq: 0 }), packet({ seq: 1, payloadType: 8 })], 1_000, 1_001),
    ).toThrow(/switched between PCMU and PCMA/);
  });
});

describe('silencing a paused span', () => {
  it('blanks the span on the channel whatever it held, in the channel’s own law', () => {
    const ulaw = { codec: 'ulaw' as const, bytes: Buffer.alloc(8_000, 0x10) };
    silenceSpans(ulaw, 1_000, [{ startS: 1_000.25, endS: 1_000.5 }]);
    expect(ulaw.bytes.subarray(0, 2_000).every((b) => b === 0x10)).toBe(true);
    expect(ulaw.bytes.subarray(2_000, 4_000).every((b) => b === 0xff)).toBe(true);
    expect(ulaw.bytes.subarray(4_000).every((b) => b === 0x10)).toBe(true);
    const alaw = { codec: 'alaw' as const, bytes: Buffer.alloc(800, 0x10) };
    // A span running past either end is cut to the channel.
    silenceSpans(alaw, 1_000, [
      { startS: 999, endS: 1_000.05 },
      { startS: 1_000.09, endS: 1_005 },
    ]);
    expect([
      alaw.bytes[0],
      alaw.bytes[399],
      alaw.bytes[400],
      alaw.bytes[719],
      alaw.bytes[720],
    ]).toEqual([0xd5, 0xd5, 0x10, 0x10, 0xd5]);
  });
});
