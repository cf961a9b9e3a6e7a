// Where a site keeps its recordings: one directory (CCFED_RECORDING_DIR, a persistent volume in
// Kubernetes), each recording a sealed file and a small JSON sidecar beside it:
//
//   <dir>/store/<tenant>/<yyyy-mm-dd>/<recording id>.ccrec   the audio, sealed (sealed-recording.ts)
//   <dir>/store/<tenant>/<yyyy-mm-dd>/<recording id>.json    what the index event says of it
//
// The day is the recording's start (UTC), and the recording id begins with it, so a recording is
// found from its tenant and id alone (nothing from a request is ever used as a path) and the
// retention job reads only the days that may hold expired recordings. The sidecar holds no audio
// and no key: ids, times, sizes and the key id.
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { readdir, readFile, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** A recording id: its start day (UTC) and a random UUID, e.g. 20261122-3f0c…. */
export const RECORDING_ID =
  /^(\d{4})(\d{2})(\d{2})-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const TENANT_ID = /^[a-z][a-z0-9-]{0,31}$/;
const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** A new recording id for a recording starting at `startedMs`. */
export function newRecordingId(startedMs: number): string {
  return `${new Date(startedMs).toISOString().slice(0, 10).replaceAll('-', '')}-${randomUUID()}`;
}

export interface PausedSpan {
  readonly offsetMs: number;
  readonly durationMs: number;
  readonly pausedBy: string;
}

/** One stored recording, as its sidecar says. */
export interface StoredRecording {
  readonly recordingId: string;
  readonly callId: string;
  readonly tenantId: string;
  readonly skill: string;
  readonly agentId: string;
  readonly startedMs: number;
  readonly durationMs: number;
  readonly bytes: number;
  readonly sealedBytes: number;
  readonly contentType: string;
  readonly paused: readonly PausedSpan[];
  readonly keyId: string;
  /** Relative to the store: <tenant>/<day>/<id>.ccrec */
  readonly storagePath: string;
  /** By the tenant's retention when it was stored; the retention job applies the current one. */
  readonly expiresMs: number;
}

export class RecordingStore {
  readonly storeDir: string;
  /** Scratch space on the same volume: the WAV on its way to being sealed. */
  readonly workDir: string;

  constructor(readonly dir: string) {
    this.storeDir = join(dir, 'store');
    this.workDir = join(dir, 'work');
    mkdirSync(this.storeDir, { recursive: true, mode: 0o700 });
    mkdirSync(this.workDir, { recursive: true, mode: 0o700 });
  }

  /** Where recording `recordingId` of `tenantId` lies, relative to the store; undefined if malformed. */
  storagePath(tenantId: string, recordingId: string): string | undefined {
    const m = RECORDING_ID.exec(recordingId);
    if (!m || !TENANT_ID.test(tenantId)) return undefined;
    return `${tenantId}/${m[1]}-${m[2]}-${m[3]}/${recordingId}.ccrec`;
  }

  /** The absolute path of a storage path. */
  pathOf(storagePath: string): string {
    return join(this.storeDir, storagePath);
  }

  /**
   * Moves a sealed file into the store and writes its sidecar (the sealed file first: a sidecar
   * always has its audio).
   */
  async put(sealedFile: string, recording: StoredRecording): Promise<void> {
    const path = this.pathOf(recording.storagePath);
    mkdirSync(join(path, '..'), { recursive: true, mode: 0o700 });
    await rename(sealedFile, path);
    const sidecar = sidecarOf(path);
    await writeFile(`${sidecar}.part`, JSON.stringify(recording), { mode: 0o600 });
    await rename(`${sidecar}.part`, sidecar);
  }

  /** The sidecar of one recording; undefined when there is none (never stored, or deleted). */
  async get(tenantId: string, recordingId: string): Promise<StoredRecording | undefined> {
    const storagePath = this.storagePath(tenantId, recordingId);
    if (!storagePath) return undefined;
    return readSidecar(sidecarOf(this.pathOf(storagePath)));
  }

  /** Tenants with recordings here, and the days each has. */
  async days(): Promise<{ tenantId: string; day: string }[]> {
    const out: { tenantId: string; day: string }[] = [];
    for (const tenantId of await listDir(this.storeDir)) {
      if (!TENANT_ID.test(tenantId)) continue;
      for (const day of await listDir(join(this.storeDir, tenantId)))
        if (DAY.test(day)) out.push({ tenantId, day });
    }
    return out;
  }

  /** Every recording of `tenantId` started on `day`. */
  async recordingsOf(tenantId: string, day: string): Promise<StoredRecording[]> {
    const dir = join(this.storeDir, tenantId, day);
    const out: StoredRecording[] = [];
    for (const name of await listDir(dir)) {
      if (!name.endsWith('.json')) continue;
      const r = await readSidecar(join(dir, name));
      if (r) out.push(r);
    }
    return out;
  }

  /**
   * Deletes a recording: the sealed file, then its sidecar (so a crash in between leaves a
   * sidecar whose deletion the next run finishes). Removes the day's directory once empty.
   */
  async delete(recording: StoredRecording): Promise<void> {
    const path = this.pathOf(recording.storagePath);
    await rm(path, { force: true });
    await rm(sidecarOf(path), { force: true });
    await rmdir(join(path, '..')).catch(() => {});
  }
}

function sidecarOf(sealedPath: string): string {
  return sealedPath.replace(/\.ccrec$/, '.json');
}

async function readSidecar(path: string): Promise<StoredRecording | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as StoredRecording;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

async function listDir(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}
