// Install step: renders the site's prompts into a directory (default .ccfed/prompts), or says
// they are up to date. scripts/install.sh runs it after the npm packages.
import { resolve } from 'node:path';
import { renderPrompts } from './prompts.js';

const dir = resolve(process.argv[2] ?? '.ccfed/prompts');
const started = Date.now();
const { manifest, rendered } = await renderPrompts(dir);
const count = Object.keys(manifest.files).length;
console.log(
  rendered
    ? `[install] rendered ${count} prompts into ${dir} in ${Date.now() - started} ms (hash ${manifest.hash})`
    : `[install] prompts in ${dir} are up to date (hash ${manifest.hash})`,
);
