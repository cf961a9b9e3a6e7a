// The headers every answer of the API process carries, whatever served it (the JSON routes, the
// live stream, the console's files, an error). The console is its own origin's only page: no
// other site may frame it (clickjacking a supervisor into a routing-policy change), and it loads
// nothing from anywhere else. JSON answers get a policy that allows nothing at all, since a
// browser never needs to run or render anything from them.
import type { ServerResponse } from 'node:http';

/**
 * The console's page. react-admin (MUI through emotion) writes its styles into <style> elements at
 * run time, hence `style-src 'unsafe-inline'`; scripts come only from the built bundle, never
 * inline, and the API and the live stream are on the same origin (`connect-src 'self'`).
 * tests/console/console.test.ts loads every page under it and fails on any violation.
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * The desktop's page: the console's policy, plus the sites' SIP-over-WebSocket endpoints its
 * softphone registers at (each site's Kamailio, another origin) and nothing else.
 */
export function desktopCsp(sipWebSocketOrigins: readonly string[]): string {
  return CONSOLE_CSP.replace(
    "connect-src 'self'",
    ["connect-src 'self'", ...sipWebSocketOrigins].join(' '),
  );
}

/** JSON and event-stream answers: nothing to load, run or frame. */
export const API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'";

const COMMON: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  // For browsers that predate frame-ancestors.
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

/**
 * Sets the security headers of a `page` (the console's files), an `api` answer, or the desktop's
 * page with its own policy (desktopCsp).
 */
export function setSecurityHeaders(
  res: ServerResponse,
  kind: 'page' | 'api' | { readonly csp: string },
): void {
  for (const [name, value] of Object.entries(COMMON)) res.setHeader(name, value);
  res.setHeader(
    'content-security-policy',
    kind === 'page' ? CONSOLE_CSP : kind === 'api' ? API_CSP : kind.csp,
  );
}
