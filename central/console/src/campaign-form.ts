// The Campaigns page's form as POST /api/v1/campaigns takes it (docs/api.md, "Campaigns"). Pure:
// the page keeps what the person typed, this turns it into the request; the server decides.

export type Form = Record<
  | 'siteId'
  | 'tenantId'
  | 'campaignId'
  | 'skill'
  | 'mode'
  | 'contactsCsv'
  | 'dnc'
  | 'windowStart'
  | 'windowEnd'
  | 'maxAttempts'
  | 'ringTimeoutSeconds'
  // csv, churn (the tenant's churn call-back list) or survey (the survey follow-up sample)
  | 'source'
  | 'listSize'
  | 'sampleBaseRate'
  | 'sampleDays',
  string
>;

/**
 * The largest list file the page sends: POST /api/v1/campaigns takes a body of up to 8 MiB
 * (central/api/src/routes/campaigns.ts), about 100,000 contacts; the rest of the body is small.
 */
export const MAX_LIST_FILE_BYTES = 8 * 1024 * 1024 - 4 * 1024;

/** Why a picked list file of `bytes` cannot be sent, or undefined when it can. */
export function listFileProblem(name: string, bytes: number): string | undefined {
  if (bytes > MAX_LIST_FILE_BYTES)
    return `${name} is ${(bytes / 1024 / 1024).toFixed(1)} MiB; a list may be at most 8 MiB (about 100,000 contacts)`;
  if (bytes === 0) return `${name} is empty`;
  return undefined;
}

/** A list's contacts as the page counts them: its non-blank lines after the header. */
export function listContacts(text: string): number {
  let lines = 0;
  for (const line of text.split('\n')) if (line.trim() !== '') lines++;
  return Math.max(0, lines - 1);
}

/** The lists a campaign may come from, as the page offers them. */
export const SOURCES = [
  { value: 'csv', label: 'CSV (pasted or picked)' },
  { value: 'churn', label: 'churn call-back list' },
  { value: 'survey', label: 'survey follow-up sample' },
] as const;

/**
 * The request body as POST /api/v1/campaigns takes it. Empty optional fields are left out, so the
 * site's defaults hold; numbers that are not numbers are sent as typed and the server names them.
 */
export function createBody(form: Form, role: string | undefined): Record<string, unknown> {
  const t = (s: string) => s.trim();
  const num = (s: string) => (/^\d+$/.test(t(s)) ? Number(t(s)) : t(s));
  const rate = (s: string) => (/^\d*\.?\d+$/.test(t(s)) ? Number(t(s)) : t(s));
  const source = form.source === '' ? 'csv' : form.source;
  const dnc = form.dnc
    .split(/[\s,]+/)
    .map(t)
    .filter((n) => n !== '');
  return {
    siteId: t(form.siteId),
    campaignId: t(form.campaignId),
    ...(role !== 'tenant' && t(form.tenantId) !== '' && { tenantId: t(form.tenantId) }),
    skill: t(form.skill),
    mode: form.mode,
    // The churn list and the survey sample are read by HQ: only their size and draw are sent.
    ...(source === 'csv'
      ? { contactsCsv: form.contactsCsv }
      : {
          source,
          ...(t(form.listSize) !== '' && { listSize: num(form.listSize) }),
        }),
    ...(source === 'survey' &&
      (t(form.sampleBaseRate) !== '' || t(form.sampleDays) !== '') && {
        sample: {
          ...(t(form.sampleBaseRate) !== '' && { baseRate: rate(form.sampleBaseRate) }),
          ...(t(form.sampleDays) !== '' && { days: num(form.sampleDays) }),
        },
      }),
    ...(dnc.length > 0 && { dnc }),
    ...((t(form.windowStart) !== '' || t(form.windowEnd) !== '') && {
      window: { start: t(form.windowStart), end: t(form.windowEnd) },
    }),
    ...(t(form.maxAttempts) !== '' && { maxAttempts: num(form.maxAttempts) }),
    ...(t(form.ringTimeoutSeconds) !== '' && {
      ringTimeoutSeconds: num(form.ringTimeoutSeconds),
    }),
  };
}
