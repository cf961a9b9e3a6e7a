// The console the API serves (npm start, the browser tests): central/console/dist, built again when any source
// is newer than it (nothing may serve or test a stale bundle).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CONSOLE = fileURLToPath(new URL('../central/console', import.meta.url));
export const CONSOLE_DIST = join(CONSOLE, 'dist');

/** The newest modification time of the files under `dir`. */
function newest(dir: string): number {
  let t = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    t = Math.max(t, entry.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** Builds the console unless dist/index.html is newer than every source. */
export function buildConsoleIfStale(): void {
  const index = join(CONSOLE_DIST, 'index.html');
  const sources = Math.max(
    newest(join(CONSOLE, 'src')),
    ...['index.html', 'vite.config.ts', 'package.json'].map(
      (f) => statSync(join(CONSOLE, f)).mtimeMs,
    ),
  );
  if (existsSync(index) && statSync(index).mtimeMs >= sources) return;
  execFileSync('npm', ['run', '-s', 'build'], { cwd: CONSOLE, stdio: 'pipe' });
}
