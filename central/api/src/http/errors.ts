// The errors a handler may throw to answer a request with something other than 200. Anything
// else becomes a 500 with a generic message; its detail goes to the log only.

/** An answer with an HTTP status and a message written for the caller. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly details?: readonly { readonly field: string; readonly message: string }[],
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** 400: the request names a field wrongly; `field` is the query or body field at fault. */
export function badRequest(field: string, message: string): HttpError {
  return new HttpError(400, `${field}: ${message}`, [{ field, message }]);
}

/** 401: no credentials, or credentials that are not honoured. */
export function unauthorized(message = 'a valid bearer token is required'): HttpError {
  return new HttpError(401, message);
}

/** 403: the caller is known but may not have what it asked for. */
export function forbidden(message: string): HttpError {
  return new HttpError(403, message);
}
