// Whether a campaign may dial a contact now (issue 19): the calling window in the customer's local
// time, the do-not-call list, the most attempts, the retry delay after each outcome and no redial
// within 72 h of an abandoned call (Ofcom's persistent-misuse policy). Pure and clock-free: the
// caller passes the instant, the site's campaign runner and the API's preview ask the same code.
import { instantOfWallTime, isTimeZone, localMinuteOfDay, wallTimeAt } from './local-time.js';

/** How one dialed attempt at a contact ended, as the campaign keeps it. */
export type AttemptOutcome =
  'connected' | 'no_answer' | 'busy' | 'abandoned' | 'machine' | 'failed';

/** Outcomes after which the contact is tried again (after its delay) while attempts remain. */
export type RetriedOutcome = 'no_answer' | 'busy' | 'machine' | 'failed';

export interface CallingWindow {
  /** Local minute of day the window opens (08:00 = 480), included. */
  readonly startMinute: number;
  /** Local minute of day the window closes (21:00 = 1260), excluded. */
  readonly endMinute: number;
}

export interface CampaignRules {
  /** When the customer may be called, in their own time zone. */
  readonly window: CallingWindow;
  /** Most attempts per contact, connected or not. */
  readonly maxAttempts: number;
  /** How long after each outcome the contact may be tried again. */
  readonly retryAfterMs: Readonly<Record<RetriedOutcome, number>>;
  /** Numbers (E.164) never to call. */
  readonly dnc: ReadonlySet<string>;
}

/** No redial within 72 h of an abandoned call (Ofcom, persistent misuse, 2016 statement). */
export const ABANDONED_QUIET_MS = 72 * 3_600_000;

export const DEFAULT_WINDOW: CallingWindow = Object.freeze({
  startMinute: 8 * 60,
  endMinute: 21 * 60,
});

export const DEFAULT_RULES: Omit<CampaignRules, 'dnc'> = Object.freeze({
  window: DEFAULT_WINDOW,
  maxAttempts: 3,
  retryAfterMs: Object.freeze({
    no_answer: 2 * 3_600_000,
    busy: 15 * 60_000,
    machine: 4 * 3_600_000,
    failed: 3_600_000,
  }),
});

/** What the campaign knows of one contact. */
export interface ContactHistory {
  /** E.164. */
  readonly number: string;
  /** The customer's IANA time zone ("Europe/London"). */
  readonly timeZone: string;
  /** Attempts that reached the customer's line (an agent who did not answer does not count). */
  readonly attempts: number;
  readonly last?: { readonly outcome: AttemptOutcome; readonly atMs: number };
  /** The latest abandoned call to this number, whichever attempt it was. */
  readonly lastAbandonedAtMs?: number;
}

export type DialVerdict =
  | { readonly kind: 'dial' }
  | {
      readonly kind: 'later';
      /** The earliest instant the contact may be dialed, inside its calling window. */
      readonly notBeforeMs: number;
      readonly reason: 'window' | 'retry_delay' | 'abandoned_72h';
    }
  | { readonly kind: 'never'; readonly reason: 'dnc' | 'max_attempts' | 'completed' };

/** Dial now, not before an instant, or never, with the rule that decided. */
export function dialVerdict(
  contact: ContactHistory,
  rules: CampaignRules,
  nowMs: number,
): DialVerdict {
  if (rules.dnc.has(contact.number)) return { kind: 'never', reason: 'dnc' };
  if (contact.last?.outcome === 'connected') return { kind: 'never', reason: 'completed' };
  if (contact.attempts >= rules.maxAttempts) return { kind: 'never', reason: 'max_attempts' };

  const quietUntil =
    contact.lastAbandonedAtMs === undefined
      ? -Infinity
      : contact.lastAbandonedAtMs + ABANDONED_QUIET_MS;
  const last = contact.last;
  const retryAt =
    last === undefined || last.outcome === 'abandoned' || last.outcome === 'connected'
      ? -Infinity
      : last.atMs + rules.retryAfterMs[last.outcome];
  const earliest = Math.max(quietUntil, retryAt);
  if (earliest > nowMs) {
    return {
      kind: 'later',
      notBeforeMs: nextWindowOpening(earliest, rules.window, contact.timeZone),
      reason: quietUntil >= retryAt ? 'abandoned_72h' : 'retry_delay',
    };
  }
  const opening = nextWindowOpening(nowMs, rules.window, contact.timeZone);
  return opening === nowMs
    ? { kind: 'dial' }
    : { kind: 'later', notBeforeMs: opening, reason: 'window' };
}

/** True when the customer's local time at `ms` lies inside the window. */
export function inWindow(ms: number, window: CallingWindow, timeZone: string): boolean {
  const m = localMinuteOfDay(ms, timeZone);
  return m >= window.startMinute && m < window.endMinute;
}

/** `ms` itself when inside the window, else the instant the window next opens in `timeZone`. */
export function nextWindowOpening(ms: number, window: CallingWindow, timeZone: string): number {
  if (inWindow(ms, window, timeZone)) return ms;
  const w = wallTimeAt(ms, timeZone);
  const beforeOpening = w.hour * 60 + w.minute < window.startMinute;
  const opening = instantOfWallTime(
    w.year,
    w.month,
    w.day + (beforeOpening ? 0 : 1),
    window.startMinute,
    timeZone,
  );
  if (opening > ms && inWindow(opening, window, timeZone)) return opening;
  // A window opening inside a DST gap (or a zone that skipped a day): the first whole minute
  // inside the window, searched forward.
  for (let t = Math.ceil(ms / 60_000) * 60_000; t < ms + 3 * 86_400_000; t += 60_000)
    if (inWindow(t, window, timeZone)) return t;
  throw new RangeError(`no calling window opens within three days in ${timeZone}`);
}

/** The rules, checked: each mistake named (a campaign is refused, never half-applied). */
export function checkRules(rules: CampaignRules): CampaignRules {
  const { startMinute, endMinute } = rules.window;
  const minute = (m: number) => Number.isInteger(m) && m >= 0 && m <= 1440;
  if (!minute(startMinute) || !minute(endMinute) || startMinute >= endMinute)
    throw new RangeError(
      `calling window: start and end are local minutes of day, start before end (got ${startMinute}-${endMinute})`,
    );
  if (!Number.isInteger(rules.maxAttempts) || rules.maxAttempts < 1 || rules.maxAttempts > 20)
    throw new RangeError(`maxAttempts: a whole number from 1 to 20 (got ${rules.maxAttempts})`);
  for (const [outcome, ms] of Object.entries(rules.retryAfterMs))
    if (!Number.isFinite(ms) || ms < 60_000 || ms > 30 * 86_400_000)
      throw new RangeError(`retry after ${outcome}: from 1 minute to 30 days (got ${ms} ms)`);
  return rules;
}

export { isTimeZone };
