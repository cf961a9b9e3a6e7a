// The live wall's feed: GET /api/v1/live read with fetch (so the token travels in the
// Authorization header like on every other request) and parsed as Server-Sent Events. A dropped
// stream is opened again after 2 s; a 401 or an `expired` event ends the session.
import { useEffect, useState } from 'react';
import { useLogout } from 'react-admin';
import type { LiveView } from '@ccfed/api/live/live-state';
import { parseEvents } from '@ccfed/api/live/sse-text';
import { storedToken } from './session.js';

// The wire shape is the API's own definition (type-only: nothing of the server is bundled).
export type { LiveAgent, LiveSite, LiveSkill, LiveView } from '@ccfed/api/live/live-state';

export type LiveStatus =
  | { readonly kind: 'connecting' }
  | { readonly kind: 'live'; readonly view: LiveView; readonly receivedAt: number }
  | { readonly kind: 'unavailable'; readonly message: string };

export function useLive(): LiveStatus {
  const [status, setStatus] = useState<LiveStatus>({ kind: 'connecting' });
  const logout = useLogout();
  useEffect(() => {
    const abort = new AbortController();
    let retry: ReturnType<typeof setTimeout> | undefined;
    const open = async () => {
      try {
        const res = await fetch('/api/v1/live', {
          headers: { authorization: `Bearer ${storedToken() ?? ''}` },
          signal: abort.signal,
        });
        if (res.status === 401) return void logout();
        if (!res.ok || !res.body) {
          const body = (await res.json().catch(() => ({}))) as { error?: string };
          setStatus({ kind: 'unavailable', message: body.error ?? `HTTP ${res.status}` });
          retry = setTimeout(open, 5_000);
          return;
        }
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          const parsed = parseEvents(buffer + value);
          buffer = parsed.rest;
          for (const e of parsed.events) {
            if (e.event === 'expired') return void logout();
            if (e.event === 'view') {
              setStatus({
                kind: 'live',
                view: JSON.parse(e.data) as LiveView,
                receivedAt: Date.now(),
              });
            }
          }
        }
      } catch (err) {
        if (abort.signal.aborted) return;
        setStatus({ kind: 'unavailable', message: `live feed interrupted: ${String(err)}` });
      }
      if (!abort.signal.aborted) retry = setTimeout(open, 2_000);
    };
    void open();
    return () => {
      abort.abort();
      clearTimeout(retry);
    };
  }, [logout]);
  return status;
}
