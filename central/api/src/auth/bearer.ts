// The one way a request authenticates: `Authorization: Bearer <token>`, for the JSON routes and
// the live stream alike (no token in URLs, where it would land in logs and browser history).
import { TokenError, verifyToken, type Claims } from './token.js';

/**
 * The claims of the request's bearer token; throws TokenError saying why it is not honoured
 * (for the log: the caller only ever hears the generic 401).
 */
export function bearerClaims(
  header: string | undefined,
  opts: { readonly secret: string; readonly now: number },
): Claims {
  if (!header) throw new TokenError('no Authorization header');
  const m = /^Bearer ([A-Za-z0-9_.-]{1,4096})$/.exec(header);
  if (!m) throw new TokenError('Authorization is not Bearer <token>');
  return verifyToken(m[1]!, opts);
}
