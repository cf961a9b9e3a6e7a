// The site agent's durable state at the site: what a restart (a crash, SIGKILL, a new image) must
// not lose and Kamailio cannot tell it. Agents' states (logged in, ready, not ready and why, on
// which call), each call's place (arrival time, tier, skill) and its state machine's state. One
// small file, replaced durably (durable-file.ts) after every change, read once at start; Kamailio's
// resync then says which of those calls are still there (docs/operations.md, "Site agent restart").
import { existsSync, readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { AcdSnapshot } from './acd/acd.js';
import type { RosterEntry } from './agent-desk.js';
import type { RestoredCall } from './call-flow.js';
import { writeFileDurably } from './durable-file.js';

export const SITE_STATE_VERSION = 1;

export interface SiteState {
  readonly acd: AcdSnapshot;
  readonly roster: readonly RosterEntry[];
  readonly calls: readonly RestoredCall[];
}

// The file is this process's own (mode 0600 in its data directory): its outer shape is checked so
// that another version's or a damaged file is named as such; the states inside are the ACD's and
// the call machine's own values, which their restore() checks against the topology.
const fileSchema = z.object({
  version: z.literal(SITE_STATE_VERSION),
  savedAtMs: z.number().int(),
  acd: z.object({
    agents: z.array(
      z.object({ agentId: z.string(), state: z.object({ name: z.string() }) }).passthrough(),
    ),
    calls: z.array(
      z.object({ call: z.object({ callId: z.string() }).passthrough() }).passthrough(),
    ),
  }),
  roster: z.array(z.object({ agentId: z.string(), sinceMs: z.number(), contactUri: z.string() })),
  calls: z.array(
    z.object({ state: z.object({ callId: z.string() }).passthrough(), callerNumber: z.string() }),
  ),
});

export interface SiteStateStoreDeps {
  /** The file, in the site agent's data directory. */
  readonly file: string;
  readonly now: () => number;
  readonly log: Logger;
  /** A monotonic clock in ms that times the saves themselves; performance.now() by default. */
  readonly elapsed?: () => number;
}

/**
 * At most this share of the process's time goes to saving: after a save that took d ms the next
 * waits 9 d. A site of tens of agents saves within a few ms of each change; one of 3,000 agents
 * and 300 calls (950 KB, 11 ms a save measured on the shared development machine) about ten
 * times a second.
 */
const SAVE_SHARE = 0.1;

/**
 * Keeps the site state on disk. save() may be called after every change: the changes of one turn
 * of the event loop are written at its end (a microtask), or, while the last save's cost says to
 * wait (SAVE_SHARE), together once it is over. A crash loses what changed since the last write;
 * Kamailio's resync restores what it knows of those calls (docs/operations.md, "Site agent
 * restart").
 */
export class SiteStateStore {
  private pending: (() => SiteState) | undefined;
  private frozen = false;
  private timer: NodeJS.Timeout | undefined;
  /** No save before this (elapsed ms). */
  private notBefore = 0;

  constructor(private readonly deps: SiteStateStoreDeps) {}

  get file(): string {
    return this.deps.file;
  }

  /**
   * The previous run's state, or undefined when there is none (a site's first start). Throws,
   * naming the file, for one this version cannot read: an operator decides (docs/operations.md).
   */
  load(): SiteState | undefined {
    const { file } = this.deps;
    if (!existsSync(file)) return undefined;
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new Error(`${file}: not the site agent's state (${(err as Error).message})`);
    }
    const r = fileSchema.safeParse(json);
    if (!r.success) {
      const i = r.error.issues[0];
      throw new Error(
        `${file}: not a site state of version ${SITE_STATE_VERSION} (${i?.path.join('.') || 'file'}: ${i?.message})`,
      );
    }
    return json as unknown as SiteState;
  }

  /** Writes `state()` durably, at the end of this turn or once the last save's pause is over. */
  save(state: () => SiteState): void {
    if (this.frozen) return;
    const first = this.pending === undefined;
    this.pending = state;
    if (!first) return;
    const waitMs = this.notBefore - this.elapsed();
    if (waitMs <= 0) queueMicrotask(() => this.flush());
    else this.timer = setTimeout(() => this.flush(), waitMs).unref();
  }

  /**
   * No more writes: the process is stopping, and what its calls' stop changes (they leave this
   * process, not Kamailio) must not replace what the next run takes up.
   */
  freeze(): void {
    this.flush();
    this.frozen = true;
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const state = this.pending;
    this.pending = undefined;
    if (!state || this.frozen) return;
    const started = this.elapsed();
    try {
      writeFileDurably(
        this.deps.file,
        JSON.stringify({ version: SITE_STATE_VERSION, savedAtMs: this.deps.now(), ...state() }),
      );
    } catch (err) {
      this.deps.log.error(
        { event: 'site_state_not_saved', file: this.deps.file, err: String(err) },
        'could not save the site state: a restart now would lose the latest changes',
      );
    }
    const took = this.elapsed() - started;
    this.notBefore = started + took / SAVE_SHARE;
  }

  private elapsed(): number {
    return (this.deps.elapsed ?? (() => performance.now()))();
  }
}
