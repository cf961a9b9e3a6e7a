// rtpengine's recording spool (its --recording-dir), as the recorder reads it. rtpengine 10.5 writes
// one pcap per `start recording` and, once that recording stops or the call ends, a metadata file
// beside it (docs/media.md, "Recording"):
//
//   <spool>/pcaps/<url-escaped Call-ID>-<16 hex>.pcap
//   <spool>/metadata/rtpengine-meta-<url-escaped Call-ID>-<16 hex>.txt   first line: the pcap's path
//
// The metadata file also holds the free text given with `start recording`: the recorder's marker,
// `ccfed-recording:<base64url JSON>`, which names the recording a pcap belongs to and carries what
// finishing it needs. A pcap whose metadata file exists is closed.
import { existsSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';

/** What the recorder keeps in each of a recording's metadata files. */
export interface SpoolMarker {
  readonly recordingId: string;
  readonly callId: string;
  readonly tenantId: string;
  readonly skill: string;
  readonly agentId: string;
  readonly startedMs: number;
  readonly callerPort: number;
}

export interface SpoolFile {
  readonly pcap: string;
  readonly metadata: string;
}

export interface SpoolRecording extends SpoolMarker {
  readonly files: readonly SpoolFile[];
}

const MARKER = /ccfed-recording:([A-Za-z0-9_-]+)/;

export class RecordingSpool {
  private readonly pcaps: string;
  private readonly metadata: string;

  constructor(dir: string) {
    this.pcaps = join(dir, 'pcaps');
    this.metadata = join(dir, 'metadata');
  }

  /** The metadata text for `start recording`. */
  marker(m: SpoolMarker): string {
    return `ccfed-recording:${Buffer.from(JSON.stringify(m)).toString('base64url')}`;
  }

  /**
   * The closed pcaps of recording `recordingId` of call `callId`, once every pcap of the call is
   * closed; rejects after `timeoutMs`, naming what is still open.
   */
  async waitClosed(callId: string, recordingId: string, timeoutMs: number): Promise<SpoolFile[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const files = await this.filesOfCall(callId);
      const open = files.filter((f) => f.metadata === undefined);
      if (open.length === 0) {
        const mine: SpoolFile[] = [];
        for (const f of files as SpoolFile[])
          if ((await this.markerOf(f.metadata))?.recordingId === recordingId) mine.push(f);
        if (mine.length === 0) throw new Error(`rtpengine wrote no pcap of call ${callId}`);
        return mine;
      }
      if (Date.now() > deadline)
        throw new Error(
          `rtpengine did not close ${open.map((f) => f.pcap).join(', ')} within ${timeoutMs} ms`,
        );
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /**
   * Every recording in the spool whose pcaps are all closed (its call is over, or paused), with
   * its marker; pcaps without a ccfed marker are not ccfed's and are left alone. A ccfed metadata
   * file whose pcap is gone is deleted.
   */
  async closedRecordings(): Promise<SpoolRecording[]> {
    const byId = new Map<string, { marker: SpoolMarker; files: SpoolFile[] }>();
    for (const name of await listDir(this.metadata)) {
      if (!name.startsWith('rtpengine-meta-') || !name.endsWith('.txt')) continue;
      const metadata = join(this.metadata, name);
      const marker = await this.markerOf(metadata);
      if (!marker) continue;
      const pcap = join(this.pcaps, `${name.slice('rtpengine-meta-'.length, -4)}.pcap`);
      if (!existsSync(pcap)) {
        // Its pcap was discarded (a failed recording) before rtpengine closed it: nothing to finish.
        await rm(metadata, { force: true });
        continue;
      }
      const entry = byId.get(marker.recordingId) ?? { marker, files: [] };
      entry.files.push({ pcap, metadata });
      byId.set(marker.recordingId, entry);
    }
    const out: SpoolRecording[] = [];
    for (const { marker, files } of byId.values()) {
      // A call still recording into an open pcap is not over: its recording is not left behind.
      const call = await this.filesOfCall(marker.callId);
      if (call.some((f) => f.metadata === undefined)) continue;
      out.push({ ...marker, files });
    }
    return out;
  }

  /** Every pcap of call `callId`, with its metadata file when it is closed. */
  async filesOfCall(callId: string): Promise<{ pcap: string; metadata?: string }[]> {
    const metas = new Set(await listDir(this.metadata));
    const out: { pcap: string; metadata?: string }[] = [];
    for (const name of await listDir(this.pcaps)) {
      const m = /^(.*)-[0-9a-f]{16}\.pcap$/.exec(name);
      if (!m || safeDecode(m[1]!) !== callId) continue;
      const meta = `rtpengine-meta-${name.slice(0, -5)}.txt`;
      out.push({
        pcap: join(this.pcaps, name),
        ...(metas.has(meta) && { metadata: join(this.metadata, meta) }),
      });
    }
    return out;
  }

  /** Deletes pcaps and their metadata files. */
  async remove(files: readonly { pcap: string; metadata?: string }[]): Promise<void> {
    for (const f of files) {
      await rm(f.pcap, { force: true });
      if (f.metadata) await rm(f.metadata, { force: true });
    }
  }

  private async markerOf(metadata: string): Promise<SpoolMarker | undefined> {
    let text: string;
    try {
      text = await readFile(metadata, 'utf8');
    } catch {
      return undefined;
    }
    const m = MARKER.exec(text);
    if (!m) return undefined;
    try {
      const marker = JSON.parse(Buffer.from(m[1]!, 'base64url').toString('utf8')) as SpoolMarker;
      return typeof marker.recordingId === 'string' && typeof marker.callerPort === 'number'
        ? marker
        : undefined;
    } catch {
      return undefined;
    }
  }
}

function safeDecode(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
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
