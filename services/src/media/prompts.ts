// The site's prompts as audio, rendered at install time and never downloaded: every piece of the
// announcement catalog spoken by espeak-ng (Mandarin with its cmn voice), the two ringback
// cadences synthesised by sox, and the music on hold Debian ships (asterisk-moh-opsound-wav), all
// as 8 kHz mono 16-bit WAV, which rtpengine plays into G.711 without resampling. The directory
// carries a manifest keyed by a hash of everything that shapes the audio, so rendering again is a
// no-op until a text, a voice or a tone changes.
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { promptCatalog, type PromptLanguage } from './announcement.js';

import { ESPEAK_BIN, SOX_BIN } from './tools.js';

const run = promisify(execFile);
export const MOH_SOURCE_DIR = '/usr/share/asterisk/moh';
/** Where scripts/install.sh renders the prompts in a checkout (and a site image). */
export const DEFAULT_PROMPTS_DIR = new URL('../../../.ccfed/prompts', import.meta.url).pathname;

/** espeak-ng voice per language. */
export const VOICES: Readonly<Record<PromptLanguage, string>> = { en: 'en-us', zh: 'cmn' };

// What rtpengine plays best for G.711: no resampling, one channel.
const FORMAT = ['-r', '8000', '-c', '1', '-b', '16', '-e', 'signed-integer'];

/**
 * Ringback tones, one cadence period each (played with repeat): China's 450 Hz 1 s on / 4 s off,
 * and North America's 440 + 480 Hz 2 s on / 4 s off. Level about -16 dBFS, like a tone a network
 * plays, not a shout.
 */
export const TONES = {
  'tones/ringback-cn': { channels: 1, synth: ['synth', '1', 'sine', '450'], onS: 1, offS: 4 },
  // Two sines as two channels mixed down: sox's synth on one channel keeps only the last sine.
  'tones/ringback-na': {
    channels: 2,
    synth: ['synth', '2', 'sine', '440', 'sine', '480', 'remix', '-'],
    onS: 2,
    offS: 4,
  },
} as const;

// Bumped when the rendering itself (not a text or tone) changes.
const RENDER_VERSION = 1;

export interface PromptManifest {
  readonly hash: string;
  /** Piece id (e.g. "en/thank-you", "tones/ringback-cn", "moh/macroform-cold_day") → file. */
  readonly files: Readonly<Record<string, string>>;
}

/** The hash of everything that shapes the rendered audio. */
export function promptsHash(mohSources: readonly string[] = listMohSources()): string {
  return createHash('sha256')
    .update(
      JSON.stringify({
        RENDER_VERSION,
        FORMAT,
        VOICES,
        TONES,
        catalog: promptCatalog(),
        moh: mohSources.map((f) => basename(f)),
      }),
    )
    .digest('hex')
    .slice(0, 16);
}

function listMohSources(): string[] {
  if (!existsSync(MOH_SOURCE_DIR)) return [];
  return readdirSync(MOH_SOURCE_DIR)
    .filter((f) => f.endsWith('.wav'))
    .sort()
    .map((f) => join(MOH_SOURCE_DIR, f));
}

/** Reads a rendered prompts directory's manifest; undefined when there is none. */
export function readPromptManifest(dir: string): PromptManifest | undefined {
  const file = join(dir, 'manifest.json');
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as PromptManifest;
}

/**
 * Renders every prompt, tone and music-on-hold file into `dir` unless its manifest already has
 * the current hash. Renders into a sibling directory and swaps it in, so a process reading the
 * prompts never sees half a set.
 */
export async function renderPrompts(
  dir: string,
  opts: { readonly concurrency?: number } = {},
): Promise<{ manifest: PromptManifest; rendered: boolean }> {
  const moh = listMohSources();
  const hash = promptsHash(moh);
  const existing = readPromptManifest(dir);
  if (existing?.hash === hash) return { manifest: existing, rendered: false };

  const staging = `${dir}.rendering-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  const files: Record<string, string> = {};
  const jobs: (() => Promise<void>)[] = [];
  const out = (id: string) => {
    const file = join(staging, `${id}.wav`);
    mkdirSync(dirname(file), { recursive: true });
    files[id] = join(dir, `${id}.wav`);
    return file;
  };

  for (const piece of promptCatalog()) {
    const file = out(piece.id);
    jobs.push(async () => {
      const raw = `${file}.espeak.wav`;
      await run(ESPEAK_BIN, ['-v', VOICES[piece.language], '-w', raw, piece.text]);
      // Trim espeak's leading and trailing silence and leave 80 ms after, so pieces played one
      // after another sound like one sentence; normalise to -3 dBFS so pieces match in level.
      await run(SOX_BIN, [
        raw,
        ...FORMAT,
        file,
        'silence',
        '1',
        '0.01',
        '0.5%',
        'reverse',
        'silence',
        '1',
        '0.01',
        '0.5%',
        'reverse',
        'norm',
        '-3',
        'pad',
        '0',
        '0.08',
      ]);
      rmSync(raw);
    });
  }
  for (const [id, tone] of Object.entries(TONES)) {
    const file = out(id);
    jobs.push(async () => {
      await run(SOX_BIN, [
        ...['-r', '8000', '-c', String(tone.channels), '-n'],
        ...FORMAT,
        file,
        ...tone.synth,
        ...['gain', '-n', '-16', 'pad', '0', String(tone.offS)],
      ]);
    });
  }
  for (const source of moh) {
    const file = out(`moh/${basename(source, '.wav')}`);
    jobs.push(async () => {
      await run(SOX_BIN, [source, ...FORMAT, file, 'norm', '-6']);
    });
  }

  const concurrency = opts.concurrency ?? 4;
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < jobs.length) await jobs[next++]!();
    }),
  );
  const manifest: PromptManifest = { hash, files };
  writeFileSync(join(staging, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dirname(dir), { recursive: true });
  renameSync(staging, dir);
  return { manifest, rendered: true };
}

/**
 * One file holding the given pieces back to back (sox concatenation), cached under
 * `<dir>/assembled/` by the pieces' ids and the prompts' hash: rtpengine plays one file per
 * play media, so an announcement of several pieces is played as one.
 */
export async function assemblePrompt(dir: string, pieces: readonly string[]): Promise<string> {
  const manifest = readPromptManifest(dir);
  if (!manifest) throw new Error(`no rendered prompts in ${dir}; run the install step first`);
  const inputs = pieces.map((id) => {
    const file = manifest.files[id];
    if (!file) throw new Error(`no prompt piece ${id} in ${dir}`);
    return file;
  });
  const key = createHash('sha256')
    .update(`${manifest.hash}\n${pieces.join('\n')}`)
    .digest('hex');
  const file = join(dir, 'assembled', `${key.slice(0, 24)}.wav`);
  if (existsSync(file)) return file;
  mkdirSync(dirname(file), { recursive: true });
  const partial = `${file}.${process.pid}.partial.wav`;
  await run(SOX_BIN, [...inputs, ...FORMAT, partial]);
  renameSync(partial, file);
  return file;
}
