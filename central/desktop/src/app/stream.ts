// The agent's stream: GET /api/v1/desktop/stream read with fetch (the token in the Authorization
// header, never in a URL) and parsed as server-sent events. A dropped stream is opened again
// after 2 s; a 401 or an `expired` event ends the session.
import { parseEvents, type StreamEvent } from '@ccfed/api/live/sse-text';
import { storedToken } from '@ccfed/console/session';

export interface StreamHandlers {
  readonly onEvent: (e: StreamEvent) => void;
  readonly onExpired: () => void;
  readonly onTrouble: (message: string | null) => void;
}

/** Opens the stream at `path` and keeps it open until the returned function is called. */
export function openStream(path: string, h: StreamHandlers): () => void {
  const abort = new AbortController();
  let retry: ReturnType<typeof setTimeout> | undefined;
  const open = async () => {
    try {
      const res = await fetch(`/api/v1${path}`, {
        headers: { authorization: `Bearer ${storedToken() ?? ''}`, accept: 'text/event-stream' },
        signal: abort.signal,
      });
      if (res.status === 401) return h.onExpired();
      if (!res.ok || !res.body) {
        const body = (await res.json().catch(() => ({}))) as { error?: string };
        h.onTrouble(body.error ?? `HTTP ${res.status}`);
      } else {
        h.onTrouble(null);
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          const parsed = parseEvents(buffer + value);
          buffer = parsed.rest;
          for (const e of parsed.events) {
            if (e.event === 'expired') return h.onExpired();
            h.onEvent(e);
          }
        }
      }
    } catch (err) {
      if (abort.signal.aborted) return;
      h.onTrouble(`stream interrupted: ${String(err)}`);
    }
    if (!abort.signal.aborted) retry = setTimeout(() => void open(), 2_000);
  };
  void open();
  return () => {
    abort.abort();
    clearTimeout(retry);
  };
}
