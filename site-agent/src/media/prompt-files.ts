// The files rtpengine plays to queued callers: the prompts rendered at install time
// (services/src/media/prompts.ts, scripts/install.sh), read through their manifest, and
// announcements assembled from their pieces into one file each (cached beside them).
import { assemblePrompt, readPromptManifest, type PromptManifest } from '@ccfed/services/media';
import type { Logger } from 'pino';
import type { Prompt } from '../call/queue-media.js';

export class PromptFiles {
  private constructor(
    private readonly dir: string,
    private readonly manifest: PromptManifest | undefined,
  ) {}

  /**
   * The prompts in `dir`. Without rendered prompts calls are still served, in silence: the site
   * logs it once here and every play fails with the reason.
   */
  static open(dir: string, log: Logger): PromptFiles {
    const manifest = readPromptManifest(dir);
    if (!manifest)
      log.error(
        { event: 'prompts_missing', dir },
        'no rendered prompts: queued callers hear silence (run scripts/install.sh or set CCFED_PROMPTS_DIR)',
      );
    else
      log.info(
        { event: 'prompts_loaded', dir, files: Object.keys(manifest.files).length },
        'queue prompts ready',
      );
    return new PromptFiles(dir, manifest);
  }

  /** The file to play for `prompt`; rejects naming what is missing. */
  async fileOf(prompt: Prompt): Promise<string> {
    const { manifest } = this;
    if (!manifest) throw new Error(`no rendered prompts in ${this.dir}`);
    switch (prompt.kind) {
      case 'ringback':
        return this.piece(prompt.piece);
      case 'music': {
        if (prompt.name !== undefined) return this.piece(`moh/${prompt.name}`);
        const first = Object.keys(manifest.files)
          .filter((id) => id.startsWith('moh/'))
          .sort()[0];
        if (!first) throw new Error(`no music on hold in ${this.dir}`);
        return manifest.files[first]!;
      }
      case 'announcement':
      case 'farewell':
        return assemblePrompt(this.dir, prompt.pieces);
    }
  }

  private piece(id: string): string {
    const file = this.manifest?.files[id];
    if (!file) throw new Error(`no prompt ${id} in ${this.dir}`);
    return file;
  }
}
