// What the API's two server-sent event streams (the live wall's, live-stream.ts, and an agent's
// desktop's, desktop/desk-stream.ts) share: the event-stream headers, a comment line every
// `heartbeatMs` so that proxies do not close an idle stream, an `expired` event and the end when
// the token runs out, and everything cleared when the client goes. And the JSON refusal both
// answer with before a stream opens.
import type { ServerResponse } from 'node:http';

export function refuse(res: ServerResponse, status: number, error: string): void {
  const text = JSON.stringify({ error });
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/**
 * Starts an event stream on `res` and keeps it open until the client goes or `expiresInMs` has
 * passed; `onClose` then runs once.
 */
export function openEventStream(
  res: ServerResponse,
  opts: {
    readonly heartbeatMs: number;
    readonly expiresInMs: number;
    readonly onClose: () => void;
  },
): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), opts.heartbeatMs);
  const expiry = setTimeout(
    () => {
      res.write('event: expired\ndata: {"error":"token expired"}\n\n');
      res.end();
    },
    Math.max(0, opts.expiresInMs),
  );
  res.on('close', () => {
    clearInterval(heartbeat);
    clearTimeout(expiry);
    opts.onClose();
  });
}

/** Writes one event. */
export function sendEvent(res: ServerResponse, event: string, data: unknown): void {
  res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}
