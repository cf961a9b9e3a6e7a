import { InvalidOptionError } from '@ccfed/analytics/churn-options';
import type { Sql } from '@ccfed/common';
import { badRequest } from '../http/errors.js';

/**
 * Builds an analytics query; an option the builder refuses (InvalidOptionError, naming the field)
 * becomes a 400 with that field and message.
 */
export function buildQuery(build: () => Sql): Sql {
  try {
    return build();
  } catch (err) {
    if (err instanceof InvalidOptionError) {
      throw badRequest(err.field, err.message.slice(err.field.length + 2));
    }
    throw err;
  }
}
