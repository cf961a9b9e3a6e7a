import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { removeFileDurably, writeFileDurably } from './durable-file.js';

describe('durable state files', () => {
  const dir = () => mkdtempSync(join(tmpdir(), 'ccfed-durable-'));

  it('replaces a file whole, readable by the site agent only, and leaves no temporary beside it', () => {
    const file = join(dir(), 'state.json');
    writeFileDurably(file, '{"v":1}');
    writeFileDurably(file, '{"v":2}');
    expect(readFileSync(file, 'utf8')).toBe('{"v":2}');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(existsSync(`${file}.tmp`)).toBe(false);
  });

  it('removes a file, and a second removal of the same record is no error (a retried step)', () => {
    const file = join(dir(), 'callback.json');
    writeFileDurably(file, '{}');
    removeFileDurably(file);
    expect(existsSync(file)).toBe(false);
    expect(() => removeFileDurably(file)).not.toThrow();
  });
});
