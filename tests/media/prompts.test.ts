// The install step's prompts: every piece rendered once from text and Debian's sound files, as
// 8 kHz mono WAV, not rendered again while nothing changed, the ringback tones at their
// frequencies and cadences, and an announcement assembled from its pieces in order.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import {
  assemblePrompt,
  promptCatalog,
  queueAnnouncement,
  readPromptManifest,
  renderPrompts,
  TONES,
} from '@ccfed/services';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import {
  dominantFrequency,
  durationS,
  findPrompt,
  levelDb,
  soundSpansOf,
} from '../support/audio.js';
import { uniqueName } from '../support/engines.js';

describe('rendered prompts', () => {
  const dir = join(inject('runDir'), uniqueName('prompts'));
  let files: Readonly<Record<string, string>>;

  beforeAll(async () => {
    const first = await renderPrompts(dir);
    expect(first.rendered).toBe(true);
    files = first.manifest.files;
  });

  it('renders every catalog piece as audible 8 kHz mono speech, and nothing again while nothing changed', async () => {
    for (const piece of promptCatalog()) {
      const file = files[piece.id];
      expect(file, piece.id).toBeDefined();
      expect(await durationS(file!), piece.id).toBeGreaterThan(0.15);
    }
    const sample = files['zh/press-1-callback']!;
    expect(await levelDb(sample)).toBeGreaterThan(-30);
    const mtime = statSync(sample).mtimeMs;
    const again = await renderPrompts(dir);
    expect(again.rendered).toBe(false);
    expect(again.manifest.hash).toBe(readPromptManifest(dir)!.hash);
    expect(statSync(sample).mtimeMs).toBe(mtime);
  });

  it('synthesises both ringback cadences at their frequencies', async () => {
    const cn = files['tones/ringback-cn']!;
    expect(await durationS(cn)).toBe(
      TONES['tones/ringback-cn'].onS + TONES['tones/ringback-cn'].offS,
    );
    expect(Math.abs((await dominantFrequency(cn, { durationS: 1 })) - 450)).toBeLessThan(
      450 * 0.05,
    );
    expect(await soundSpansOf(cn)).toEqual([{ startS: 0, endS: 1 }]);
    const na = files['tones/ringback-na']!;
    expect(await soundSpansOf(na)).toEqual([{ startS: 0, endS: 2 }]);
    // Both sines, not one: the strongest is one of them, and 440 Hz alone would leave 480 out.
    const hz = await dominantFrequency(na, { durationS: 2 });
    expect([440, 480].some((f) => Math.abs(hz - f) < f * 0.02)).toBe(true);
    expect(Object.keys(files).filter((id) => id.startsWith('moh/')).length).toBeGreaterThan(0);
  });

  it('assembles an announcement from its pieces, in order, once', async () => {
    const a = queueAnnouncement({ language: 'zh', position: 5, expectedWaitS: 400 });
    const file = await assemblePrompt(dir, a.pieces);
    expect(await assemblePrompt(dir, a.pieces)).toBe(file);
    let total = 0;
    for (const id of a.pieces) total += await durationS(files[id]!);
    expect(await durationS(file)).toBeCloseTo(total, 1);
    // The position piece sits where the order puts it: after "you are number".
    const at = await findPrompt(file, files['zh/number-5']!);
    expect(at.offsetS).toBeCloseTo(await durationS(files['zh/you-are-number']!), 0);
    await expect(assemblePrompt(dir, ['en/no-such-piece'])).rejects.toThrow(/no prompt piece/);
  });
});
