import { describe, expect, it } from 'vitest';
import { encodeNetstring, NetstringDecoder } from './netstring.js';

describe('netstring framing', () => {
  it('round-trips UTF-8 payloads, counting bytes not characters', () => {
    const frame = encodeNetstring('{"name":"张伟"}');
    expect(frame.toString('utf8')).toBe('17:{"name":"张伟"},');
    expect(new NetstringDecoder().push(frame).frames).toEqual(['{"name":"张伟"}']);
  });

  it('waits for the rest of a frame split across reads, and reads several frames from one', () => {
    const d = new NetstringDecoder();
    const bytes = Buffer.concat([
      encodeNetstring('{"a":1}'),
      encodeNetstring('{"b":2}'),
      encodeNetstring('{"c":3}'),
    ]);
    expect(d.push(bytes.subarray(0, 5)).frames).toEqual([]);
    expect(d.push(bytes.subarray(5, 14)).frames).toEqual(['{"a":1}']);
    expect(d.push(bytes.subarray(14)).frames).toEqual(['{"b":2}', '{"c":3}']);
  });

  it('skips whitespace between frames', () => {
    expect(new NetstringDecoder().push(Buffer.from('\n3:abc,\n 2:de,')).frames).toEqual([
      'abc',
      'de',
    ]);
  });

  it('reports a malformed frame and recovers at the next good one', () => {
    const r = new NetstringDecoder().push(Buffer.from('x7:garbage,3:abc,'));
    expect(r.problems.map((p) => p.detail)).toEqual(['bad length "x7"']);
    expect(r.frames).toEqual(['abc']);
  });

  it('reports a frame with a wrong length (no trailing comma) and recovers', () => {
    const r = new NetstringDecoder().push(Buffer.from('2:abc,3:xyz,'));
    expect(r.problems.map((p) => p.detail)).toEqual(['frame does not end with ","']);
    expect(r.frames).toEqual(['xyz']);
  });

  it('refuses an oversized frame without buffering it', () => {
    const d = new NetstringDecoder(10);
    const r = d.push(Buffer.from('99999:'));
    expect(r.problems.map((p) => p.detail)).toEqual([
      'frame of 99999 bytes is over the 10-byte limit',
    ]);
    expect(d.push(Buffer.from('3:abc,')).frames).toEqual(['abc']);
  });
});
