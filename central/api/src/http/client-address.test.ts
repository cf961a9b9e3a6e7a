import { describe, expect, it } from 'vitest';
import { clientAddress, throttleKey, trustedProxies } from './client-address.js';

describe('client address', () => {
  const none = trustedProxies([]);
  const ingress = trustedProxies(['10.42.0.0/16', 'fd00::/8']);

  it('is the peer when no proxy is trusted, whatever X-Forwarded-For claims', () => {
    expect(clientAddress('203.0.113.7', '198.51.100.1', none)).toBe('203.0.113.7');
    expect(clientAddress('::ffff:203.0.113.7', undefined, none)).toBe('203.0.113.7');
  });

  it('behind a trusted proxy, is the right-most forwarded address that is not a proxy', () => {
    expect(clientAddress('10.42.1.5', '198.51.100.1', ingress)).toBe('198.51.100.1');
    // The client wrote the left part itself; the ingress appended what it saw.
    expect(clientAddress('10.42.1.5', '1.1.1.1, 198.51.100.1, 10.42.9.9', ingress)).toBe(
      '198.51.100.1',
    );
    expect(clientAddress('10.42.1.5', ['1.1.1.1', '198.51.100.1'], ingress)).toBe('198.51.100.1');
  });

  it('does not believe X-Forwarded-For from a peer that is not a trusted proxy', () => {
    expect(clientAddress('203.0.113.7', '10.42.1.5', ingress)).toBe('203.0.113.7');
  });

  it('falls back to the proxy when the header holds nothing usable', () => {
    expect(clientAddress('10.42.1.5', 'garbage, also-garbage', ingress)).toBe('10.42.1.5');
    expect(clientAddress('10.42.1.5', undefined, ingress)).toBe('10.42.1.5');
  });

  it('refuses a trusted proxy list it cannot read', () => {
    expect(() => trustedProxies(['ingress'])).toThrow(/not an IP address/);
    expect(() => trustedProxies(['10.0.0.0/33'])).toThrow(/bad prefix/);
  });

  it('throttles IPv6 clients per /64, IPv4 per address', () => {
    expect(throttleKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(throttleKey('2001:db8:1:2:bbbb:cccc:dddd:eeee')).toBe('2001:db8:1:2::/64');
    expect(throttleKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(throttleKey('::1')).toBe('0:0:0:0::/64');
    expect(throttleKey('203.0.113.7')).toBe('203.0.113.7');
  });
});
