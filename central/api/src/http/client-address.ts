// Who is on the other end of a request, for the log-in throttle. Behind an Ingress every
// connection comes from the ingress controller, so its X-Forwarded-For is honoured, but only when
// the connection itself comes from a proxy the operator listed (CCFED_API_TRUSTED_PROXIES):
// otherwise any client could name itself a fresh address on every guess. IPv6 sources are counted
// per /64, since one host usually holds a whole /64 and could otherwise change address per guess.
import { BlockList, isIP } from 'node:net';

/** The proxies whose X-Forwarded-For is believed: addresses or CIDRs, IPv4 or IPv6. */
export function trustedProxies(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [address, bits] = cidr.split('/') as [string, string | undefined];
    const family = isIP(address);
    if (family === 0) throw new Error(`trusted proxy ${cidr}: not an IP address or CIDR`);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (bits === undefined) list.addAddress(address, type);
    else {
      const prefix = Number(bits);
      if (!/^\d{1,3}$/.test(bits) || prefix > (family === 4 ? 32 : 128))
        throw new Error(`trusted proxy ${cidr}: bad prefix length`);
      list.addSubnet(address, prefix, type);
    }
  }
  return list;
}

/** `::ffff:1.2.3.4` (an IPv4 peer on a dual-stack socket) as `1.2.3.4`. */
function unmapped(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m ? m[1]! : address;
}

function isTrusted(list: BlockList, address: string): boolean {
  const family = isIP(address);
  return family !== 0 && list.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * The client's address: the peer's, or, when the peer is a trusted proxy, the right-most address
 * in X-Forwarded-For that is not itself a trusted proxy (the left of it could be anything the
 * client wrote).
 */
export function clientAddress(
  peer: string | undefined,
  forwardedFor: string | string[] | undefined,
  trusted: BlockList,
): string {
  let address = unmapped(peer ?? 'unknown');
  if (!isTrusted(trusted, address) || forwardedFor === undefined) return address;
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor)
    .split(',')
    .map((h) => unmapped(h.trim()))
    .filter((h) => isIP(h) !== 0);
  for (let i = hops.length - 1; i >= 0; i--) {
    address = hops[i]!;
    if (!isTrusted(trusted, address)) break;
  }
  return address;
}

/** The key a client address is throttled under: IPv4 as is, IPv6 by its /64. */
export function throttleKey(address: string): string {
  if (isIP(address) !== 6) return address;
  const [head, tail] = address.split('::') as [string, string | undefined];
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups =
    tail === undefined
      ? left
      : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}
