import { ServerError, Status } from 'nice-grpc';
import type { Logger } from 'pino';

/**
 * The status for a failure that is the site agent's, not the caller's. The error is logged here
 * in full; the client gets a generic message, because an unexpected error's text can carry
 * internals (stack details, other tenants' call ids) and does not help the caller anyway.
 */
export function internalError(
  log: Logger,
  rpc: string,
  err: unknown,
  fields: Readonly<Record<string, unknown>> = {},
): ServerError {
  log.error({ event: 'grpc_internal_error', rpc, ...fields, err }, `${rpc} failed unexpectedly`);
  return new ServerError(Status.INTERNAL, `${rpc} failed inside the site agent; see its log`);
}
