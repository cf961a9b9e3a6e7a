// The session token and the one way the console talks to the API: fetch with the bearer token.
// The token lives in sessionStorage (gone with the tab) and is never put in a URL.
const TOKEN_KEY = 'ccfed.token';
const IDENTITY_KEY = 'ccfed.identity';

export interface Identity {
  readonly username: string;
  readonly role: 'hq' | 'site' | 'tenant' | 'agent';
  readonly siteId?: string;
  readonly tenantId?: string;
  /** For an agent's session: the agent it is bound to. */
  readonly agentId?: string;
  readonly expiresAt: string;
}

/** One field the server refused, as a 400 lists them. */
export interface FieldProblem {
  readonly field: string;
  readonly message: string;
}

/** An answer of the API other than 2xx, with its status, the server's message and fields. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly details: readonly FieldProblem[] = [],
    /** Seconds the server asked to wait before trying again (Retry-After), if it did. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export function storedToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function storedIdentity(): Identity | null {
  const text = sessionStorage.getItem(IDENTITY_KEY);
  return text ? (JSON.parse(text) as Identity) : null;
}

export function storeSession(token: string, identity: Identity): void {
  sessionStorage.setItem(TOKEN_KEY, token);
  sessionStorage.setItem(IDENTITY_KEY, JSON.stringify(identity));
}

export function clearSession(): void {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(IDENTITY_KEY);
}

async function errorOf(res: Response): Promise<ApiError> {
  let message = `${res.status} ${res.statusText}`;
  let details: FieldProblem[] = [];
  try {
    const body = (await res.json()) as { error?: string; details?: FieldProblem[] };
    if (body.error) message = body.error;
    if (Array.isArray(body.details)) details = body.details;
  } catch {
    // not JSON: keep the status line
  }
  const retryAfter = Number(res.headers.get('retry-after') ?? NaN);
  return new ApiError(
    res.status,
    message,
    details,
    Number.isFinite(retryAfter) ? retryAfter : undefined,
  );
}

/** GET /api/v1<path> with the session's token; throws ApiError on any non-2xx answer. */
export async function apiGet<T>(path: string, params: Record<string, string> = {}): Promise<T> {
  const qs = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== '')).toString();
  const token = storedToken();
  const res = await fetch(`/api/v1${path}${qs ? `?${qs}` : ''}`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  if (!res.ok) throw await errorOf(res);
  return (await res.json()) as T;
}

/** PUT /api/v1<path> with a JSON body and the session's token; throws ApiError on non-2xx. */
export async function apiPut<T>(path: string, body: unknown): Promise<T> {
  const token = storedToken();
  const res = await fetch(`/api/v1${path}`, {
    method: 'PUT',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw await errorOf(res);
  return (await res.json()) as T;
}

/** DELETE /api/v1<path> with the session's token; throws ApiError on non-2xx. */
export async function apiDelete(path: string): Promise<void> {
  const token = storedToken();
  const res = await fetch(`/api/v1${path}`, {
    method: 'DELETE',
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  if (!res.ok) throw await errorOf(res);
}

/** POST /api/v1<path> with a JSON body, no token. */
export async function apiPost<T>(path: string, body: unknown): Promise<T> {
  const res = await fetch(`/api/v1${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw await errorOf(res);
  return (await res.json()) as T;
}

/** POST /api/v1<path> with a JSON body and the session's token; throws ApiError on non-2xx. */
export async function apiPostWithToken<T>(path: string, body: unknown): Promise<T> {
  const token = storedToken();
  const res = await fetch(`/api/v1${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw await errorOf(res);
  return (await res.json()) as T;
}
