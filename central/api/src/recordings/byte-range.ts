// The HTTP Range header of a request for a recording's audio (RFC 9110, 14.2): one byte range, as
// a player seeking sends. Pure.

/** What to send of `total` bytes: all of it, one range, or nothing (416). */
export type RangeAnswer =
  | { readonly kind: 'whole' }
  | { readonly kind: 'partial'; readonly start: number; readonly end: number }
  | { readonly kind: 'unsatisfiable' };

/**
 * The answer to `header` for a resource of `total` bytes (`end` exclusive). A header that is
 * not one well-formed byte range is ignored, as the RFC allows (the whole resource, 200); a range
 * that starts past the end cannot be satisfied (416).
 */
export function byteRange(header: string | undefined, total: number): RangeAnswer {
  if (header === undefined) return { kind: 'whole' };
  const m = /^bytes=(\d{0,15})-(\d{0,15})$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return { kind: 'whole' };
  if (m[1] === '') {
    // The last n bytes.
    const n = Number(m[2]);
    if (n === 0 || total === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', start: Math.max(0, total - n), end: total };
  }
  const start = Number(m[1]);
  if (m[2] !== '' && Number(m[2]) < start) return { kind: 'whole' };
  if (start >= total) return { kind: 'unsatisfiable' };
  const last = m[2] === '' ? total - 1 : Number(m[2]);
  return { kind: 'partial', start, end: Math.min(total, last + 1) };
}
