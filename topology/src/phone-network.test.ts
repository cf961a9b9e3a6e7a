import { describe, expect, it } from 'vitest';
import { LOOPBACK_PHONE_NETWORK, phoneNetwork, phoneNetworkEntryProblem } from './phone-network.js';

describe('phoneNetwork', () => {
  it('holds addresses inside its CIDR blocks and single addresses, IPv4 and IPv6', () => {
    const net = phoneNetwork(['10.20.0.0/16', '192.0.2.7', 'fd00:20::/64']);
    expect(net.contains('10.20.3.4')).toBe(true);
    expect(net.contains('10.21.0.1')).toBe(false);
    expect(net.contains('192.0.2.7')).toBe(true);
    expect(net.contains('192.0.2.8')).toBe(false);
    expect(net.contains('[fd00:20::5]')).toBe(true);
    expect(net.contains('fd00:20::5')).toBe(true);
    expect(net.contains('[fd00:21::5]')).toBe(false);
  });

  it('holds declared host names and hosts under a "*." domain, in any case, and nothing else', () => {
    const net = phoneNetwork(['pbx.bj.example.com', '*.phones.bj.example.com']);
    expect(net.contains('PBX.bj.example.com')).toBe(true);
    expect(net.contains('desk-12.phones.bj.example.com')).toBe(true);
    expect(net.contains('phones.bj.example.com')).toBe(false);
    expect(net.contains('evil-phones.bj.example.com')).toBe(false);
    expect(net.contains('pbx.bj.example.com.attacker.net')).toBe(false);
    // A name is never matched against a block: it could resolve anywhere.
    expect(phoneNetwork(['127.0.0.0/8']).contains('localhost')).toBe(false);
  });

  it('is loopback only by default', () => {
    const net = phoneNetwork(LOOPBACK_PHONE_NETWORK);
    expect(net.contains('127.0.0.1')).toBe(true);
    expect(net.contains('[::1]')).toBe(true);
    expect(net.contains('10.0.0.1')).toBe(false);
  });
});

describe('phoneNetworkEntryProblem', () => {
  it('accepts blocks, addresses and host names', () => {
    for (const ok of ['10.0.0.0/8', '::1/128', '192.0.2.1', 'phones.example.com', '*.example.com'])
      expect(phoneNetworkEntryProblem(ok), ok).toBeUndefined();
  });

  it('says what is wrong with anything else, /0 included', () => {
    expect(phoneNetworkEntryProblem('10.0.0.0/0')).toBe(
      'the prefix of "10.0.0.0/0" must be a whole number from 1 to 32',
    );
    expect(phoneNetworkEntryProblem('::/129')).toContain('from 1 to 128');
    expect(phoneNetworkEntryProblem('10.0.0.0/8/9')).toContain('expected one "/"');
    for (const bad of ['10.0.0.300/8', 'phones example', '*', 'a/b', '"><script>'])
      expect(phoneNetworkEntryProblem(bad), bad).toMatch(/^expected a CIDR block/);
  });
});
