// The browser apps the API serves (npm start, the browser tests): the HQ console
// (central/console/dist, at /) and the agents' and supervisors' desktop (central/desktop/dist, at
// /desktop/), each built again when any of its sources is newer than its bundle (nothing may
// serve or test a stale bundle).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CENTRAL = fileURLToPath(new URL('../central', import.meta.url));
const CONSOLE = join(CENTRAL, 'console');
const DESKTOP = join(CENTRAL, 'desktop');
export const CONSOLE_DIST = join(CONSOLE, 'dist');
export const DESKTOP_DIST = join(DESKTOP, 'dist');

/** The newest modification time of the files under `dir`. */
function newest(dir: string): number {
  let t = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    t = Math.max(t, entry.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** Builds the app in `dir` unless dist/index.html is newer than its sources and `alsoReads`. */
function buildIfStale(dir: string, alsoReads: readonly string[] = []): void {
  const index = join(dir, 'dist', 'index.html');
  const sources = Math.max(
    newest(join(dir, 'src')),
    ...['index.html', 'vite.config.ts', 'package.json'].map((f) => statSync(join(dir, f)).mtimeMs),
    ...alsoReads.map((f) => statSync(f).mtimeMs),
  );
  if (existsSync(index) && statSync(index).mtimeMs >= sources) return;
  // Under vitest NODE_ENV is 'test', and Vite then bundles React's development build, whose
  // StrictMode runs every effect twice: the desk registered its softphone twice and Kamailio
  // (max_contacts 1) refused the second. The bundle served must be production's.
  execFileSync('npm', ['run', '-s', 'build'], {
    cwd: dir,
    stdio: 'pipe',
    env: { ...process.env, NODE_ENV: 'production' },
  });
}

export function buildConsoleIfStale(): void {
  buildIfStale(CONSOLE, [join(CENTRAL, 'api', 'src', 'live', 'sse-text.ts')]);
}

/** The desktop bundles the console's session module and the API's stream parser too. */
export function buildDesktopIfStale(): void {
  buildIfStale(DESKTOP, [
    join(CONSOLE, 'src', 'session.ts'),
    join(CENTRAL, 'api', 'src', 'live', 'sse-text.ts'),
  ]);
}
