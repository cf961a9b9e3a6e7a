// One recorded call as one stereo WAV, caller left and agent right, from the pcap files rtpengine
// wrote for it (one per start recording: a pause is stop + start, so a paused call has several).
// tshark reads the RTP out of the pcaps, the packets are laid out on the call's timeline here, and
// sox decodes G.711 and interleaves the two channels. A span with no packets (a pause, a silence
// suppressed by the phone, loss) becomes G.711 silence.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { SOX_BIN, TSHARK_BIN } from './tools.js';

const run = promisify(execFile);

const RATE = 8000;

/** One RTP packet as rtpengine recorded it: what arrived at rtpengine, from either party. */
export interface RecordedRtp {
  /** Capture time, seconds since the epoch. */
  readonly timeS: number;
  /** The rtpengine port it arrived on: each party sends to its own. */
  readonly dstPort: number;
  readonly ssrc: number;
  readonly rtpTimestamp: number;
  readonly payloadType: number;
  readonly payload: Buffer;
}

export type G711 = 'ulaw' | 'alaw';

// Static payload types of RFC 3551; anything else (telephone-event, comfort noise) is not audio
// to lay out.
const G711_TYPES: Readonly<Record<number, G711>> = { 0: 'ulaw', 8: 'alaw' };
// The code for silence (zero amplitude) in each law.
const SILENCE: Readonly<Record<G711, number>> = { ulaw: 0xff, alaw: 0xd5 };

/** Reads every RTP packet out of rtpengine pcap files with tshark, in capture order. */
export async function readRecordedRtp(pcaps: readonly string[]): Promise<RecordedRtp[]> {
  const packets: RecordedRtp[] = [];
  for (const pcap of pcaps) {
    const { stdout } = await run(
      TSHARK_BIN,
      [
        '-r',
        pcap,
        // rtpengine writes no SDP into the pcap, so nothing tells tshark the UDP is RTP.
        '-o',
        'rtp.heuristic_rtp:TRUE',
        '-Y',
        'rtp',
        '-T',
        'fields',
        '-E',
        'separator=,',
        '-e',
        'frame.time_epoch',
        '-e',
        'udp.dstport',
        '-e',
        'rtp.ssrc',
        '-e',
        'rtp.timestamp',
        '-e',
        'rtp.p_type',
        '-e',
        'rtp.payload',
      ],
      { maxBuffer: 512 * 1024 * 1024 },
    );
    for (const line of stdout.split('\n')) {
      const [time, dst, ssrc, ts, pt, payload] = line.trim().split(',');
      if (!time || !payload) continue;
      packets.push({
        timeS: Number(time),
        dstPort: Number(dst),
        ssrc: Number(ssrc),
        rtpTimestamp: Number(ts),
        payloadType: Number(pt),
        payload: Buffer.from(payload.replaceAll(':', ''), 'hex'),
      });
    }
  }
  return packets.sort((a, b) => a.timeS - b.timeS);
}

/**
 * Lays one party's G.711 packets out on the timeline [startS, endS): each stream (SSRC) is
 * anchored at the capture time of its first packet and follows its RTP timestamps from there, so
 * network jitter does not move audio; a new SSRC (after a pause, or a re-INVITE) anchors again.
 * Where no packet lies, G.711 silence. Throws when the party changed codec mid-call.
 */
export function layOutChannel(
  packets: readonly RecordedRtp[],
  startS: number,
  endS: number,
): { codec: G711; bytes: Buffer } {
  const audio = packets.filter((p) => G711_TYPES[p.payloadType] !== undefined);
  const codecs = new Set(audio.map((p) => G711_TYPES[p.payloadType]!));
  if (codecs.size > 1) {
    throw new Error(
      'a party switched between PCMU and PCMA mid-call; this recording is not laid out',
    );
  }
  const codec: G711 = codecs.values().next().value ?? 'ulaw';
  const bytes = Buffer.alloc(Math.max(0, Math.round((endS - startS) * RATE)), SILENCE[codec]);
  const streams = new Map<number, { anchorS: number; baseTs: number; lastTs: number }>();
  for (const p of audio) {
    let stream = streams.get(p.ssrc);
    let ts = p.rtpTimestamp;
    if (stream) {
      // RTP timestamps wrap at 2^32: continue from the last one by the signed shortest step.
      const step = (((p.rtpTimestamp - stream.lastTs) % 2 ** 32) + 2 ** 32) % 2 ** 32;
      ts = stream.lastTs + (step < 2 ** 31 ? step : step - 2 ** 32);
      // A jump of over a minute is a reset stream, not a minute of audio: anchor it again.
      if (Math.abs(ts - stream.lastTs) > 60 * RATE) stream = undefined;
    }
    if (!stream) {
      stream = { anchorS: p.timeS, baseTs: p.rtpTimestamp, lastTs: p.rtpTimestamp };
      streams.set(p.ssrc, stream);
      ts = p.rtpTimestamp;
    }
    stream.lastTs = ts;
    const at = Math.round((stream.anchorS - startS) * RATE) + (ts - stream.baseTs);
    if (at >= bytes.length || at + p.payload.length <= 0) continue;
    const from = Math.max(0, -at);
    p.payload.copy(bytes, Math.max(0, at), from, Math.min(p.payload.length, bytes.length - at));
  }
  return { codec, bytes };
}

