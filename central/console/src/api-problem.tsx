// A refused request told plainly: what the server said, and each field it named. The console
// adds no meaning of its own beyond the status's plain words; the server's message (a bad contact
// list's lines, the tenant it refused, the campaign that already exists) is the point.
import { Alert } from '@mui/material';
import { useEffect } from 'react';
import { useLogout } from 'react-admin';
import { ApiError } from './session.js';

const STATUS_WORDS: Readonly<Record<number, string>> = {
  400: 'Refused',
  403: 'Not allowed',
  404: 'Not found',
  409: 'Conflict',
  429: 'Too many',
  502: 'Site unreachable',
};

/** One line for an error: "Refused (400): line 5: number is not E.164". */
export function problemText(err: unknown): string {
  if (err instanceof ApiError) {
    const fields = err.details.map((d) => `${d.field}: ${d.message}`).join('; ');
    const words = STATUS_WORDS[err.status] ?? 'Failed';
    return `${words} (${err.status}): ${err.message}${fields ? ` (${fields})` : ''}`;
  }
  return err instanceof Error ? err.message : String(err);
}

export function ApiProblem(props: { readonly error: unknown; readonly testId: string }) {
  if (props.error === null || props.error === undefined) return null;
  return (
    <Alert severity="error" sx={{ my: 1, whiteSpace: 'pre-wrap' }} data-testid={props.testId}>
      {problemText(props.error)}
    </Alert>
  );
}

/** A page's own query answered 401 (the token ran out or was revoked): back to the log-in page. */
export function useLogoutOnExpiry(error: unknown): void {
  const logout = useLogout();
  useEffect(() => {
    if (error instanceof ApiError && error.status === 401) void logout();
  }, [error, logout]);
}
