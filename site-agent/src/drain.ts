// An operator's drain of the site: while drained, the site tells the router it accepts no
// overflow (its snapshots say so) and refuses overflowed INVITEs that still arrive, with 503.
// Its own callers are served as usual. Kept in the data directory, so a restart during
// maintenance does not quietly undrain the site.
import { existsSync, readFileSync } from 'node:fs';
import { writeFileDurably } from './durable-file.js';

export interface DrainState {
  readonly drained: boolean;
  /** Why, as the operator said it; '' when not drained. */
  readonly reason: string;
  /** Epoch ms of the last change; 0 when never drained. */
  readonly sinceMs: number;
}

const NOT_DRAINED: DrainState = { drained: false, reason: '', sinceMs: 0 };
const MAX_REASON = 200;

export class DrainSwitch {
  private state: DrainState;

  constructor(private readonly file: string) {
    this.state = existsSync(file) ? parseState(readFileSync(file, 'utf8'), file) : NOT_DRAINED;
  }

  get current(): DrainState {
    return this.state;
  }

  /** Drains or undrains; returns the state before. Written to disk before it takes effect. */
  set(drained: boolean, reason: string, nowMs: number): DrainState {
    if (reason.length > MAX_REASON)
      throw new RangeError(`reason is ${reason.length} characters; at most ${MAX_REASON}`);
    const before = this.state;
    const next: DrainState = drained
      ? { drained, reason, sinceMs: before.drained ? before.sinceMs : nowMs }
      : { drained, reason: '', sinceMs: nowMs };
    writeFileDurably(this.file, JSON.stringify(next), 0o644);
    this.state = next;
    return before;
  }
}

function parseState(text: string, file: string): DrainState {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new Error(`${file}: not JSON; fix or delete it (it holds whether the site is drained)`);
  }
  const s = v as Partial<DrainState>;
  if (
    typeof s !== 'object' ||
    s === null ||
    typeof s.drained !== 'boolean' ||
    typeof s.reason !== 'string' ||
    typeof s.sinceMs !== 'number'
  )
    throw new Error(`${file}: expected {"drained": boolean, "reason": string, "sinceMs": number}`);
  return { drained: s.drained, reason: s.reason, sinceMs: s.sinceMs };
}
