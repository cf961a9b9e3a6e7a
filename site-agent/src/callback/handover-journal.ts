// What a site must not forget about handovers across a restart (docs/callbacks.md, "Never at two
// sites"), one small file each in <CCFED_DATA_DIR>/callback-handovers, written durably (temporary
// file, fsync, rename) before the step it records takes effect:
// - at the origin, each handover it committed and the target has not yet acknowledged: the
//   decision it must keep telling the target, and must answer "committed" when asked;
// - at the target, each handover it confirmed, for HANDED_IN_MEMORY_MS: a late copy of that
//   handover's request (signed while it was asked, fresh for SIGNATURE_MAX_AGE_MS) is answered
//   "taken" and never taken a second time, even after the callback was served here.
// No numbers: ids and site names only.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { removeFileDurably, writeFileDurably } from '../durable-file.js';

const commitRecord = z.strictObject({
  kind: z.literal('committed'),
  callbackId: z.string().min(1).max(256),
  decisionId: z.string().min(1).max(256),
  targetSiteId: z.string().min(1),
  atMs: z.number(),
});

const confirmedRecord = z.strictObject({
  kind: z.literal('confirmed'),
  callbackId: z.string().min(1).max(256),
  decisionId: z.string().min(1).max(256),
  originSiteId: z.string().min(1),
  untilMs: z.number(),
});

const record = z.discriminatedUnion('kind', [commitRecord, confirmedRecord]);

/** At the origin: a handover it committed, not yet acknowledged by the target. */
export type CommittedHandover = z.infer<typeof commitRecord>;
/** At the target: a handover it confirmed, remembered until `untilMs`. */
export type ConfirmedHandover = z.infer<typeof confirmedRecord>;

export class HandoverJournal {
  private readonly committedById = new Map<string, CommittedHandover>();
  private readonly confirmedById = new Map<string, ConfirmedHandover>();

  /** Reads every record; a file that does not read as one stops the start, naming it. */
  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.json'))) {
      const file = join(dir, f);
      let value: unknown;
      try {
        value = JSON.parse(readFileSync(file, 'utf8'));
      } catch {
        throw new Error(`${file}: not JSON; it records a callback handover (docs/callbacks.md)`);
      }
      const parsed = record.safeParse(value);
      if (!parsed.success)
        throw new Error(`${file}: not a handover record: ${parsed.error.issues[0]?.message}`);
      const r = parsed.data;
      if (r.kind === 'committed') this.committedById.set(r.callbackId, r);
      else this.confirmedById.set(r.callbackId, r);
    }
  }

  /** Records, durably, that the origin committed a handover (before the callback leaves). */
  commit(r: Omit<CommittedHandover, 'kind'>): void {
    const rec: CommittedHandover = { kind: 'committed', ...r };
    writeFileDurably(this.fileOf('committed', r.callbackId), JSON.stringify(rec));
    this.committedById.set(r.callbackId, rec);
  }

  committed(callbackId: string): CommittedHandover | undefined {
    return this.committedById.get(callbackId);
  }

  /** Every handover committed and not yet acknowledged. */
  allCommitted(): CommittedHandover[] {
    return [...this.committedById.values()];
  }

  /** The target acknowledged the decision: nothing more to tell it. */
  acknowledged(callbackId: string): void {
    removeFileDurably(this.fileOf('committed', callbackId));
    this.committedById.delete(callbackId);
  }

  /** Records, durably, that the target confirmed a handover (before it is served here). */
  confirm(r: Omit<ConfirmedHandover, 'kind'>): void {
    const rec: ConfirmedHandover = { kind: 'confirmed', ...r };
    writeFileDurably(this.fileOf('confirmed', r.callbackId), JSON.stringify(rec));
    this.confirmedById.set(r.callbackId, rec);
  }

  /** The handover of `callbackId` this site confirmed, while remembered at `nowMs`. */
  confirmed(callbackId: string, nowMs: number): ConfirmedHandover | undefined {
    for (const [id, r] of this.confirmedById)
      if (r.untilMs < nowMs) {
        rmSync(this.fileOf('confirmed', id), { force: true });
        this.confirmedById.delete(id);
      }
    return this.confirmedById.get(callbackId);
  }

  private fileOf(kind: string, id: string): string {
    return join(
      this.dir,
      `${kind}-${createHash('sha256').update(id).digest('hex').slice(0, 40)}.json`,
    );
  }
}
