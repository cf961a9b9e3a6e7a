import { describe, expect, it } from 'vitest';
import { declaredLite } from './rtpengine-monitor.js';

// As rtpengine 10.5 answers `subscribe request` (two parties, candidates trimmed).
const OFFER = [
  'v=0',
  'o=- 7716 7716 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'm=audio 22802 UDP/TLS/RTP/SAVPF 0',
  'a=mid:0',
  'a=sendonly',
  'm=audio 22822 UDP/TLS/RTP/SAVPF 0',
  'a=mid:1',
  'a=sendonly',
  '',
].join('\r\n');

describe('declaredLite', () => {
  it('tells the browser at session level that rtpengine is a lite agent, once', () => {
    const lite = declaredLite(OFFER);
    const lines = lite.split('\r\n');
    expect(lines.indexOf('a=ice-lite')).toBe(lines.indexOf('t=0 0') + 1);
    expect(lines.filter((l) => l === 'a=ice-lite')).toHaveLength(1);
    expect(lite.replace('a=ice-lite\r\n', '')).toBe(OFFER);
    expect(declaredLite(lite)).toBe(lite);
  });

  it('refuses an offer with nothing to listen to', () => {
    expect(() => declaredLite('v=0\r\ns=-\r\nt=0 0\r\n')).toThrow(/no media section/);
  });
});
