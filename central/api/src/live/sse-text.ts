// Reading a text/event-stream body as it arrives: the browser clients (the console's live wall,
// the agent desktop) read their streams with fetch, so that the token travels in the
// Authorization header as on every other request, and parse the events with this. Pure: no
// server code, safe to bundle for the browser.

/** One server-sent event: its `event:` name (default "message") and its joined `data:` lines. */
export interface StreamEvent {
  readonly event: string;
  readonly data: string;
}

/** Splits a text/event-stream buffer into complete events; returns them and the rest. */
export function parseEvents(buffer: string): { events: StreamEvent[]; rest: string } {
  const events: StreamEvent[] = [];
  const blocks = buffer.split('\n\n');
  const rest = blocks.pop() ?? '';
  for (const block of blocks) {
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) continue;
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
    }
    if (data.length > 0) events.push({ event, data: data.join('\n') });
  }
  return { events, rest };
}
