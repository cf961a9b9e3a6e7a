// The site agent's one way to replace a small state file so that a crash at any moment leaves
// either the old content or the new, never a torn file, and the new survives a power cut once
// this returns: written beside it, flushed, renamed over it, and the directory flushed too.

import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/** Replaces `file` with `content`, readable by the site agent's user only (0600 by default). */
export function writeFileDurably(file: string, content: string, mode = 0o600): void {
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, 'w', mode);
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  syncDirectoryOf(file);
}

/**
 * Removes `file` (if there) so that the removal survives a power cut once this returns: a record
 * whose removal means "done" (a callback served) must not come back to be acted on again.
 */
export function removeFileDurably(file: string): void {
  rmSync(file, { force: true });
  syncDirectoryOf(file);
}

function syncDirectoryOf(file: string): void {
  const dir = openSync(dirname(file), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}
