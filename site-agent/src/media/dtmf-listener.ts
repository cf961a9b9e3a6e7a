// Where the site's rtpengine reports each RFC 4733 digit it sees end (--dtmf-log-dest): one JSON
// datagram per digit, on loopback. The datagrams are unauthenticated, like ng itself: only
// loopback senders are heard (rtpengine shares the host), and anything that is not a DTMF event
// is refused and logged.
import { createSocket } from 'node:dgram';
import { parseDtmfLogEvent, type DtmfEvent } from '@ccfed/services/rtpengine/ng-protocol';
import type { Logger } from 'pino';

export interface DtmfListener {
  readonly port: number;
  close(): Promise<void>;
}

const LOOPBACK = '127.0.0.1';

/** Listens on 127.0.0.1:`port` and hands each digit to `onDigit`. */
export async function listenForDtmf(opts: {
  readonly port: number;
  readonly log: Logger;
  readonly onDigit: (event: DtmfEvent) => void;
}): Promise<DtmfListener> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(opts.port, LOOPBACK, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  socket.on('error', (err) =>
    opts.log.error({ event: 'dtmf_listener_error', err }, 'DTMF listener failed'),
  );
  socket.on('message', (datagram, from) => {
    if (from.address !== LOOPBACK) {
      opts.log.warn(
        { event: 'dtmf_datagram_refused', from: from.address },
        'DTMF datagram from outside the host ignored',
      );
      return;
    }
    let event: DtmfEvent;
    try {
      event = parseDtmfLogEvent(datagram);
    } catch (err) {
      opts.log.warn(
        { event: 'dtmf_datagram_refused', reason: (err as Error).message },
        'not a DTMF event',
      );
      return;
    }
    opts.onDigit(event);
  });
  return {
    port: socket.address().port,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
