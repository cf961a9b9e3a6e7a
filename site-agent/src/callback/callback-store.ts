// The site's pending callbacks on its own disk (<CCFED_DATA_DIR>/callbacks/<id>.json), so that a
// site agent restart keeps them and their places. This is the only place ccfed keeps a caller's
// number (docs/security.md, "Callbacks"): one file per callback, mode 0600 in a 0700 directory,
// written atomically (temporary file, fsync, rename), removed (durably too) when the callback ends.
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import type { Callback } from '../acd/callbacks.js';
import { removeFileDurably, writeFileDurably } from '../durable-file.js';
import { HandoverJournal } from './handover-journal.js';

const stored = z.strictObject({
  id: z.string().min(1).max(256),
  tenantId: z.string().min(1),
  skill: z.string().min(1),
  number: z.string().regex(/^\+[1-9]\d{6,14}$/),
  callerHash: z.string(),
  customerId: z.string(),
  traceparent: z.string(),
  tier: z.number().int(),
  originCallId: z.string().optional(),
  arrivalMs: z.number(),
  scheduled: z.boolean(),
  requestedAtMs: z.number(),
  attempts: z.number().int().min(0),
  notBeforeMs: z.number().optional(),
  handedFrom: z.string().min(1).optional(),
  provisional: z.strictObject({ decisionId: z.string().min(1), sinceMs: z.number() }).optional(),
});

/** A callback as the site keeps it: the book's record and its events' envelope. */
export type StoredCallback = Callback & {
  readonly customerId: string;
  readonly traceparent: string;
};

export class CallbackStore {
  /** The handovers' journal, beside the callbacks: `<dir>/../callback-handovers`. */
  readonly handovers: HandoverJournal;

  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.handovers = new HandoverJournal(join(dirname(dir), 'callback-handovers'));
  }

  /** Writes the callback before it takes effect; an attempt in progress is not kept. */
  save(cb: StoredCallback): void {
    const file = this.fileOf(cb.id);
    const { dialing: _notKept, handingOver: _inFlight, ...rest } = cb;
    writeFileDurably(file, JSON.stringify(rest));
  }

  remove(id: string): void {
    removeFileDurably(this.fileOf(id));
  }

  /** Every kept callback; a file that does not read as one stops the start, naming it. */
  loadAll(): StoredCallback[] {
    return readdirSync(this.dir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => {
        const file = join(this.dir, f);
        let value: unknown;
        try {
          value = JSON.parse(readFileSync(file, 'utf8'));
        } catch {
          throw new Error(`${file}: not JSON; it holds a pending callback (docs/callbacks.md)`);
        }
        const parsed = stored.safeParse(value);
        if (!parsed.success)
          throw new Error(`${file}: not a pending callback: ${parsed.error.issues[0]?.message}`);
        const { originCallId, notBeforeMs, handedFrom, provisional, ...rest } = parsed.data;
        return {
          ...rest,
          ...(originCallId === undefined ? {} : { originCallId }),
          ...(notBeforeMs === undefined ? {} : { notBeforeMs }),
          ...(handedFrom === undefined ? {} : { handedFrom }),
          ...(provisional === undefined ? {} : { provisional }),
        };
      });
  }

  /** A callback id is a SIP Call-ID or a UUID: the file is named by its hash, never by it. */
  private fileOf(id: string): string {
    return join(this.dir, `${createHash('sha256').update(id).digest('hex').slice(0, 40)}.json`);
  }
}
