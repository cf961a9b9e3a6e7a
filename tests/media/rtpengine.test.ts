// A site's rtpengine: started in userspace, answering ng ping, anchoring a call's media through
// offer/answer and forgetting it on delete; two side by side never share ports.
import { createSocket } from 'node:dgram';
import { join } from 'node:path';
import {
  EngineError,
  NgCommandError,
  startRtpengine,
  startSiteRtpengine,
  type RtpengineInstance,
} from '@ccfed/services';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { uniqueName, waitFor } from '../support/engines.js';
import { exampleTopologyOnFreePorts } from '../support/topology.js';

const dir = () => join(inject('runDir'), uniqueName('rtpengine'));

function sdp(port: number, session: string): string {
  return [
    'v=0',
    `o=- ${session} 1 IN IP4 127.0.0.1`,
    's=-',
    'c=IN IP4 127.0.0.1',
    't=0 0',
    `m=audio ${port} RTP/AVP 0 101`,
    'a=rtpmap:0 PCMU/8000',
    'a=rtpmap:101 telephone-event/8000',
    'a=fmtp:101 0-15',
    'a=sendrecv',
    '',
  ].join('\r\n');
}

function mediaPort(body: string): number {
  const m = /^m=audio (\d+) /m.exec(body);
  if (!m) throw new Error(`no audio media line in\n${body}`);
  return Number(m[1]);
}

function rtpPacket(seq: number): Buffer {
  const b = Buffer.alloc(12 + 160, 0xff);
  b[0] = 0x80;
  b[1] = 0; // PCMU
  b.writeUInt16BE(seq, 2);
  b.writeUInt32BE(seq * 160, 4);
  b.writeUInt32BE(0x1234, 8);
  return b;
}

describe('rtpengine launcher and ng client', () => {
  let a: RtpengineInstance;
  let b: RtpengineInstance;

  beforeAll(async () => {
    [a, b] = await Promise.all([
      startRtpengine({ dataDir: dir(), name: 'rtpengine a' }),
      startRtpengine({ dataDir: dir(), name: 'rtpengine b' }),
    ]);
  });

  afterAll(async () => {
    await Promise.allSettled([a?.stop(), b?.stop()]);
  });

  it('answers ping once started, and two instances get disjoint RTP port ranges', async () => {
    await a.client.ping();
    await b.client.ping();
    expect(a.rtpPorts.max < b.rtpPorts.min || b.rtpPorts.max < a.rtpPorts.min).toBe(true);
    expect(a.ng.port).not.toBe(b.ng.port);
  });

  it('anchors a call: offer and answer point each side at its own rtpengine port, and RTP flows through', async () => {
    const callId = uniqueName('call');
    const caller = createSocket('udp4');
    const callee = createSocket('udp4');
    await Promise.all([
      new Promise<void>((r) => caller.bind(0, '127.0.0.1', r)),
      new Promise<void>((r) => callee.bind(0, '127.0.0.1', r)),
    ]);
    try {
      const offered = await a.client.offer({
        callId,
        fromTag: 'caller-tag',
        sdp: sdp(caller.address().port, '1'),
      });
      const toCallee = mediaPort(offered.sdp);
      expect(toCallee).toBeGreaterThanOrEqual(a.rtpPorts.min);
      expect(toCallee).toBeLessThanOrEqual(a.rtpPorts.max);
      expect(offered.sdp).toContain('c=IN IP4 127.0.0.1');

      const answered = await a.client.answer({
        callId,
        fromTag: 'caller-tag',
        toTag: 'callee-tag',
        sdp: sdp(callee.address().port, '2'),
      });
      const toCaller = mediaPort(answered.sdp);
      expect(toCaller).not.toBe(toCallee);
      expect(toCaller).toBeGreaterThanOrEqual(a.rtpPorts.min);

      const query = await a.client.query({ callId });
      expect([...query.tags].sort()).toEqual(['callee-tag', 'caller-tag']);

      // What the caller sends to its port reaches the callee.
      const received: Buffer[] = [];
      callee.on('message', (m) => received.push(m));
      let seq = 0;
      await waitFor(
        'RTP relayed from caller to callee',
        async () => {
          caller.send(rtpPacket(seq++), toCaller, '127.0.0.1');
          return received.length > 0 ? true : undefined;
        },
        10_000,
      );
      expect(received[0]!.length).toBe(172);

      const deleted = await a.client.delete({ callId, fromTag: 'caller-tag' });
      expect(deleted.result).toBe('ok');
      await expect(a.client.query({ callId })).rejects.toThrow(NgCommandError);
    } finally {
      caller.close();
      callee.close();
    }
  });

  it("refuses an answer for a call it never saw, with rtpengine's reason", async () => {
    const err = await a.client
      .answer({ callId: uniqueName('nocall'), fromTag: 'x', toTag: 'y', sdp: sdp(4000, '3') })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NgCommandError);
    expect((err as NgCommandError).reason).toMatch(/Unknown call-id/i);
  });

  it('refuses to start on an occupied ng port, naming it', async () => {
    const err = await startRtpengine({ dataDir: dir(), ngPort: a.ng.port }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(EngineError);
    expect((err as Error).message).toBe(
      `rtpengine cannot start: UDP port 127.0.0.1:${a.ng.port} (ng control) is already in use`,
    );
  });

  it("starts a site's rtpengine where the topology places it: ng and ng over HTTP on loopback, RTP in the site's range", async () => {
    const topology = await exampleTopologyOnFreePorts();
    const media = topology.sites.find((s) => s.id === 'guangzhou')!.media;
    const site = await startSiteRtpengine({ topology, siteId: 'guangzhou', dataDir: dir() });
    try {
      expect(site.name).toBe('rtpengine guangzhou');
      expect(site.ngUrl).toBe(`udp:127.0.0.1:${media.ngPort}`);
      expect(site.rtpPorts).toEqual(media.rtpPorts);
      const callId = uniqueName('site-call');
      const offer = await site.client.offer({ callId, fromTag: 'f', sdp: sdp(4000, '7') });
      const port = mediaPort(offer.sdp);
      expect(port).toBeGreaterThanOrEqual(media.rtpPorts.min);
      expect(port).toBeLessThanOrEqual(media.rtpPorts.max);
      // What Kamailio's early-media answer uses: ng as JSON over HTTP, cookie first.
      const res = await fetch(site.ngHttpUrl!, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-rtpengine-ng' },
        body: `c1 ${JSON.stringify({ command: 'query', 'call-id': callId })}`,
      });
      const text = await res.text();
      expect(text.startsWith('c1 ')).toBe(true);
      expect(JSON.parse(text.slice(3))).toMatchObject({ result: 'ok' });
    } finally {
      await site.stop();
    }
  });
});
