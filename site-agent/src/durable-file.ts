// The site agent's one way to replace a small state file so that a crash at any moment leaves
// either the old content or the new, never a torn file, and the new survives a power cut once
// this returns: written beside it, flushed, renamed over it, and the directory flushed too.

import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';
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
  const dir = openSync(dirname(file), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}