/**
 * Makes `spans` (epoch seconds) of a channel laid out from `startS` G.711 silence, whatever it
 * held: a pause is silent even where packets arrived before rtpengine stopped recording.
 */
export function silenceSpans(
  channel: { readonly codec: G711; readonly bytes: Buffer },
  startS: number,
  spans: readonly { readonly startS: number; readonly endS: number }[],
): void {
  for (const span of spans) {
    const from = Math.max(0, Math.floor((span.startS - startS) * RATE));
    const to = Math.min(channel.bytes.length, Math.ceil((span.endS - startS) * RATE));
    if (to > from) channel.bytes.fill(SILENCE[channel.codec], from, to);
  }
}

export interface StereoRecordingOptions {
  /** rtpengine's pcap files of the call, in any order. */
  readonly pcaps: readonly string[];
  /** rtpengine's port facing the caller (the one the caller's SDP answer named): left channel. */
  readonly callerPort: number;
  /** The WAV to write: 8 kHz, 16-bit, two channels. */
  readonly out: string;
  /**
   * The time the recording covers, epoch seconds (e.g. the agent's answer to the hang-up): a pause
   * at either end is silence too. Default: the first recorded packet to the last.
   */
  readonly span?: { readonly startS: number; readonly endS: number };
  /** Where the decoded audio is staged on its way into the WAV; default the OS's temp dir. */
  readonly workDir?: string;
  /**
   * Spans to make silent whatever was recorded in them, epoch seconds: a paused recording's pause,
   * so that audio rtpengine caught between the request and its stopping is not kept.
   */
  readonly silence?: readonly { readonly startS: number; readonly endS: number }[];
}

/**
 * Writes the call as a stereo WAV, caller left and agent right (every RTP that arrived on a port
 * other than the caller's is the agent's), from the first recorded packet to the last. Resolves
 * with where on the epoch timeline it starts and how long it is.
 */
export async function pcapsToStereoWav(
  opts: StereoRecordingOptions,
): Promise<{ startS: number; durationS: number }> {
  const packets = await readRecordedRtp(opts.pcaps);
  if (packets.length === 0) throw new Error(`no RTP in ${opts.pcaps.join(', ')}`);
  const startS = opts.span?.startS ?? packets[0]!.timeS;
  const endS = opts.span?.endS ?? packets.at(-1)!.timeS + 0.02;
  const caller = layOutChannel(
    packets.filter((p) => p.dstPort === opts.callerPort),
    startS,
    endS,
  );
  const agent = layOutChannel(
    packets.filter((p) => p.dstPort !== opts.callerPort),
    startS,
    endS,
  );
  for (const channel of [caller, agent]) silenceSpans(channel, startS, opts.silence ?? []);
  const dir = mkdtempSync(join(opts.workDir ?? tmpdir(), 'ccfed-recording-'));
  try {
    const left = join(dir, 'caller.raw');
    const right = join(dir, 'agent.raw');
    writeFileSync(left, caller.bytes);
    writeFileSync(right, agent.bytes);
    const input = (file: string, codec: G711) => [
      '-t',
      'raw',
      '-e',
      codec === 'ulaw' ? 'u-law' : 'a-law',
      '-r',
      String(RATE),
      '-c',
      '1',
      file,
    ];
    await run(SOX_BIN, [
      '-M',
      ...input(left, caller.codec),
      ...input(right, agent.codec),
      '-b',
      '16',
      '-e',
      'signed-integer',
      opts.out,
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { startS, durationS: endS - startS };
}
