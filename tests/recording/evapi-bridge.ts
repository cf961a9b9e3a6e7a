// Stands in for ccfed.cfg's evapi protocol in front of the media tests' minimal Kamailio
// (tests/media/early-media-kamailio.ts), so that the real site agent process drives a call whose
// media is anchored at rtpengine: it listens where the site agent expects its site's Kamailio,
// turns the minimal Kamailio's events into ccfed.cfg's (invite, answered, ended) and the site
// agent's commands into the minimal Kamailio's (provisional, relay). It goes away once ccfed.cfg
// anchors calls itself (issue 17, media wiring): then the site's own Kamailio runs the same test.
import { createServer, type Server, type Socket } from 'node:net';
import { encodeNetstring, NetstringDecoder } from '@ccfed/site-agent/kamailio/netstring';
import type { AppLink, Json } from '../media/media-site.js';

export interface EvapiBridge {
  /** Commands the site agent sent that the minimal Kamailio has no equivalent for. */
  readonly unbridged: Json[];
  close(): Promise<void>;
}

/** Serves ccfed.cfg's side of evapi on 127.0.0.1:`port`, over `kamailio` (the minimal one). */
export async function bridgeEvapi(kamailio: AppLink, port: number): Promise<EvapiBridge> {
  let agentSide: Socket | undefined;
  const unbridged: Json[] = [];
  /** Which agent each call was relayed to: ccfed.cfg's dialog events name it. */
  const agents = new Map<string, string>();
  const toSiteAgent = (event: Json) => agentSide?.write(encodeNetstring(JSON.stringify(event)));

  const server: Server = createServer((socket) => {
    agentSide?.destroy();
    agentSide = socket;
    const decoder = new NetstringDecoder();
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      for (const frame of decoder.push(chunk).frames) {
        const cmd = JSON.parse(frame) as Json;
        switch (cmd.action) {
          case 'ping':
            toSiteAgent({ event: 'pong' });
            break;
          case 'provisional':
            // The minimal Kamailio set the early-media SDP before suspending (numbers 45…):
            // every provisional carries it.
            kamailio.send({
              action: 'provisional',
              callid: cmd.callid,
              cseq: cmd.cseq,
              code: cmd.code,
            });
            break;
          case 'relay':
            agents.set(String(cmd.callid), String(cmd.agent));
            kamailio.send({
              action: 'relay',
              tindex: cmd.tindex,
              tlabel: cmd.tlabel,
              uri: cmd.uri,
            });
            break;
          default:
            unbridged.push(cmd);
        }
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });

  let cursor = kamailio.events.length;
  const pump = setInterval(() => {
    for (; cursor < kamailio.events.length; cursor++) {
      const e = kamailio.events[cursor]!;
      const now = Date.now();
      switch (e.event) {
        case 'invite':
          toSiteAgent({
            event: 'invite',
            tindex: e.tindex,
            tlabel: e.tlabel,
            callid: e.callid,
            cseq: e.cseq,
            fromUser: e.fromUser,
            fromTag: e.fromTag,
            ruriUser: e.ruriUser,
            tsS: Math.floor(now / 1000),
            tsU: (now % 1000) * 1000,
            trust: 'none',
            peer: '',
            cc: {},
          });
          break;
        case 'answered':
          toSiteAgent({ event: 'answered', callid: e.callid, agent: agents.get(String(e.callid)) });
          break;
        case 'deleted':
          // The minimal Kamailio deletes the rtpengine session on BYE (and CANCEL).
          if (e.method === 'BYE')
            toSiteAgent({
              event: 'ended',
              callid: e.callid,
              agent: agents.get(String(e.callid)),
              by: 'caller',
            });
          else toSiteAgent({ event: 'cancel', callid: e.callid });
          break;
      }
    }
  }, 20);

  return {
    unbridged,
    close: async () => {
      clearInterval(pump);
      agentSide?.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
