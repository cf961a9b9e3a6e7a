// An agent's wrap-up note is free text stored with the call (tenant-scoped, docs/security.md).
// Callers' numbers must never be stored as text, so a note that holds something that looks like a
// phone number is refused rather than silently cleaned: the agent sees why and rewrites it. The
// API and the site agent apply the same rule. Pure.

/** The longest note an agent may store. */
export const MAX_WRAP_UP_NOTE = 2000;

// Seven or more digits in a run, allowing the separators people type in numbers (spaces, dots,
// dashes, brackets, a leading +): "138 0013 8000", "+86-10-6552-9999", "(010) 65529999". Shorter
// runs (an amount, an order line) pass, and so do dates and times written the usual way
// (2026-11-30, 30/11/2026, 14:05), which are taken out before looking.
const PHONE_LIKE = /\+?\d(?:[\s().-]{0,3}\d){6,}/u;
const DATE_OR_TIME =
  /\b\d{4}-\d{1,2}-\d{1,2}\b|\b\d{1,2}\/\d{1,2}\/\d{2,4}\b|\b\d{1,2}:\d{2}(?::\d{2})?\b/gu;

/** Why `note` may not be stored, or undefined when it may. */
export function wrapUpNoteProblem(note: string): string | undefined {
  if (note.length > MAX_WRAP_UP_NOTE)
    return `the note has ${note.length} characters; at most ${MAX_WRAP_UP_NOTE} are kept`;
  if (PHONE_LIKE.test(note.replace(DATE_OR_TIME, ' ')))
    return 'the note holds something that looks like a phone number; callers’ numbers are never stored: leave it out';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/u.test(note))
    return 'the note holds control characters';
  return undefined;
}
