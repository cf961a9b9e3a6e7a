// Query-string parameters as zod schemas. The same schemas validate requests and describe them
// in the OpenAPI document, so each parameter is a plain string on the wire; lists are one
// comma-separated value (`?sites=a,b`), and a repeated parameter is refused, not merged.
import { z } from 'zod';

/**
 * Site, skill and tenant ids, as the topology writes them (topology/src/schema.ts ID_PATTERN):
 * anything else cannot name one, so it is refused before it gets near SQL.
 */
const TOPOLOGY_ID = '[a-z][a-z0-9-]{0,31}';

/** Call and customer ids: opaque, but short and without quotes, spaces or control characters. */
const OPAQUE_ID = '[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}';

/** One site, skill or tenant id. */
export const topologyIdParam = (what: string) =>
  z
    .string()
    .regex(
      new RegExp(`^${TOPOLOGY_ID}$`),
      `expected a ${what} id: lowercase letters, digits and -, starting with a letter, at most 32`,
    );

/** A comma-separated list of site, skill or tenant ids, e.g. `guangzhou,chengdu`; at most 100. */
export const topologyIdListParam = (what: string) =>
  z
    .string()
    .regex(
      new RegExp(`^${TOPOLOGY_ID}(,${TOPOLOGY_ID}){0,99}$`),
      `expected a comma-separated list of 1-100 ${what} ids (lowercase letters, digits and -, starting with a letter, at most 32 each)`,
    )
    .transform((s) => s.split(','));

/** A call or customer id. */
export const opaqueIdParam = (what: string) =>
  z
    .string()
    .regex(
      new RegExp(`^${OPAQUE_ID}$`),
      `expected a ${what} id: 1-128 letters, digits, . _ : @ -, starting with a letter or digit`,
    );

/** A point in time as ISO 8601 with a zone, e.g. 2026-11-22T08:00:00Z. */
export const timeParam = () =>
  z.iso
    .datetime({
      offset: true,
      error: 'expected an ISO 8601 date-time with a zone, e.g. 2026-11-22T08:00:00Z',
    })
    .transform((s) => new Date(s));

/** A whole number in [min, max] written in decimal. */
export const intParam = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d{1,9}$/, `expected a whole number from ${min} to ${max}`)
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

/** A decimal fraction in [0, 1]. */
export const fractionParam = () =>
  z
    .string()
    .regex(/^(0(\.\d{1,9})?|1(\.0{1,9})?|\.\d{1,9})$/, 'expected a number from 0 to 1')
    .transform(Number);

/**
 * The parameters of a URL's query string as an object; a parameter given twice becomes an array,
 * which every schema here refuses (one value per parameter).
 */
export function queryObject(params: URLSearchParams): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = Object.create(null);
  for (const [key, value] of params) {
    const prev = out[key];
    out[key] = prev === undefined ? value : [...(Array.isArray(prev) ? prev : [prev]), value];
  }
  return out;
}
