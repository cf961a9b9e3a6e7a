// The built browser apps: the console (central/console/dist) at `/`, the desktop
// (central/desktop/dist) at `/desktop/`. Only files under the directory are
// ever read: the path is decoded once, any `..`, backslash, NUL or hidden segment is refused, and
// the resolved path must still lie inside the root. A path without a file extension that names no
// file is the single-page app's own route and gets index.html.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, resolve, sep } from 'node:path';

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.txt': 'text/plain; charset=utf-8',
};

/** Where a request path leads inside `root`, or why it may not be served. */
export function resolveStaticPath(
  root: string,
  urlPath: string,
): { readonly file: string } | { readonly refused: string } {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return { refused: 'malformed percent-encoding' };
  }
  if (!decoded.startsWith('/')) return { refused: 'path must start with /' };
  const segments = decoded.split('/').slice(1);
  for (const s of segments) {
    if (s === '..' || s === '.') return { refused: 'path may not contain . or .. segments' };
    if (s.includes('\\') || s.includes('\0')) return { refused: 'path has a forbidden character' };
    if (s.startsWith('.')) return { refused: 'hidden files are not served' };
  }
  const base = resolve(root);
  const relative = segments.join('/') || 'index.html';
  const file = resolve(base, relative);
  if (file !== base && !file.startsWith(base + sep)) return { refused: 'path leaves the root' };
  return { file };
}

/** Serves GET/HEAD requests for files under `root`, mounted at `mount` (`/` or `/name`). */
export class StaticFiles {
  constructor(
    private readonly root: string,
    private readonly mount = '/',
    /** How a missing bundle is named in the 404 (which npm script builds it). */
    private readonly buildHint = 'the console is not built: run npm run console:build',
  ) {}

  /** Whether a request path is under this app's mount. */
  owns(path: string): boolean {
    return this.mount === '/' || path === this.mount || path.startsWith(`${this.mount}/`);
  }

  async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return plain(res, 405, 'only GET and HEAD are served here');
    }
    // The path as sent, not as URL would normalize it: a request with `..` in it is refused, not
    // quietly served something else.
    const pathname = (req.url ?? '/').split('?')[0]!;
    const inside = this.mount === '/' ? pathname : pathname.slice(this.mount.length) || '/';
    const where = resolveStaticPath(this.root, inside);
    if ('refused' in where) return plain(res, 400, `bad path: ${where.refused}`);
    let file = where.file;
    let info = await stat(file).catch(() => undefined);
    if (info?.isDirectory()) {
      file = resolve(file, 'index.html');
      info = await stat(file).catch(() => undefined);
    }
    if (!info && extname(file) === '') {
      file = resolve(this.root, 'index.html');
      info = await stat(file).catch(() => undefined);
    }
    if (!info?.isFile()) {
      return plain(
        res,
        404,
        file === resolve(this.root, 'index.html') ? this.buildHint : `no file ${pathname}`,
      );
    }
    const type = CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
    res.writeHead(200, {
      'content-type': type,
      'content-length': info.size,
      'x-content-type-options': 'nosniff',
      // Vite puts a content hash in every asset name; index.html must always be fetched again.
      'cache-control': file.includes(`${sep}assets${sep}`)
        ? 'public, max-age=31536000, immutable'
        : 'no-cache',
    });
    if (req.method === 'HEAD') return void res.end();
    createReadStream(file)
      .on('error', () => res.destroy())
      .pipe(res);
  }
}

function plain(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}
