import { z } from 'zod';

/** Every non-200 answer. */
export const errorResponse = z.object({
  error: z.string(),
  details: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
});

/** `{ rows: [...] }` with rows described by `row`, or as free-form objects. */
export function rowsResponse(description: string, row?: z.ZodType) {
  return z.object({
    rows: z.array(row ?? z.record(z.string(), z.unknown())).describe(description),
  });
}
