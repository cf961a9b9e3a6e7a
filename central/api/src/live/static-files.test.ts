import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveStaticPath } from './static-files.js';

const root = '/srv/console';

describe('static file paths', () => {
  it('maps request paths to files under the root, / to index.html', () => {
    expect(resolveStaticPath(root, '/')).toEqual({ file: resolve(root, 'index.html') });
    expect(resolveStaticPath(root, '/assets/index-abc.js')).toEqual({
      file: resolve(root, 'assets/index-abc.js'),
    });
    expect(resolveStaticPath(root, '/a%20b.txt')).toEqual({ file: resolve(root, 'a b.txt') });
  });

  it('refuses every way out of the root and hidden files', () => {
    for (const path of [
      '/../etc/passwd',
      '/assets/../../etc/passwd',
      '/%2e%2e/etc/passwd',
      '/..%2fetc%2fpasswd',
      '/assets/..%5c..%5cetc',
      '/a%00b',
      '/.env',
      '/./index.html',
      '/%E0%A4%A',
      'index.html',
    ]) {
      expect(resolveStaticPath(root, path), path).toHaveProperty('refused');
    }
  });
});
