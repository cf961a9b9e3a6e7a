// What a test phone heard, measured with sox: sox decodes any WAV (or raw G.711) into 8 kHz mono
// samples and computes the spectrum; services/src/media/signal.ts does the pure measurements.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { loudnessDb, matchEnvelope, soundSpans, type Span } from '@ccfed/services';

const run = promisify(execFile);
export const SOX_BIN = '/usr/bin/sox';
export const RATE = 8000;

export interface Segment {
  /** Seconds from the start of the file. */
  readonly startS?: number;
  /** Seconds to take; to the end of the file when not given. */
  readonly durationS?: number;
}

function trim(seg: Segment): string[] {
  if (seg.startS === undefined && seg.durationS === undefined) return [];
  return ['trim', String(seg.startS ?? 0), ...(seg.durationS ? [String(seg.durationS)] : [])];
}

/** A file's samples (one channel of it when `channel` is given), as 8 kHz mono floats. */
export async function readSamples(
  file: string,
  seg: Segment & { readonly channel?: 1 | 2 } = {},
): Promise<Float32Array> {
  const remix = seg.channel ? ['remix', String(seg.channel)] : [];
  const { stdout } = await run(
    SOX_BIN,
    [
      file,
      '-t',
      'raw',
      '-e',
      'signed',
      '-b',
      '16',
      '-c',
      '1',
      '-r',
      String(RATE),
      '-',
      ...remix,
      ...trim(seg),
    ],
    { encoding: 'buffer', maxBuffer: 256 * 1024 * 1024 },
  );
  const pcm = new Int16Array(stdout.buffer, stdout.byteOffset, Math.floor(stdout.length / 2));
  return Float32Array.from(pcm, (v) => v / 32768);
}

/** Seconds of audio in a file, as sox reads its header. */
export async function durationS(file: string): Promise<number> {
  const { stdout } = await run('/usr/bin/soxi', ['-D', file]);
  return Number(stdout.trim());
}

/**
 * The strongest frequency in a segment, in Hz: sox's power spectrum (stat -freq, 4096-point FFT
 * windows, ~2 Hz bins at 8 kHz) summed over the segment's windows.
 */
export async function dominantFrequency(
  file: string,
  seg: Segment & { readonly channel?: 1 | 2 } = {},
): Promise<number> {
  const remix = seg.channel ? ['remix', String(seg.channel)] : [];
  const { stderr } = await run(
    SOX_BIN,
    [file, '-r', String(RATE), '-n', ...remix, ...trim(seg), 'stat', '-freq'],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  const power = new Map<number, number>();
  for (const line of stderr.split('\n')) {
    const m = /^(\d+\.\d+)\s+(\d+(?:\.\d+)?(?:e[-+]?\d+)?)$/.exec(line.trim());
    if (m) power.set(Number(m[1]), (power.get(Number(m[1])) ?? 0) + Number(m[2]));
  }
  if (power.size === 0) throw new Error(`sox gave no spectrum for ${file} ${trim(seg).join(' ')}`);
  let best = 0;
  let bestPower = -1;
  // Below 60 Hz is DC and hum, never a tone a test plays.
  for (const [hz, p] of power) if (hz >= 60 && p > bestPower) [best, bestPower] = [hz, p];
  return best;
}

/**
 * The tone a channel carries where it sounds: the strongest frequency over its longest stretch of
 * sound (at least `minS` seconds, its first and last 0.2 s left out). A recording may start with a
 * party's silence (packets not yet flowing when rtpengine began writing) without that being the
 * party's tone; a channel with no such stretch throws, saying where it did sound.
 */
export async function toneWhereSounding(file: string, channel: 1 | 2, minS = 1): Promise<number> {
  const spans = await soundSpansOf(file, { channel, bridgeMs: 100 });
  const longest = [...spans].sort((a, b) => b.endS - b.startS - (a.endS - a.startS))[0];
  if (!longest || longest.endS - longest.startS < minS) {
    throw new Error(
      `channel ${channel} of ${file} never sounds for ${minS} s: ${JSON.stringify(spans)}`,
    );
  }
  return dominantFrequency(file, {
    channel,
    startS: longest.startS + 0.2,
    durationS: longest.endS - longest.startS - 0.4,
  });
}

/**
 * Where a tone starts in a file, to `stepS`: the first `t` from `fromS` on (up to `toS`) where
 * the half-second windows at t and at t + 0.5 both sound (over -40 dBFS) with `hz` their
 * strongest frequency (within 5 %), so that a moment of music or speech near `hz` is not taken
 * for the tone; undefined when there is none.
 */
export async function toneOnsetS(
  file: string,
  hz: number,
  range: { readonly fromS: number; readonly toS: number; readonly stepS?: number },
): Promise<number | undefined> {
  const step = range.stepS ?? 0.25;
  for (let t = Math.max(0, range.fromS); t <= range.toS; t += step) {
    const toneAt = async (startS: number) => {
      const seg = { startS, durationS: 0.5 };
      if ((await levelDb(file, seg)) <= -40) return false;
      return Math.abs((await dominantFrequency(file, seg)) - hz) / hz < 0.05;
    };
    if ((await toneAt(t)) && (await toneAt(t + 0.5))) return t;
  }
  return undefined;
}

/** Where a file has sound (louder than `thresholdDb`, gaps up to `bridgeMs` bridged). */
export async function soundSpansOf(
  file: string,
  opts: Segment & { readonly channel?: 1 | 2; thresholdDb?: number; bridgeMs?: number } = {},
): Promise<Span[]> {
  const samples = await readSamples(file, opts);
  return soundSpans(loudnessDb(samples, RATE, 20), 20, opts.thresholdDb ?? -45, opts.bridgeMs ?? 0);
}

/** Loudness of a segment as one RMS figure in dBFS (-90 for digital silence). */
export async function levelDb(file: string, seg: Segment & { readonly channel?: 1 | 2 } = {}) {
  const samples = await readSamples(file, seg);
  return loudnessDb(samples, RATE, (samples.length / RATE) * 1000)[0] ?? -90;
}

/** Where a rendered prompt best lines up in a recording, and how well (see matchEnvelope). */
export async function findPrompt(
  recording: string,
  prompt: string,
  seg: Segment = {},
): Promise<{ correlation: number; offsetS: number }> {
  const [rx, ref] = await Promise.all([readSamples(recording, seg), readSamples(prompt)]);
  // A phone's recording can start a few frames into the prompt (its jitter buffer drops the first
  // packets) or end with it: a second of silence on each side lets the prompt slide off the ends.
  const pad = new Float32Array(RATE);
  const padded = new Float32Array(rx.length + 2 * RATE);
  padded.set(pad, 0);
  padded.set(rx, RATE);
  const match = matchEnvelope(padded, ref, RATE);
  return { ...match, offsetS: match.offsetS - 1 + (seg.startS ?? 0) };
}

/** Writes a sine tone as an 8 kHz mono 16-bit WAV (a test phone's microphone). */
export async function renderTone(file: string, hz: number, seconds: number): Promise<string> {
  await run(SOX_BIN, [
    '-n',
    '-r',
    String(RATE),
    '-c',
    '1',
    '-b',
    '16',
    file,
    'synth',
    String(seconds),
    'sine',
    String(hz),
    'vol',
    '0.5',
  ]);
  return file;
}
