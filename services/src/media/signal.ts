// Pure measurements on mono PCM samples (floats in [-1, 1]), for checking what a phone heard:
// loudness over time, where sound starts and stops, and where a known prompt sits in a
// recording. Decoding files into samples is sox's job (tests/support/audio.ts).

/** Loudness per frame in dBFS (a full-scale sine is -3 dB), floored at `floorDb` for silence. */
export function loudnessDb(
  samples: Float32Array,
  sampleRate: number,
  frameMs = 20,
  floorDb = -90,
): number[] {
  const frame = Math.max(1, Math.round((sampleRate * frameMs) / 1000));
  const out: number[] = [];
  for (let start = 0; start + frame <= samples.length; start += frame) {
    let sum = 0;
    for (let i = start; i < start + frame; i++) sum += samples[i]! * samples[i]!;
    const rms = Math.sqrt(sum / frame);
    out.push(rms > 0 ? Math.max(floorDb, 20 * Math.log10(rms)) : floorDb);
  }
  return out;
}

export interface Span {
  readonly startS: number;
  readonly endS: number;
}

/**
 * The spans where loudness stays above `thresholdDb`, in seconds. Gaps shorter than `bridgeMs`
 * are bridged, so the pauses between a prompt's words do not split it.
 */
export function soundSpans(
  loudness: readonly number[],
  frameMs: number,
  thresholdDb: number,
  bridgeMs = 0,
): Span[] {
  const spans: Span[] = [];
  let start = -1;
  for (let i = 0; i <= loudness.length; i++) {
    const loud = i < loudness.length && loudness[i]! > thresholdDb;
    if (loud && start < 0) start = i;
    if (!loud && start >= 0) {
      const span = { startS: (start * frameMs) / 1000, endS: (i * frameMs) / 1000 };
      const last = spans.at(-1);
      if (last && (span.startS - last.endS) * 1000 <= bridgeMs) {
        spans[spans.length - 1] = { startS: last.startS, endS: span.endS };
      } else {
        spans.push(span);
      }
      start = -1;
    }
  }
  return spans;
}

/**
 * Where `reference` best lines up inside `received`, by the Pearson correlation of their loudness
 * envelopes (20 ms frames): robust to G.711 coding, level changes and a start at any offset, and
 * low for a different prompt or a tone. `correlation` is in [-1, 1]; `offsetS` is where the
 * reference starts in the received signal.
 */
export function matchEnvelope(
  received: Float32Array,
  reference: Float32Array,
  sampleRate: number,
): { correlation: number; offsetS: number } {
  const frameMs = 20;
  // Quiet frames all sit at the floor: below -60 dB, the G.711 noise floor, nothing is heard.
  const rx = loudnessDb(received, sampleRate, frameMs, -60);
  const ref = loudnessDb(reference, sampleRate, frameMs, -60);
  if (ref.length < 5 || rx.length < ref.length) {
    throw new Error(
      `cannot match a ${ref.length}-frame reference in a ${rx.length}-frame recording: record longer`,
    );
  }
  const refMean = mean(ref);
  const refDev = ref.map((v) => v - refMean);
  const refNorm = Math.sqrt(refDev.reduce((s, v) => s + v * v, 0));
  let best = { correlation: -1, offsetS: 0 };
  for (let lag = 0; lag + ref.length <= rx.length; lag++) {
    const window = rx.slice(lag, lag + ref.length);
    const m = mean(window);
    let dot = 0;
    let norm = 0;
    for (let i = 0; i < window.length; i++) {
      const d = window[i]! - m;
      dot += d * refDev[i]!;
      norm += d * d;
    }
    const denom = Math.sqrt(norm) * refNorm;
    const correlation = denom > 0 ? dot / denom : 0;
    if (correlation > best.correlation) best = { correlation, offsetS: (lag * frameMs) / 1000 };
  }
  return best;
}

function mean(values: readonly number[]): number {
  return values.reduce((s, v) => s + v, 0) / values.length;
}
