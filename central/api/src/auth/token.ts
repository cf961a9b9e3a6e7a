// Bearer tokens: HS256 JWTs signed with node:crypto. Only HS256 is accepted (a token that names
// another algorithm, `none` included, is refused before its signature is looked at), signatures
// are compared in constant time, and the claims are checked with a schema, so a token that
// verifies always carries a role the server can map to a Scope.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

/** What a token says about its bearer. Times are seconds since the epoch, as in JWT. */
export const claimsSchema = z.discriminatedUnion('role', [
  z.object({ sub: z.string().min(1), role: z.literal('hq'), exp: z.number().int() }),
  z.object({
    sub: z.string().min(1),
    role: z.literal('site'),
    siteId: z.string().min(1),
    exp: z.number().int(),
  }),
  z.object({
    sub: z.string().min(1),
    role: z.literal('tenant'),
    tenantId: z.string().min(1),
    exp: z.number().int(),
  }),
  // An agent at its desktop: bound to one agent id at one site (issue 18).
  z.object({
    sub: z.string().min(1),
    role: z.literal('agent'),
    siteId: z.string().min(1),
    agentId: z.string().min(1),
    exp: z.number().int(),
  }),
]);

export type Claims = z.output<typeof claimsSchema>;

/** Who a token is for, without its expiry. */
export type Principal =
  | { readonly sub: string; readonly role: 'hq' }
  | { readonly sub: string; readonly role: 'site'; readonly siteId: string }
  | { readonly sub: string; readonly role: 'tenant'; readonly tenantId: string }
  | {
      readonly sub: string;
      readonly role: 'agent';
      readonly siteId: string;
      readonly agentId: string;
    };

/** A token that must not be honoured; the message says why (for logs; clients get 401). */
export class TokenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenError';
  }
}

const HEADER = { alg: 'HS256', typ: 'JWT' } as const;

/** The signing secret must be at least 32 bytes: HS256 with a shorter key is guessable. */
export const MIN_SECRET_BYTES = 32;

function checkSecret(secret: string): Buffer {
  const key = Buffer.from(secret, 'utf8');
  if (key.length < MIN_SECRET_BYTES) {
    throw new TypeError(
      `token secret has ${key.length} bytes; at least ${MIN_SECRET_BYTES} needed`,
    );
  }
  return key;
}

function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

function sign(signingInput: string, key: Buffer): Buffer {
  return createHmac('sha256', key).update(signingInput).digest();
}

/**
 * Signs a token for `principal`, valid for `ttlSeconds` from `now` (ms since the epoch). For the
 * session endpoint, tests and the operator CLI.
 */
export function issueToken(
  principal: Principal,
  opts: { readonly secret: string; readonly ttlSeconds: number; readonly now?: number },
): string {
  const key = checkSecret(opts.secret);
  if (!Number.isInteger(opts.ttlSeconds) || opts.ttlSeconds <= 0) {
    throw new TypeError(`token lifetime must be a positive whole number of seconds`);
  }
  const iat = Math.floor((opts.now ?? Date.now()) / 1000);
  const claims = claimsSchema.parse({ ...principal, exp: iat + opts.ttlSeconds });
  const signingInput = `${base64url(JSON.stringify(HEADER))}.${base64url(JSON.stringify({ ...claims, iat }))}`;
  return `${signingInput}.${base64url(sign(signingInput, key))}`;
}

function decodeJson(part: string, what: string): unknown {
  if (!/^[A-Za-z0-9_-]*$/.test(part)) throw new TokenError(`${what} is not base64url`);
  try {
    return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    throw new TokenError(`${what} is not JSON`);
  }
}

/**
 * The claims of a token signed with `secret` by issueToken and not expired at `now` (ms);
 * throws TokenError for anything else: malformed, another algorithm, a bad signature, expired,
 * or claims that name no usable role.
 */
export function verifyToken(
  token: string,
  opts: { readonly secret: string; readonly now?: number },
): Claims {
  const key = checkSecret(opts.secret);
  const parts = token.split('.');
  if (parts.length !== 3) throw new TokenError('token is not header.payload.signature');
  const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];

  const header = decodeJson(headerPart, 'token header');
  if (
    typeof header !== 'object' ||
    header === null ||
    (header as { alg?: unknown }).alg !== HEADER.alg
  ) {
    throw new TokenError(`token algorithm is not ${HEADER.alg}`);
  }

  if (!/^[A-Za-z0-9_-]+$/.test(signaturePart))
    throw new TokenError('token signature is not base64url');
  const given = Buffer.from(signaturePart, 'base64url');
  const expected = sign(`${headerPart}.${payloadPart}`, key);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new TokenError('token signature does not match');
  }

  const parsed = claimsSchema.safeParse(decodeJson(payloadPart, 'token payload'));
  if (!parsed.success) {
    throw new TokenError(
      `token claims are invalid: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
    );
  }
  const nowSeconds = Math.floor((opts.now ?? Date.now()) / 1000);
  if (parsed.data.exp <= nowSeconds) throw new TokenError('token has expired');
  return parsed.data;
}
