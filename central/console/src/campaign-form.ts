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
  | 'ringTimeoutSeconds',
  string
>;

/**
 * The request body as POST /api/v1/campaigns takes it. Empty optional fields are left out, so the
 * site's defaults hold; numbers that are not numbers are sent as typed and the server names them.
 */
export function createBody(form: Form, role: string | undefined): Record<string, unknown> {
  const t = (s: string) => s.trim();
  const num = (s: string) => (/^\d+$/.test(t(s)) ? Number(t(s)) : t(s));
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
    contactsCsv: form.contactsCsv,
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
