import { describe, expect, it } from 'vitest';
import { loudnessDb, matchEnvelope, soundSpans } from './signal.js';

const RATE = 8000;

function tone(seconds: number, hz: number, amplitude = 1): Float32Array {
  const out = new Float32Array(Math.round(seconds * RATE));
  for (let i = 0; i < out.length; i++) out[i] = amplitude * Math.sin((2 * Math.PI * hz * i) / RATE);
  return out;
}

function concat(...parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

// A deterministic "utterance": syllable-like bursts of varying length, pitch and level.
function utterance(seed: number, syllables: number): Float32Array {
  let s = seed;
  const rand = () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31;
  };
  const parts: Float32Array[] = [];
  for (let i = 0; i < syllables; i++) {
    parts.push(tone(0.08 + rand() * 0.25, 150 + rand() * 300, 0.1 + rand() * 0.6));
    parts.push(new Float32Array(Math.round((0.03 + rand() * 0.2) * RATE)));
  }
  return concat(...parts);
}

describe('loudness', () => {
  it('puts a full-scale sine at -3 dBFS and silence at the floor', () => {
    const l = loudnessDb(concat(tone(0.2, 440), new Float32Array(1600)), RATE, 20, -90);
    expect(l).toHaveLength(20);
    expect(l[0]).toBeCloseTo(-3.01, 1);
    expect(l[19]).toBe(-90);
  });
});

describe('sound spans', () => {
  it('finds a ringback cadence: 1 s on, 4 s off', () => {
    const cadence = concat(
      tone(1, 450, 0.3),
      new Float32Array(4 * RATE),
      tone(1, 450, 0.3),
      new Float32Array(RATE),
    );
    const spans = soundSpans(loudnessDb(cadence, RATE), 20, -40);
    expect(spans).toEqual([
      { startS: 0, endS: 1 },
      { startS: 5, endS: 6 },
    ]);
  });

  it('bridges short gaps only when asked', () => {
    const words = concat(tone(0.3, 300, 0.5), new Float32Array(0.1 * RATE), tone(0.3, 300, 0.5));
    expect(soundSpans(loudnessDb(words, RATE), 20, -40)).toHaveLength(2);
    expect(soundSpans(loudnessDb(words, RATE), 20, -40, 150)).toEqual([{ startS: 0, endS: 0.7 }]);
  });
});

describe('envelope match', () => {
  const prompt = utterance(7, 12);

  it('finds a prompt inside a recording, quieter and noisy, at the offset it was played', () => {
    const played = prompt.map((v, i) => 0.4 * v + 0.002 * Math.sin(i * 12.9898));
    const received = concat(
      new Float32Array(1.3 * RATE),
      tone(1, 450, 0.2),
      played,
      utterance(99, 6),
    );
    const match = matchEnvelope(received, prompt, RATE);
    expect(match.correlation).toBeGreaterThan(0.9);
    expect(match.offsetS).toBeCloseTo(2.3, 1);
  });

  it('scores another utterance or a ringback tone low', () => {
    const other = concat(utterance(12345, 14), new Float32Array(RATE));
    expect(matchEnvelope(other, prompt, RATE).correlation).toBeLessThan(0.6);
    const ringback = concat(
      tone(1, 450, 0.3),
      new Float32Array(4 * RATE),
      tone(1, 450, 0.3),
      new Float32Array(4 * RATE),
    );
    expect(matchEnvelope(ringback, prompt, RATE).correlation).toBeLessThan(0.6);
  });

  it('refuses a recording shorter than the reference', () => {
    expect(() => matchEnvelope(tone(0.5, 300), prompt, RATE)).toThrow(/record longer/);
  });
});
