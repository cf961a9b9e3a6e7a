import { createSocket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { NgClient } from './ng-client.js';
import {
  checkNgResult,
  decodeNgReply,
  encodeNgRequest,
  NgCommandError,
  NgProtocolError,
  parseDtmfLogEvent,
} from './ng-protocol.js';

describe('ng protocol encoding', () => {
  it('writes the cookie, a space and a bencoded dictionary with the command', () => {
    // The example from rtpengine's documentation, byte for byte.
    expect(encodeNgRequest('5323_1', 'ping').toString()).toBe('5323_1 d7:command4:pinge');
  });

  it('encodes strings, integers and flag lists, and leaves absent fields out', () => {
    const wire = encodeNgRequest('c1', 'offer', {
      'call-id': 'abc@h',
      'from-tag': 'ft',
      'to-tag': undefined,
      flags: ['trust-address', 'record-call'],
      'repeat-times': 3,
    });
    expect(wire.toString()).toBe(
      'c1 d7:call-id5:abc@h7:command5:offer5:flagsl13:trust-address11:record-calle8:from-tag2:ft12:repeat-timesi3ee',
    );
  });

  it('counts bytes, not characters, in strings', () => {
    expect(encodeNgRequest('c', 'x', { label: '排队' }).toString()).toBe(
      'c d7:command1:x5:label6:排队e',
    );
  });

  it('refuses a cookie with a space or nothing in it', () => {
    expect(() => encodeNgRequest('a b', 'ping')).toThrow(NgProtocolError);
    expect(() => encodeNgRequest('', 'ping')).toThrow(/invalid ng cookie/);
  });

  it('decodes a reply into its cookie and a dictionary of text', () => {
    const { cookie, reply } = decodeNgReply(
      Buffer.from('5323_1 d6:result2:ok3:sdp10:v=0\r\no=-\r\n8:durationi1500ee'),
    );
    expect(cookie).toBe('5323_1');
    expect(reply).toEqual({ result: 'ok', sdp: 'v=0\r\no=-\r\n', duration: 1500 });
  });

  it('refuses a datagram without a cookie, or that is not a bencoded dictionary', () => {
    expect(() => decodeNgReply(Buffer.from('d6:result4:ponge'))).toThrow(/no cookie/);
    expect(() => decodeNgReply(Buffer.from('c1 li1ee'))).toThrow(/not a dictionary/);
    expect(() => decodeNgReply(Buffer.from('c1 d6:result'))).toThrow(NgProtocolError);
  });

  it("turns result=error into an error carrying rtpengine's reason", () => {
    const err = (() => {
      try {
        checkNgResult('answer', { result: 'error', 'error-reason': 'Unknown call-id' });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(NgCommandError);
    expect((err as NgCommandError).reason).toBe('Unknown call-id');
    expect((err as Error).message).toBe('rtpengine refused "answer": Unknown call-id');
    expect(() => checkNgResult('ping', { result: 'ok' }, 'pong')).toThrow(/not "pong"/);
    expect(checkNgResult('ping', { result: 'pong' }, 'pong')).toEqual({ result: 'pong' });
  });
});

describe('DTMF log events', () => {
  const event = {
    callid: 'call-1@127.0.0.1',
    source_tag: 'caller-tag',
    tags: ['caller-tag', 'agent-tag'],
    type: 'DTMF',
    timestamp: 1_700_000_000,
    source_ip: '127.0.0.1',
    event: 1,
    duration: 240,
    volume: 10,
  };

  it('reads the digit, who pressed it and for how long', () => {
    expect(parseDtmfLogEvent(JSON.stringify(event))).toEqual({
      callId: 'call-1@127.0.0.1',
      sourceTag: 'caller-tag',
      digit: '1',
      durationMs: 240,
      timestampS: 1_700_000_000,
      sourceIp: '127.0.0.1',
    });
  });

  it('names star, hash and the letters as RFC 4733 numbers them', () => {
    const digit = (n: number) => parseDtmfLogEvent(JSON.stringify({ ...event, event: n })).digit;
    expect([digit(10), digit(11), digit(12), digit(15), digit(16)]).toEqual([
      '*',
      '#',
      'A',
      'D',
      '16',
    ]);
  });

  it('refuses what is not a DTMF event, naming the field', () => {
    expect(() => parseDtmfLogEvent('not json')).toThrow(/not JSON/);
    expect(() => parseDtmfLogEvent(JSON.stringify({ ...event, callid: '' }))).toThrow(/callid/);
    expect(() => parseDtmfLogEvent(JSON.stringify({ ...event, event: 'x' }))).toThrow(/event/);
  });
});

describe('ng client retransmission', () => {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    while (closers.length) await closers.pop()!();
  });

  async function udpPeer(onDatagram: (msg: Buffer, reply: (b: Buffer) => void) => void) {
    const peer = createSocket('udp4');
    await new Promise<void>((r) => peer.bind(0, '127.0.0.1', r));
    peer.on('message', (msg, rinfo) =>
      onDatagram(msg, (b) => peer.send(b, rinfo.port, rinfo.address)),
    );
    closers.push(() => new Promise((r) => peer.close(() => r())));
    return peer.address().port;
  }

  it('sends the same cookie again when a reply is lost, and takes the reply to either', async () => {
    const seen: string[] = [];
    const port = await udpPeer((msg, reply) => {
      seen.push(msg.toString());
      // Lose the first datagram, as a loaded network or a busy rtpengine would.
      if (seen.length === 1) return;
      const cookie = msg.toString().split(' ')[0];
      reply(Buffer.from(`${cookie} d6:result4:ponge`));
    });
    const client = await NgClient.open({ host: '127.0.0.1', port, retransmitMs: 50 });
    closers.push(() => client.close());
    await client.ping();
    expect(seen).toHaveLength(2);
    expect(seen[0]).toBe(seen[1]);
  });

  it('gives up after its attempts with a message naming the engine and the command', async () => {
    let count = 0;
    const port = await udpPeer(() => count++);
    const client = await NgClient.open({ host: '127.0.0.1', port, retransmitMs: 20, attempts: 3 });
    closers.push(() => client.close());
    await expect(client.ping()).rejects.toThrow(
      `rtpengine at 127.0.0.1:${port} did not answer "ping" after 3 attempts 20 ms apart`,
    );
    expect(count).toBe(3);
  });

  it('ignores a reply with a cookie it did not send', async () => {
    const port = await udpPeer((msg, reply) => {
      const cookie = msg.toString().split(' ')[0];
      reply(Buffer.from('someone-else d6:result4:ponge'));
      reply(Buffer.from(`${cookie} d6:result5:errore`));
    });
    const client = await NgClient.open({ host: '127.0.0.1', port, retransmitMs: 200 });
    closers.push(() => client.close());
    await expect(client.ping()).rejects.toThrow(/rtpengine refused "ping"/);
  });
});
