// Where a site's agents' phones may be: the site's phone network, declared in the topology as
// CIDR blocks, single addresses and host names. An agent logs in at a contact URI that the site
// then relays calls to; a contact outside the site's phones would send its callers (and the toll)
// wherever the person logging in says. Matching is Node's net.BlockList, not bit arithmetic.
import { BlockList, isIP } from 'node:net';

/** What the site's phone network is when the topology does not say: this host only. */
export const LOOPBACK_PHONE_NETWORK: readonly string[] = ['127.0.0.0/8', '::1/128'];

// A host name as the rest of the topology writes one; "*.example.com" names every host under it.
const HOST_NAME =
  /^(?:\*\.)?[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

type Parsed =
  | {
      readonly kind: 'subnet';
      readonly address: string;
      readonly prefix: number;
      readonly family: 'ipv4' | 'ipv6';
    }
  | { readonly kind: 'host'; readonly name: string }
  | { readonly kind: 'domain'; readonly suffix: string };

/** An entry of `phoneNetwork`, or why it is not one. */
function parseEntry(entry: string): Parsed | string {
  const [address, prefixText, ...extra] = entry.split('/');
  const version = isIP(address ?? '');
  if (version !== 0) {
    const family = version === 4 ? 'ipv4' : 'ipv6';
    const bits = version === 4 ? 32 : 128;
    if (extra.length > 0) return `expected one "/" in a CIDR block, got ${JSON.stringify(entry)}`;
    if (prefixText === undefined)
      return { kind: 'subnet', address: address!, prefix: bits, family };
    const prefix = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
    // /0 would admit every address of the family: that is no phone network at all.
    if (!(prefix >= 1 && prefix <= bits))
      return `the prefix of ${JSON.stringify(entry)} must be a whole number from 1 to ${bits}`;
    return { kind: 'subnet', address: address!, prefix, family };
  }
  if (entry.includes('/') || !HOST_NAME.test(entry) || entry.length > 253)
    return (
      `expected a CIDR block (10.20.0.0/16, fd00::/64), an address or a host name ` +
      `(phones.example.com, *.phones.example.com), got ${JSON.stringify(entry)}`
    );
  return entry.startsWith('*.')
    ? { kind: 'domain', suffix: entry.slice(1).toLowerCase() }
    : { kind: 'host', name: entry.toLowerCase() };
}

/** Why `entry` is not a phone-network entry, or undefined when it is one (for the schema). */
export function phoneNetworkEntryProblem(entry: string): string | undefined {
  const parsed = parseEntry(entry);
  return typeof parsed === 'string' ? parsed : undefined;
}

export interface PhoneNetwork {
  /** Whether a contact URI's host (an address, a bracketed IPv6 address or a name) lies inside. */
  contains(host: string): boolean;
  /** The entries, for error messages. */
  readonly entries: readonly string[];
}

/**
 * The phone network `entries` declare (each already checked by the topology schema). An address
 * is inside when a block holds it; a name when it is a declared name or under a declared
 * "*.domain". A name never matches a block: it could resolve anywhere.
 */
export function phoneNetwork(entries: readonly string[]): PhoneNetwork {
  const blocks = new BlockList();
  const names = new Set<string>();
  const suffixes: string[] = [];
  for (const entry of entries) {
    const parsed = parseEntry(entry);
    if (typeof parsed === 'string') throw new Error(`phone network: ${parsed}`);
    if (parsed.kind === 'subnet') blocks.addSubnet(parsed.address, parsed.prefix, parsed.family);
    else if (parsed.kind === 'host') names.add(parsed.name);
    else suffixes.push(parsed.suffix);
  }
  return {
    entries: [...entries],
    contains: (host) => {
      const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
      const version = isIP(bare);
      if (version !== 0) return blocks.check(bare, version === 4 ? 'ipv4' : 'ipv6');
      const name = bare.toLowerCase();
      return names.has(name) || suffixes.some((s) => name.endsWith(s) && name.length > s.length);
    },
  };
}
