// react-admin's view of a session: log in with POST /session, and on every navigation ask the
// server (GET /me) whether the token is still honoured, so an expired or forged token sends the
// user back to the log-in page instead of to pages that would all fail.
import type { AuthProvider } from 'react-admin';
import {
  ApiError,
  apiGet,
  apiPost,
  clearSession,
  storeSession,
  storedIdentity,
  storedToken,
  type Identity,
} from './session.js';

interface SessionAnswer {
  readonly token: string;
  readonly expiresAt: string;
  readonly role: Identity['role'];
  readonly siteId?: string;
  readonly tenantId?: string;
}

function describe(identity: Identity): string {
  if (identity.role === 'site') return `${identity.username} (site ${identity.siteId})`;
  if (identity.role === 'tenant') return `${identity.username} (tenant ${identity.tenantId})`;
  return `${identity.username} (HQ)`;
}

export const authProvider: AuthProvider = {
  async login({ username, password }: { username: string; password: string }) {
    try {
      const s = await apiPost<SessionAnswer>('/session', { username, password });
      const { token, ...rest } = s;
      storeSession(token, { username, ...rest });
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        throw new Error('Unknown username or wrong password');
      }
      // Too many failed log-ins from here or for this user, or too many log-ins at once.
      if (err instanceof ApiError && (err.status === 429 || err.status === 503)) {
        const wait = err.retryAfterSeconds ?? 30;
        throw new Error(
          err.status === 429
            ? `Too many failed log-ins; try again in ${wait} s`
            : `The server is busy; try again in ${wait} s`,
        );
      }
      throw err;
    }
  },
  async logout() {
    clearSession();
  },
  async checkAuth() {
    // Not logged in yet: straight to the log-in page without a notification (react-admin shows
    // one notification at a time, so it would hold back a wrong-password message for seconds).
    if (!storedToken()) throw { message: false };
    try {
      await apiGet('/me');
    } catch (err) {
      clearSession();
      throw new Error(
        err instanceof ApiError && err.status === 401
          ? `Your session is no longer valid (${err.message}); please log in again`
          : 'Cannot reach the API; please log in again',
      );
    }
  },
  async checkError(error: unknown) {
    if (error instanceof ApiError && error.status === 401) {
      clearSession();
      throw new Error('Your session has expired; please log in again');
    }
  },
  async getIdentity() {
    const identity = storedIdentity();
    if (!identity) throw new Error('not logged in');
    return { id: identity.username, fullName: describe(identity) };
  },
  async getPermissions() {
    return storedIdentity()?.role;
  },
};
