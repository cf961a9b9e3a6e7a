// The errors a handler may throw to answer a request with something other than 200. Anything
// else becomes a 500 with a generic message; its detail goes to the log only.

/** An answer with an HTTP status and a message written for the caller. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly details?: readonly { readonly field: string; readonly message: string }[],
    /** Headers the answer carries (Retry-After on a 429 or 503). */
    readonly headers?: Readonly<Record<string, string>>,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** 400: the request names a field wrongly; `field` is the query or body field at fault. */
export function badRequest(field: string, message: string): HttpError {
  return new HttpError(400, `${field}: ${message}`, [{ field, message }]);
}

/**
 * The only two things a 401 ever says: why a credential was refused goes to the log, never to
 * the caller, so the answer tells nobody whether a user exists, a token was forged or expired.
 */
export const UNAUTHORIZED = {
  token: 'a valid bearer token is required (Authorization: Bearer <token>)',
  login: 'invalid username or password',
} as const;

/** 401 with one of the generic UNAUTHORIZED messages. */
export function unauthorized(message: (typeof UNAUTHORIZED)[keyof typeof UNAUTHORIZED]): HttpError {
  return new HttpError(401, message);
}

/** 429 or 503 with the seconds to wait before trying again. */
export function retryLater(status: 429 | 503, message: string, seconds: number): HttpError {
  return new HttpError(status, message, undefined, { 'retry-after': String(seconds) });
}

/** 403: the caller is known but may not have what it asked for. */
export function forbidden(message: string): HttpError {
  return new HttpError(403, message);
}
